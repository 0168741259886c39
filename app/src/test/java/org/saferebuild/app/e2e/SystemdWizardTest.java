package org.saferebuild.app.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.TableView;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.saferebuild.app.testing.WizardHarness;
import org.saferebuild.engine.testing.SystemdMachine;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.SystemResult;

/**
 * The wizard with its engine inside the systemd test machine, as `script/demo --systemd` runs it:
 * the demo's services are real units, the activation runs in a transient unit, Verify reads
 * systemctl and the journal. The screenshots of docs/operator-guide.md "On a machine with systemd"
 * come from here (-Dscreenshots=DIR).
 */
@Tag("display")
@Tag("root")
@Tag("nix")
@Tag("systemd")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SystemdWizardTest {
    static final String DEMO = SystemdMachine.DEMO;
    private static Path base;
    private static SystemdMachine machine;
    private static List<String> engine;
    private static List<String> dirs;

    @BeforeAll
    static void bootTheMachine() throws Exception {
        base = WizardHarness.privateBase();
        machine = SystemdMachine.boot(base);
        String wrapper = machine.installEngine();
        machine.installDemo();
        engine = machine.command(List.of(wrapper, "--config", DEMO + "/engine.json"));
        dirs = new ArrayList<>(List.of(DEMO + "/configs/BearsiMac"));
        for (String v : List.of("update", "service-crash", "activation-fail", "kernel")) {
            dirs.add(DEMO + "/configs/" + v);
        }
    }

    @AfterAll
    static void stopTheMachine() throws Exception {
        if (machine != null) {
            machine.close();
        }
    }

    static String show(String unit, String property) throws Exception {
        return machine.sh("systemctl show -P " + property + " -- " + unit).strip();
    }

    @Test
    @Order(1)
    void switchingToTheUpdateRestartsRealServicesAndVerifyPassesOnSystemctlAndTheJournal() throws Exception {
        try (WizardHarness w = WizardHarness.start(base, engine, dirs)) {
            Button next = buildAndInspect(w, "update");
            javafx.scene.control.TableView<InspectResult.UnitAction> actions = w.node("unit-actions");
            assertThat(w.onFx(() -> actions.getItems().stream().map(a -> a.action() + " " + a.unit()).toList()))
                    .contains("RESTART field-translator.service", "START svadhisthana-chakra.service",
                            "STOP field-beacon.service", "RELOAD dbus.service");
            w.screenshot("systemd-inspect");
            w.robot().clickOn(next);
            signOff(w, next);
            Label applyStatus = switchNow(w);
            assertThat(applyStatus.getText()).startsWith("Switched to generation 2: ")
                    .contains("otherwise it goes back to generation 1");
            assertThat(show("svadhisthana-chakra.service", "ActiveState")).isEqualTo("active");
            assertThat(show("field-beacon.service", "ActiveState")).isEqualTo("inactive");
            assertThat(show("safe-rebuild-revert.timer", "ActiveState")).isEqualTo("active");
            w.screenshot("systemd-apply");
            keep(w);
            assertThat(show("safe-rebuild-revert.timer", "LoadState")).isEqualTo("not-found");
            w.robot().clickOn(next);

            w.waitFor("the verification report", Duration.ofMinutes(1),
                    () -> w.robot().lookup("#verify-report").tryQuery().isPresent());
            String report = reportText(w);
            assertThat(report).contains("svadhisthana-chakra.service: active (running)")
                    .contains("FIELD Chakra Ecosystem: svadhisthana-chakra.service active").doesNotContain("(not run)");
            w.screenshot("systemd-verify");
            // This boot's journal since the baseline, as journalctl gave it.
            Label journal = w.onFx(() -> w.robot().lookup("#verify-report").query().lookupAll(".label").stream()
                    .filter(n -> "Journal matches".equals(((Label) n).getText())).map(n -> (Label) n).findFirst()
                    .orElseThrow());
            w.reveal(journal);
            w.screenshot("systemd-verify-journal");
        }
    }

    @Test
    @Order(2)
    void aServiceThatFailsAfterTheSwitchFailsVerifyAndARollbackFromGenerationsRunsItAgain() throws Exception {
        try (WizardHarness w = WizardHarness.start(base, engine, dirs)) {
            Button next = buildAndInspect(w, "service-crash");
            w.robot().clickOn(next);
            signOff(w, next);
            Label applyStatus = switchNow(w);
            assertThat(applyStatus.getText()).startsWith("Switched to generation 3: ");
            // The switch saw the translator start; the operator keeps it before it gives up.
            keep(w);
            SystemdMachine.await("systemd restarted the translator after it failed", Duration.ofSeconds(60),
                    () -> Integer.parseInt(show("field-translator.service", "NRestarts")) > 0);
            w.robot().clickOn(next);
            w.waitFor("the verification report", Duration.ofMinutes(1),
                    () -> w.robot().lookup("#verify-report").tryQuery().isPresent());
            String report = reportText(w);
            assertThat(report).contains("Verification FAILED: watched services")
                    .contains("field-translator.service is running again only because systemd restarted it after"
                            + " it failed").doesNotContain("(not run)");
            w.screenshot("systemd-verify-failed");

            w.click("open-generations");
            TableView<SystemResult.Generation> gens = w.node("generations-table");
            w.waitFor("the generations", Duration.ofSeconds(30), () -> gens.getItems().size() >= 3);
            WholeRunbookTest.selectGeneration(w, gens, 2);
            w.click("rollback-propose");
            w.waitFor("the comparison before the rollback", Duration.ofSeconds(60),
                    () -> w.robot().lookup("#rollback-preview").tryQuery().isPresent());
            w.screenshot("systemd-rollback");
            w.click("rollback-confirm");
            w.waitFor("generation 2 to be current and running", Duration.ofSeconds(90), () -> gens.getItems().stream()
                    .anyMatch(g -> g.number() == 2 && g.current() && g.running()));
            assertThat(show("field-translator.service", "ActiveState")).isEqualTo("active");
            assertThat(show("field-translator.service", "NRestarts")).isEqualTo("0");
            assertThat(show("field-translator.service", "ExecStart")).doesNotContain("--hive");
            w.screenshot("systemd-generations-after");
        }
    }

    /** Target (a variant's directory), Isolate, Build, then Inspect with the comparison shown; returns Next. */
    static Button buildAndInspect(WizardHarness w, String variant) throws Exception {
        w.chooseConfig(DEMO + "/configs/" + variant);
        Button next = w.isolate();
        w.robot().clickOn(next);
        w.build();
        w.robot().clickOn(next);
        w.waitFor("the comparison", Duration.ofMinutes(2),
                () -> w.robot().lookup("#inspect-summary").tryQuery().isPresent());
        return next;
    }

    /** Sign off with every item green (the maintenance-window tick is the operator's), then Next. */
    static void signOff(WizardHarness w, Button next) throws Exception {
        Button sign = w.node("signoff-sign");
        Label st = w.node("signoff-status");
        w.waitFor("the baseline and the rollback target", Duration.ofMinutes(1),
                () -> st.getText().startsWith("Baseline, backup"));
        w.click("signoff-window");
        w.waitFor("every item green", Duration.ofSeconds(10), () -> !sign.isDisabled());
        w.robot().clickOn(sign);
        w.waitFor("the engine to record the sign-off", Duration.ofSeconds(30),
                () -> st.getText().startsWith("Signed off by "));
        w.robot().clickOn(next);
    }

    /** Apply in switch mode; returns the status line once the confirm-or-revert countdown runs. */
    static Label switchNow(WizardHarness w) throws Exception {
        w.click("mode-switch");
        w.click("apply-button");
        Label countdown = w.node("apply-countdown");
        w.waitFor("the confirm-or-revert countdown", Duration.ofMinutes(2),
                () -> countdown.getText().matches("\\d:\\d\\d") && countdown.isVisible());
        return w.node("apply-status");
    }

    static void keep(WizardHarness w) throws Exception {
        w.click("apply-keep");
        w.waitFor("the confirmation", Duration.ofSeconds(30), () -> w.robot().lookup("#apply-outcome").tryQuery()
                .map(n -> ((org.saferebuild.app.ui.Callout) n).getTitle()).filter(t -> t.startsWith("Kept"))
                .isPresent());
    }

    /** Every label of the Verify report, one per line. */
    static String reportText(WizardHarness w) throws Exception {
        return w.onFx(() -> w.robot().lookup("#verify-report").query().lookupAll(".label").stream()
                .map(n -> ((Label) n).getText()).reduce("", (a, b) -> a + "\n" + b));
    }

}
