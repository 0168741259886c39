package org.saferebuild.app.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.TableView;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.app.client.EngineClient;
import org.saferebuild.app.client.RemoteTarget;
import org.saferebuild.app.launch.DirectLauncher;
import org.saferebuild.app.launch.SshTarget;
import org.saferebuild.app.testing.WizardHarness;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.RemoteMachine;
import org.saferebuild.protocol.EngineCommand;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * The wizard changing a second machine reached over ssh (docs/remote.md), as the app does with
 * {@code --target-host}: this machine's engine builds in its sandbox; Inspect's comparison runs on
 * the target after the closure was copied into its own store (nix copy) and adopted; the sign-off,
 * the apply and its countdown are the target's. Then the network link to the target goes down
 * while it awaits confirmation: nobody can confirm, and the target reverts by itself.
 */
@Tag("display")
@Tag("root")
@Tag("nix")
class RemoteTargetTest {
    private RemoteMachine target;
    private Path base;

    @BeforeEach
    void machines() throws Exception {
        target = RemoteMachine.start();
        base = EngineHarness.privateBase();
    }

    @AfterEach
    void stop() throws Exception {
        target.close();
        assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(base.toString())
                .doesNotContain(target.base().toString());
    }

    @Test
    void switchTheTargetFromTheWizardThenCutTheLinkAndItRevertsByItself() throws Exception {
        DemoSystem demo = target.demo();
        String before = target.running();
        Path localLog = base.resolve("engine.log");
        EngineClient client = EngineClient.connect(new DirectLauncher(EngineCommand.fromClassPath(
                target.buildMachineSettings(base.resolve("build-machine"))), localLog.toFile()), Duration.ofSeconds(60));
        SshTarget ssh = new SshTarget(RemoteMachine.ALIAS, target.sshConfig(), target.engine(),
                target.engineSettings(Map.of("confirmSeconds", 25)), false);
        client.useTarget(RemoteTarget.connect(ssh, false, base.resolve("engine-target1.log").toFile(),
                Duration.ofSeconds(60)));
        assertThat(client.target().orElseThrow().engine().welcome().launchedVia()).isEqualTo("ssh");

        // The configurations as this machine (which builds) sees them.
        java.util.List<String> dirs = demo.configDirs().stream().map(d -> target.onHost(d).toString()).toList();
        try (WizardHarness w = WizardHarness.start(base, demo, client, localLog, dirs)) {
            // The configuration as this machine (which builds) sees it.
            w.chooseConfig(target.onHost(demo.configDir(DemoSystem.Variant.UPDATE)).toString());
            Button next = w.isolate();
            w.robot().clickOn(next);
            String built = w.build();
            assertThat(target.storeHas(built)).as("built here, not yet on the target").isFalse();
            w.robot().clickOn(next);

            // Inspect: the comparison is the target's, against its running system, after nix copy.
            w.waitFor("the comparison on the target", Duration.ofMinutes(3),
                    () -> w.robot().lookup("#inspect-summary").tryQuery().isPresent());
            assertThat(target.storeHas(built)).as("copied into the target's own store").isTrue();
            TableView<InspectResult.UnitAction> actions = w.node("unit-actions");
            assertThat(w.onFx(() -> actions.getItems().stream().map(a -> a.action() + " " + a.unit()).toList()))
                    .contains("START svadhisthana-chakra.service", "RESTART field-translator.service");
            w.screenshot("17-remote-inspect");
            w.robot().clickOn(next);

            Button sign = w.node("signoff-sign");
            w.waitFor("the target's baseline and generations", Duration.ofMinutes(1),
                    () -> ((Label) w.robot().lookup("#signoff-status").query()).getText().startsWith("Baseline, backup"));
            w.click("check-window");
            w.waitFor("every item green", Duration.ofSeconds(10), () -> !sign.isDisabled());
            w.robot().clickOn(sign);
            Label signStatus = w.node("signoff-status");
            w.waitFor("the target to record the sign-off", Duration.ofSeconds(30),
                    () -> signStatus.getText().startsWith("Signed off by "));
            assertThat(signStatus.getText()).contains("via ssh");
            w.robot().clickOn(next);

            w.click("apply-button");
            Label countdown = w.node("apply-countdown");
            w.waitFor("the target's countdown", Duration.ofMinutes(2),
                    () -> countdown.isVisible() && countdown.getText().matches("0:[12]\\d"));
            assertThat(target.running()).isEqualTo(built);
            Label engineChip = w.node("header-engine");
            assertThat(engineChip.getText()).as("the header names the machine being changed")
                    .isEqualTo(RemoteMachine.ALIAS + " · ssh · uid 0");
            w.screenshot("18-remote-countdown");

            // The link goes down: nothing is closed cleanly, no confirmation can arrive.
            target.cutLink();
            target.awaitRunning(before, Duration.ofSeconds(90));
            assertThat(Files.readSymbolicLink(target.onHost(demo.systemProfile())).toString()).isEqualTo("system-1-link");
            assertThat(Files.exists(target.onHost(demo.systemProfile().resolveSibling("system-2-link")))).isFalse();
            // The app learns that the target is gone once ssh gives up (ServerAliveInterval 10 × 3).
            String why = client.closed().get(90, TimeUnit.SECONDS);
            assertThat(why).contains("the connection to " + RemoteMachine.ALIAS + " ended");
            // The window says so: no countdown with Keep and Revert that can no longer reach anything.
            w.waitFor("the connection-lost banner", Duration.ofSeconds(10),
                    () -> w.robot().lookup("#connection-lost").tryQuery().isPresent());
            org.saferebuild.app.ui.Callout lost = w.node("connection-lost");
            assertThat(lost.getTitle()).isEqualTo("The engine is no longer reachable: " + why);
            assertThat(lost.getDescription()).contains("Nothing in this window can act on " + RemoteMachine.ALIAS);
            assertThat(w.onFx(() -> w.node("apply-confirm").isVisible())).as("Keep and Revert are gone").isFalse();
            org.saferebuild.app.ui.Callout outcome = w.node("apply-outcome");
            assertThat(outcome.getTitle()).isEqualTo("Connection lost: " + why);
            assertThat(outcome.getDescription()).contains("unless the change is confirmed, it goes back to generation 1 at ");
            Button nextAfter = w.node("wizard-next");
            assertThat(nextAfter.isDisabled()).as("no Verify through a lost connection").isTrue();
            // The focus is on what happened (it was on Keep, which is gone), not in the log's search field.
            w.waitFor("the focus on what happened", Duration.ofSeconds(5),
                    () -> outcome.getScene().getFocusOwner() == outcome);
            w.screenshot("19-remote-after-cut");
        }

        // Back on the network, the target's own record says what happened.
        target.restoreLink();
        try (RemoteTarget again = RemoteTarget.connect(new SshTarget(RemoteMachine.ALIAS, target.sshConfig(),
                target.engine(), target.engineSettings(), false), false, base.resolve("again.log").toFile(),
                Duration.ofSeconds(60))) {
            SystemResult.GenerationList g = again.engine().run(SystemRequest.Generations::new,
                    SystemResult.GenerationList.class).result().get(60, TimeUnit.SECONDS);
            assertThat(g.current()).isEqualTo(1);
            assertThat(g.generations()).extracting(SystemResult.Generation::number).containsExactly(1);
        }
        assertThat(Files.readString(target.onHost(demo.auditLog()))).contains("\"what\":\"revert\"", "\"what\":\"signoff\"");
    }
}
