package org.saferebuild.app.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javafx.scene.control.Label;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.app.client.EngineClient;
import org.saferebuild.app.launch.DirectLauncher;
import org.saferebuild.app.testing.DemoWizardTest;
import org.saferebuild.app.testing.WizardHarness;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.protocol.EngineCommand;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * The window was closed during the confirm-or-revert window (the engine keeps the countdown) and
 * the operator opens Safe Rebuild again: the banner shows the countdown above the wizard, and
 * "Keep this configuration" keeps the generation the first window switched to.
 */
@Tag("display")
@Tag("root")
@Tag("nix")
class ReopenedWindowTest extends DemoWizardTest {
    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }

    @Test
    void aCountdownFromBeforeTheWindowOpenedIsShownAndCanBeKept() throws Exception {
        String update = demo.buildOnHost(DemoSystem.Variant.UPDATE);
        Process root = new ProcessBuilder("/usr/bin/nix-store", "--realise", "--add-root",
                demo.buildRoots().resolve(Path.of(update).getFileName()).toString(), update)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(root.waitFor(60, TimeUnit.SECONDS) && root.exitValue() == 0).as("GC root for the build").isTrue();

        // The first window switches with a 5-minute window, then goes away without answering.
        EngineClient first = EngineClient.connect(new DirectLauncher(EngineCommand.fromClassPath(demo.settingsFile()),
                base.resolve("first-engine.log").toFile()), Duration.ofSeconds(60));
        SystemResult.Applied applied = first.run(id -> new SystemRequest.Apply(id, update, null,
                SystemRequest.Mode.SWITCH, 300), SystemResult.Applied.class).result().get(2, TimeUnit.MINUTES);
        assertThat(applied.awaitingConfirm()).isTrue();
        first.close();
        assertThat(first.awaitExit(Duration.ofSeconds(2))).as(() -> "the first engine keeps the countdown; its log: "
                + readQuietly(base.resolve("first-engine.log"))).isFalse();

        try (WizardHarness w = WizardHarness.start(base, demo)) {
            Label countdown = w.node("pending-countdown");
            javafx.scene.Node waiting = w.node("pending-waiting");
            w.waitFor("the countdown from before this window", Duration.ofSeconds(30),
                    () -> waiting.isVisible() && countdown.getText().matches("[45]:\\d\\d"));
            assertThat(w.onFx(() -> w.robot().lookup("#pending-waiting .callout").queryAll().stream()
                    .map(n -> ((org.saferebuild.app.ui.Callout) n).getDescription()).findFirst().orElse("")))
                    .contains("Generation 2").contains("goes back to generation 1");
            w.screenshot("14-reopened-countdown");
            w.click("pending-keep");
            w.waitFor("the confirmation", Duration.ofSeconds(30), () -> w.robot().lookup("#pending-outcome .callout")
                    .tryQuery().map(n -> ((org.saferebuild.app.ui.Callout) n).getDescription())
                    .filter(t -> t.startsWith("Confirmed: generation 2")).isPresent());
            assertThat(w.onFx(waiting::isVisible)).as("the countdown is gone").isFalse();
            w.screenshot("15-reopened-kept");
            assertThat(Files.readSymbolicLink(demo.currentSystem()).toString()).isEqualTo(update);
            assertThat(Files.readSymbolicLink(demo.systemProfile()).toString()).isEqualTo("system-2-link");
            assertThat(first.awaitExit(Duration.ofSeconds(30))).as("the first engine exits once confirmed").isTrue();

            // The window's own engine killed: the window says at once that nothing can reach it any more.
            java.util.List<ProcessHandle> engines = ProcessHandle.current().descendants().filter(p -> p.info()
                    .arguments().map(a -> java.util.List.of(a).contains("org.saferebuild.engine.Main")).orElse(false))
                    .toList();
            assertThat(engines).as("the window's engine").hasSize(1);
            assertThat(w.robot().lookup("#connection-lost").tryQuery()).isEmpty();
            engines.get(0).destroyForcibly();
            w.waitFor("the connection-lost banner", Duration.ofSeconds(30),
                    () -> w.robot().lookup("#connection-lost").tryQuery().isPresent());
            org.saferebuild.app.ui.Callout lost = w.node("connection-lost");
            assertThat(lost.getTitle()).startsWith("The engine is no longer reachable: ");
            assertThat(lost.getDescription()).contains("Nothing in this window can act on this machine any more.")
                    .contains("Start Safe Rebuild again");
        }
    }
}
