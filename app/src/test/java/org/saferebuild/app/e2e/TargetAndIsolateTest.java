package org.saferebuild.app.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import javafx.scene.control.Button;
import javafx.scene.control.ComboBox;
import javafx.scene.control.Label;
import javafx.scene.control.TreeItem;
import javafx.scene.control.TreeTableView;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.app.testing.DemoWizardTest;
import org.saferebuild.app.testing.GtkDialogs;
import org.saferebuild.app.testing.ScreenText;
import org.saferebuild.app.testing.WizardHarness;
import org.saferebuild.protocol.SandboxResult;

/** The first two screens on the demo system with the real engine: target, then the live mount tree. */
@Tag("display")
@Tag("root")
@Tag("nix")
class TargetAndIsolateTest extends DemoWizardTest {
    @Test
    void targetListsTheDeclaredHostAndNextWaitsForThePreflight() throws Exception {
        try (WizardHarness w = WizardHarness.start(base, demo)) {
            Button next = w.node("wizard-next");
            ComboBox<String> host = w.node("host");
            w.waitFor("the preflight to list the flake's hosts", Duration.ofSeconds(90),
                    () -> host.getItems().contains("BearsiMac"));
            assertThat(host.getValue()).isEqualTo("BearsiMac");
            Label status = w.node("preflight-status");
            assertThat(status.getText()).isEqualTo("Everything the runbook needs is in place.");
            w.waitFor("Next to be enabled", Duration.ofSeconds(10), () -> !next.isDisabled());
            Label header = w.node("header-target");
            assertThat(header.getText()).isEqualTo("BearsiMac#BearsiMac");
            assertThat(header.getTooltip().getText()).endsWith("/configs/BearsiMac#BearsiMac");
            // The configuration says what it is: its host, its own words and its last build.
            Label about = w.node("config-about");
            w.waitFor("the engine's word on the configuration", Duration.ofSeconds(30),
                    () -> about.getText().contains("host BearsiMac"));
            assertThat(about.getText()).contains("never built by this engine");
            w.screenshot("01-target");
        }
    }

    @Test
    void isolateShowsTheMountTreeTheKernelReportsAndNothingStaysMounted() throws Exception {
        try (WizardHarness w = WizardHarness.start(base, demo)) {
            Button next = w.node("wizard-next");
            w.waitFor("Next on Target", Duration.ofSeconds(90), () -> !next.isDisabled());
            w.robot().clickOn(next);
            TreeTableView<SandboxResult.Mount> tree = w.node("mount-tree");
            w.waitFor("the sandbox's mounts", Duration.ofSeconds(60), () -> tree.getRoot() != null
                    && !tree.getRoot().getChildren().isEmpty());
            String shown = w.onFx(() -> flatten(tree.getRoot()));
            // Bind mounts show the source's file system type, as the kernel reports them.
            assertThat(shown.lines()).anyMatch(l -> l.startsWith("/nix ") && l.endsWith(" read-write"))
                    .anyMatch(l -> l.startsWith("/etc/nixos ") && l.endsWith(" read-only"))
                    .anyMatch(l -> l.startsWith("/usr ") && l.endsWith(" read-only"))
                    .contains("/proc proc read-write", "/tmp tmpfs read-write", "/sys sysfs read-only");
            Label status = w.node("sandbox-status");
            assertThat(status.getText()).startsWith("Open: ").contains("network isolated");
            // The host's own mount table shows none of it (the holder's namespace is private).
            assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain("/sandboxes/sb-");
            w.screenshot("02-isolate");
            w.click("sandbox-close");
            w.waitFor("the tree to empty", Duration.ofSeconds(30), () -> tree.getRoot().getChildren().isEmpty());
            w.waitFor("the close to be reported", Duration.ofSeconds(30),
                    () -> status.getText().startsWith("Closed: every mount is gone"));
            assertThat(next.isDisabled()).isTrue();
        }
    }

    /**
     * Browse opens GTK's own directory dialog; what the operator picks there becomes the
     * configuration, and the engine judges it: a directory its settings name passes the preflight,
     * any other is refused with the ones it accepts, and Next stays off.
     */
    @Test
    void browseChoosesADirectoryInTheSystemsDialogAndTheEngineJudgesIt() throws Exception {
        Path elsewhere = Files.createDirectories(base.resolve("elsewhere/nixos"));
        Files.writeString(elsewhere.resolve("configuration.nix"), "{ }\n");
        String title = "Choose a NixOS configuration directory";
        try (WizardHarness w = WizardHarness.start(base, demo)) {
            ComboBox<String> dir = w.node("config-dir");
            Label status = w.node("preflight-status");
            Button next = w.node("wizard-next");
            w.waitFor("the first preflight", Duration.ofSeconds(90),
                    () -> status.getText().equals("Everything the runbook needs is in place."));

            String classic = demo.configDir(org.saferebuild.demo.DemoSystem.Variant.CLASSIC).toString();
            w.click("config-browse");
            GtkDialogs.chooseDirectory(title, Path.of(classic));
            w.waitFor("the chosen directory to pass its preflight", Duration.ofSeconds(90),
                    () -> classic.equals(dir.getValue()) && !next.isDisabled()
                            && status.getText().equals("Everything the runbook needs is in place."));
            assertThat(GtkDialogs.shown(title)).as("the dialog closed").isFalse();
            Label header = w.node("header-target");
            assertThat(header.getTooltip().getText()).startsWith(classic);

            w.click("config-browse");
            GtkDialogs.chooseDirectory(title, elsewhere);
            w.waitFor("the engine's answer on " + elsewhere, Duration.ofSeconds(90),
                    () -> elsewhere.toString().equals(dir.getValue()) && !status.getText().startsWith("Checking"));
            assertThat(status.getText()).isEqualTo("The engine does not accept this directory.");
            org.saferebuild.app.ui.Callout refusal = w.node("failure");
            assertThat(refusal.getTitle()).isEqualTo("The engine does not accept this directory");
            String screen = String.join("\n", w.onFx(() -> ScreenText.of(w.stage().getScene())));
            assertThat(screen).contains("The configuration directory " + elsewhere
                    + " is not one this engine is set up for (").contains(classic)
                    .contains("root adds it to configDirs in the engine's settings");
            assertThat(next.isDisabled()).as("Next stays off for a directory the engine refuses").isTrue();
            w.screenshot("01-target-browse-refused");
        }
    }

    /** "mountPoint fsType access" per mount, depth-first, as the operator reads the tree. */
    static String flatten(TreeItem<SandboxResult.Mount> item) {
        StringBuilder sb = new StringBuilder();
        for (TreeItem<SandboxResult.Mount> c : item.getChildren()) {
            SandboxResult.Mount m = c.getValue();
            sb.append(m.mountPoint()).append(' ').append(m.fsType()).append(' ')
                    .append(m.readOnly() ? "read-only" : "read-write").append('\n');
            sb.append(flatten(c));
        }
        return sb.toString();
    }
}
