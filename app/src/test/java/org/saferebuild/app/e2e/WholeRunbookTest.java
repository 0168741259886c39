package org.saferebuild.app.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.ComboBox;
import javafx.scene.control.Label;
import javafx.scene.control.RadioButton;
import javafx.scene.control.TableView;
import javafx.scene.layout.FlowPane;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.saferebuild.app.log.LogView;
import org.saferebuild.app.testing.DemoWizardTest;
import org.saferebuild.app.testing.WizardHarness;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.SystemResult;

/**
 * The whole wizard on the demo system with the real engine, as an operator walks it: build the
 * "update" variant, inspect it, sign off, apply in test mode and keep it, verify, then roll back
 * to generation 1 from Generations. And the error paths: a broken variant, a refused rollback.
 */
@Tag("display")
@Tag("root")
@Tag("nix")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WholeRunbookTest extends DemoWizardTest {
    @Test
    @Order(1)
    void buildInspectSignOffApplyInTestModeKeepVerifyAndRollBackToGenerationOne() throws Exception {
        try (WizardHarness w = WizardHarness.start(base, demo)) {
            // Isolate: the sandbox opens by itself on arrival.
            Button next = toBuildScreen(w, DemoSystem.Variant.UPDATE);

            // Build: validation runs on arrival, then the operator builds.
            Label status = w.node("build-status");
            w.waitFor("validation", Duration.ofMinutes(3), () -> status.getText().startsWith("Valid: "));
            w.screenshot("03-build-validated");
            // From the keyboard: Enter runs the screen's named action, "Build the system".
            Button build = w.node("build-start");
            w.waitFor("Build the system to take the focus", Duration.ofSeconds(10),
                    () -> !build.isDisabled() && build.isFocused());
            w.robot().type(javafx.scene.input.KeyCode.ENTER);
            Label counts = w.node("build-counts");
            w.waitFor("the build to finish", Duration.ofMinutes(5), () -> status.getText().startsWith("Built nixos-system-"));
            assertThat(counts.getText()).matches("(\\d+) of \\1 derivations built · 0 building · no downloads");
            // The tree, like nix-output-monitor's: the system at the root, every derivation built, with its time.
            javafx.scene.control.TreeTableView<org.saferebuild.app.step.build.Derivation> tree = w.node("build-tree");
            assertThat(w.onFx(() -> tree.getRoot().getValue().name())).startsWith("nixos-system-BearsiMac");
            java.util.List<org.saferebuild.app.step.build.Derivation> drvs = w.onFx(() -> java.util.List.copyOf(
                    ((org.saferebuild.app.step.build.BuildViewModel) w.window().step(2)).derivations()));
            assertThat(drvs).isNotEmpty().allSatisfy(d -> assertThat(d.state())
                    .isEqualTo(org.saferebuild.protocol.NixEvent.State.DONE));
            assertThat(drvs).filteredOn(d -> d.name().equals("firefox-121.0")).singleElement()
                    .satisfies(d -> assertThat(d.time(0)).matches("\\d+\\.\\d s"));
            w.screenshot("04-build");
            w.clickTab("Log");
            LogView log = w.node("build-log");
            assertThat(w.onFx(() -> log.linesInView())).isGreaterThan(0);
            assertThat(w.onFx(() -> log.tail().visibleLines())).anyMatch(l -> l.contains("building '/nix/store/"));
            Label logCounts = w.node("log-counts");
            assertThat(logCounts.getText()).matches("[\\d,]+ lines · 0 errors · \\d+ warnings?")
                    .doesNotStartWith("0 lines");
            w.screenshot("04-build-log");
            // Alt+N is Next's mnemonic.
            w.waitFor("Next to be enabled after the build", Duration.ofSeconds(10), () -> !next.isDisabled());
            w.robot().press(javafx.scene.input.KeyCode.ALT).press(javafx.scene.input.KeyCode.N)
                    .release(javafx.scene.input.KeyCode.N).release(javafx.scene.input.KeyCode.ALT);

            w.waitFor("Alt+N to go to Inspect", Duration.ofSeconds(10),
                    () -> w.window().flow().currentProperty().get().title().equals("Inspect"));

            // Inspect: the chakra services are in the built system; the translator would restart.
            w.waitFor("the comparison", Duration.ofMinutes(2),
                    () -> w.robot().lookup("#inspect-summary").tryQuery().isPresent());
            FlowPane watched = w.node("inspect-facts");
            String chips = w.onFx(() -> watched.getChildren().stream().map(n -> ((Label) n).getText())
                    .reduce("", (a, b) -> a + "|" + b));
            assertThat(chips).contains("muladhara-chakra.service", "field-translator.service", "No reboot needed")
                    .doesNotContain("missing");
            // Every package that differs, nvd's way, with the unit files kept apart.
            org.saferebuild.app.changes.PackageChangesView packages = w.node("packages-table");
            assertThat(w.onFx(() -> packages.rows().stream().map(r -> r.group() + ": " + r.pkg().name()).toList()))
                    .contains("Version changes (1): firefox", "Added (1): ripgrep", "Removed (2): field-beacon",
                            "Removed (2): nano")
                    .anyMatch(r -> r.startsWith("Units and generated files") && r.endsWith(": unit-svadhisthana-chakra.service"));
            TableView<InspectResult.Unit> units = w.node("units-table");
            assertThat(w.onFx(() -> units.getItems().stream().map(InspectResult.Unit::name).toList()))
                    .contains("muladhara-chakra.service", "field-translator.service");
            TableView<InspectResult.UnitAction> actions = w.node("unit-actions");
            assertThat(w.onFx(() -> actions.getItems().stream().map(a -> a.action() + " " + a.unit()).toList()))
                    .contains("RESTART field-translator.service", "START svadhisthana-chakra.service",
                            "STOP field-beacon.service", "RELOAD dbus.service");
            w.screenshot("05-inspect");
            w.clickTab("Packages");
            w.screenshot("05-inspect-packages");
            w.clickTab("Unit actions");
            Label why = w.node("unit-action-why");
            w.waitFor("the first unit action's reason", Duration.ofSeconds(5), () -> !why.getText().isEmpty());
            w.screenshot("05-inspect-unit-actions");
            w.clickTab("Units");
            w.click("theme-toggle");
            w.screenshot("05-inspect-dark");
            w.click("theme-toggle");
            w.robot().clickOn(next);

            // Sign off: Apply stays out of reach until the checklist is signed.
            Button sign = w.node("signoff-sign");
            w.waitFor("the baseline and the rollback target", Duration.ofMinutes(1),
                    () -> w.window().flow().steps().get(4).busyProperty().get() == false
                            && ((Label) w.robot().lookup("#signoff-status").query()).getText().startsWith("Baseline, backup"));
            assertThat(sign.isDisabled()).as("sign-off needs the maintenance-window tick").isTrue();
            assertThat(next.isDisabled()).isTrue();
            // The step list's cells are rebuilt when the steps' states change: wait for the Apply cell.
            // Keep where the wait found the cell: the list rebuilds its cells whenever a step's state
            // changes, so a second lookup can fall between two rebuilds; the rows stay where they are.
            java.util.concurrent.atomic.AtomicReference<javafx.geometry.Point2D> applyRow = new java.util.concurrent.atomic.AtomicReference<>();
            w.waitFor("the step list's Apply entry", Duration.ofSeconds(10), () -> {
                w.robot().lookup(".list-cell").match(n -> n instanceof javafx.scene.control.ListCell<?> c
                        && c.getIndex() == 5 && c.getItem() != null && c.isVisible()).tryQuery().ifPresent(c -> {
                            javafx.geometry.Bounds b = c.localToScreen(c.getBoundsInLocal());
                            applyRow.set(new javafx.geometry.Point2D(b.getCenterX(), b.getCenterY()));
                        });
                return applyRow.get() != null;
            });
            w.robot().clickOn(applyRow.get());
            assertThat(w.window().flow().currentProperty().get().title()).isEqualTo("Sign off");
            Label open = w.node("signoff-open");
            assertThat(open.getText()).isEqualTo("7 of 8 items are green. Still open: Off-hours or maintenance window"
                    + " if possible.");
            w.click("signoff-window");
            w.waitFor("every item green", Duration.ofSeconds(10), () -> !sign.isDisabled());
            assertThat(open.getText()).startsWith("All 8 items are green");
            w.screenshot("06-signoff");
            w.robot().clickOn(sign);
            Label signStatus = w.node("signoff-status");
            w.waitFor("the engine to record the sign-off", Duration.ofSeconds(30),
                    () -> signStatus.getText().startsWith("Signed off by "));
            assertThat(signStatus.getText()).contains("OS user root", "audit line");
            w.robot().clickOn(next);

            // Apply in test mode, then keep it.
            RadioButton test = w.node("mode-test");
            w.robot().clickOn(test);
            Button apply = w.node("apply-button");
            int activations = Files.exists(demo.activationsLog()) ? Files.readAllLines(demo.activationsLog()).size() : 0;
            assertThat(apply.getText().replace("_", "")).isEqualTo("Test the new configuration until reboot");
            w.robot().clickOn(apply);
            Label countdown = w.node("apply-countdown");
            w.waitFor("the confirm-or-revert countdown", Duration.ofMinutes(2), () -> countdown.getText().matches("\\d:\\d\\d")
                    && countdown.isVisible());
            String running = Files.readSymbolicLink(demo.currentSystem()).toString();
            assertThat(running).contains("nixos-system-BearsiMac").isNotEqualTo(demo.generation1());
            w.screenshot("07-apply-countdown");
            Label deadline = w.node("apply-deadline");
            assertThat(deadline.getText()).matches("Reverts at \\d\\d:\\d\\d:\\d\\d \\(in \\d.*\\) unless you keep it\\.");
            w.click("apply-keep");
            w.waitFor("the confirmation", Duration.ofSeconds(30), () -> w.robot().lookup("#apply-outcome").tryQuery()
                    .map(n -> ((org.saferebuild.app.ui.Callout) n).getTitle()).filter(t -> t.startsWith("Kept"))
                    .isPresent());
            // Kept: nothing on the screen can apply again (issue 12, item 2), and Enter does not either.
            assertThat(w.onFx(() -> org.saferebuild.app.ui.Keys.shown(w.node("apply-button")))).isFalse();
            w.screenshot("07-apply-kept");
            // A second Enter goes on to Verify (Next has the focus) and activates nothing.
            w.waitFor("Next to take the focus", Duration.ofSeconds(10), next::isFocused);
            w.robot().type(javafx.scene.input.KeyCode.ENTER);
            w.waitFor("Enter to go to Verify", Duration.ofSeconds(10),
                    () -> w.window().flow().currentProperty().get().title().equals("Verify"));
            assertThat(Files.readAllLines(demo.activationsLog())).as("one activation, not two").hasSize(activations + 1);

            // Verify: says plainly which checks could not run without systemd.
            w.waitFor("the verification report", Duration.ofMinutes(1),
                    () -> w.robot().lookup("#verify-report").tryQuery().isPresent());
            w.screenshot("08-verify");

            // Generations: roll back to generation 1 and see it current and running.
            w.click("open-generations");
            TableView<SystemResult.Generation> gens = w.node("generations-table");
            w.waitFor("the generations", Duration.ofSeconds(30), () -> !gens.getItems().isEmpty());
            selectGeneration(w, gens, 1);
            w.click("rollback-propose");
            w.waitFor("the comparison before the rollback", Duration.ofSeconds(60),
                    () -> w.robot().lookup("#rollback-preview").tryQuery().isPresent());
            Button confirm = w.node("rollback-confirm");
            assertThat(confirm.getText().replace("_", "")).isEqualTo("Switch to generation 1 now");
            w.screenshot("09-generations-rollback");
            w.click("rollback-confirm");
            w.waitFor("generation 1 to be current and running", Duration.ofSeconds(60), () -> gens.getItems().stream()
                    .anyMatch(g -> g.number() == 1 && g.current() && g.running()));
            assertThat(Files.readSymbolicLink(demo.currentSystem()).toString()).isEqualTo(demo.generation1());
            w.screenshot("10-generations-after");
            // Back on Verify: the report is about the system that runs now, not the tested one.
            w.click("page-back");
            Label verified = w.node("verify-when");
            w.waitFor("Verify to verify generation 1", Duration.ofMinutes(1), () -> verified.getText().startsWith(
                    "Verified at") && w.robot().lookup("#verify-report").tryQuery().isPresent());
            assertThat(w.onFx(() -> org.saferebuild.app.testing.ScreenText.of(w.stage().getScene())))
                    .noneMatch(t -> t.contains("tested system"));

            w.click("open-history");
            TableView<SystemResult.AuditLine> audit = w.node("audit-table");
            w.waitFor("the audit trail", Duration.ofSeconds(30), () -> !audit.getItems().isEmpty());
            assertThat(w.onFx(() -> audit.getItems().stream().map(SystemResult.AuditLine::text).toList()))
                    .anyMatch(t -> t.contains("signoff")).anyMatch(t -> t.contains("rollback"));
            w.click("history-export");
            Label hs = w.node("history-status");
            w.waitFor("the change record", Duration.ofSeconds(10), () -> hs.getText().startsWith("This run's change record"));
            Path record = Path.of(hs.getText().replace("This run's change record is ", "").replaceAll("\\.$", ""));
            assertThat(Files.readString(record)).contains("Signed off by: ", "| Off-hours or maintenance window if possible | yes |",
                    "restart `field-translator.service`", "## What happened in this run",
                    "Applied: test activation of `/nix/store/")
                    .containsPattern("Kept( by you)?: ").contains("Rolled back to generation 1 from Generations")
                    .doesNotContain("generation 1 → 1").doesNotContainPattern("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+Z:");
            w.screenshot("11-history");
            // Opening the record never fails silently: without xdg-open the app shows it itself.
            w.click("history-open");
            w.waitFor("the app's own viewer", Duration.ofSeconds(20), () -> w.robot().lookup("#file-viewer-reason")
                    .tryQuery().isPresent());
            javafx.stage.Window viewer = w.robot().lookup("#file-viewer").query().getScene().getWindow();
            Label viewerWhy = w.robot().lookup("#file-viewer-reason").query();
            assertThat(viewerWhy.getText()).startsWith("There is no xdg-open on this machine");
            javafx.scene.control.TextField path = w.robot().lookup("#file-viewer-path").query();
            assertThat(path.getText()).isEqualTo(record.toString());
            org.fxmisc.richtext.StyleClassedTextArea text = w.robot().lookup("#file-viewer-text").query();
            w.waitFor("the record's text", Duration.ofSeconds(10), () -> text.getText().startsWith(
                    "# Safe Rebuild change record"));
            w.screenshot(viewer, "20-file-viewer");
            w.onFx(() -> {
                viewer.hide();
                return null;
            });
            // F1: every shortcut, in one window.
            w.robot().type(javafx.scene.input.KeyCode.F1);
            w.waitFor("the shortcuts window", Duration.ofSeconds(10), () -> w.robot().lookup("#shortcuts-window")
                    .tryQuery().isPresent());
            javafx.stage.Window keys = w.robot().lookup("#shortcuts-window").query().getScene().getWindow();
            w.screenshot(keys, "19-shortcuts");
            w.onFx(() -> {
                keys.hide();
                return null;
            });
        }
    }

    @Test
    @Order(2)
    void aBrokenVariantShowsTheErrorWithFileAndLine() throws Exception {
        try (WizardHarness w = WizardHarness.start(base, demo)) {
            Button next = toBuildScreen(w, DemoSystem.Variant.EVAL_ERROR);
            w.waitFor("the evaluation error", Duration.ofMinutes(2),
                    () -> w.robot().lookup("#failure").tryQuery().isPresent());
            Node failure = w.robot().lookup("#failure").query();
            String text = w.onFx(() -> ((org.saferebuild.app.ui.Callout) failure).getDescription());
            assertThat(text).contains("chakraFrequency").containsPattern("chakra-tuning\\.nix:13")
                    .contains("What to do: ");
            Button build = w.node("build-start");
            assertThat(build.isDisabled()).isTrue();
            assertThat(next.isDisabled()).isTrue();
            w.screenshot("12-build-eval-error");
        }
    }

    @Test
    @Order(2)
    void aBuildThatRunsOutOfDiskSpaceSaysHowMuchIsFreeAndWhatToFree() throws Exception {
        try (WizardHarness w = WizardHarness.start(base, demo)) {
            Button next = toBuildScreen(w, DemoSystem.Variant.DISK_FULL);
            Label status = w.node("build-status");
            w.waitFor("validation", Duration.ofMinutes(3), () -> status.getText().startsWith("Valid: "));
            w.click("build-start");
            w.waitFor("the build to fail", Duration.ofMinutes(3), () -> w.robot().lookup("#failure").tryQuery().isPresent());
            Node failure = w.robot().lookup("#failure").query();
            String title = w.onFx(() -> ((org.saferebuild.app.ui.Callout) failure).getTitle());
            String text = w.onFx(() -> ((org.saferebuild.app.ui.Callout) failure).getDescription());
            // The builder wrote to /dev/full: the disks a rebuild writes have room, and every word says so.
            assertThat(title).isEqualTo("The build hit \"No space left on device\"");
            assertThat(text).contains("No space left on device").containsPattern("[\\d.]+ \\S+ are free on the Nix store")
                    .contains("nothing needs to be freed in the Nix store").doesNotContain("nix-collect-garbage");
            assertThat(next.isDisabled()).isTrue();
            Label evidence = w.node("evidence-disk");
            w.waitFor("the disks measured again", Duration.ofSeconds(60),
                    () -> evidence.getText().contains("came from somewhere its builder wrote to"));
            assertThat(evidence.getText()).containsPattern("[\\d.]+ \\S+ free on the Nix store");
            Node disk = w.node("check-disk");
            assertThat(w.onFx(() -> ((javafx.scene.layout.HBox) disk).getChildren().get(0).getStyleClass()))
                    .contains("success");
            w.screenshot("16-build-disk-full");
        }
    }

    @Test
    @Order(3)
    void aRefusedRollbackShowsWhy() throws Exception {
        // A generation whose system is gone from the store (as after a garbage collection).
        Path gone = demo.systemProfile().resolveSibling("system-7-link");
        Files.createSymbolicLink(gone, Path.of("/nix/store/0000000000000000000000000000000a-nixos-system-BearsiMac-gone"));
        String runningBefore = Files.readSymbolicLink(demo.currentSystem()).toString();
        try (WizardHarness w = WizardHarness.start(base, demo)) {
            w.click("open-generations");
            TableView<SystemResult.Generation> gens = w.node("generations-table");
            w.waitFor("generation 7", Duration.ofSeconds(30), () -> gens.getItems().stream().anyMatch(g -> g.number() == 7));
            selectGeneration(w, gens, 7);
            w.click("rollback-propose");
            Button confirm = w.node("rollback-confirm");
            w.waitFor("the proposal to settle", Duration.ofSeconds(60), () -> !confirm.isDisabled());
            w.click("rollback-confirm");
            w.waitFor("the refusal", Duration.ofSeconds(60), () -> w.robot().lookup("#failure").tryQuery().isPresent());
            String text = w.onFx(() -> ((org.saferebuild.app.ui.Callout) w.robot().lookup("#failure").query())
                    .getDescription());
            assertThat(text).contains("generation 7").contains("What to do: ");
            Label status = w.node("generations-status");
            assertThat(status.getText()).isEqualTo("The rollback to generation 7 was refused; nothing changed.");
            assertThat(Files.readSymbolicLink(demo.currentSystem()).toString()).isEqualTo(runningBefore);
            w.screenshot("13-generations-refused");
        } finally {
            Files.delete(gone);
        }
    }

    /** Target (the variant), Next, Isolate until the sandbox is open, Next: the Build screen. Returns Next. */
    static Button toBuildScreen(WizardHarness w, DemoSystem.Variant v) throws Exception {
        Button next = chooseAndIsolate(w, v);
        w.robot().clickOn(next);
        return next;
    }

    /** Target (the variant), Next, Isolate until the sandbox is open. Returns Next. */
    static Button chooseAndIsolate(WizardHarness w, DemoSystem.Variant v) throws Exception {
        chooseTarget(w, v);
        return w.isolate();
    }

    /** Target: the variant's directory, with the flake's hosts listed and the preflight passed. */
    static void chooseTarget(WizardHarness w, DemoSystem.Variant v) throws Exception {
        w.chooseConfig(demo.configDir(v).toString());
        ComboBox<String> host = w.node("host");
        w.waitFor("the flake's hosts", Duration.ofSeconds(10), () -> host.getItems().contains("BearsiMac"));
    }

    static void selectGeneration(WizardHarness w, TableView<SystemResult.Generation> t, int n) throws Exception {
        w.onFx(() -> {
            t.getItems().stream().filter(g -> g.number() == n).findFirst()
                    .ifPresent(g -> t.getSelectionModel().select(g));
            return null;
        });
    }
}
