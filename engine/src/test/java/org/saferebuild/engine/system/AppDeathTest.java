package org.saferebuild.engine.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.demo.DemoSystem.Variant;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemResult;

/**
 * The engine outlives the app (DESIGN.md "Two processes", issue 4): killed mid-apply, hung, or
 * hung up on, the app cannot stop an activation or the confirm-or-revert timer; closed and opened
 * again, it can still answer the countdown. Each test starts
 * the real engine as the app would and checks the demo's profile, run/current-system and
 * demo-state/activations.jsonl afterwards.
 */
@Tag("root")
@Tag("nix")
class AppDeathTest {
    private static final Duration PATIENCE = Duration.ofSeconds(90);

    private DemoFixture fx;
    private String gen1;
    private String update;

    @BeforeEach
    void install() throws Exception {
        fx = DemoFixture.install();
        gen1 = fx.demo.generation1();
        update = fx.built(Variant.UPDATE);
    }

    @AfterEach
    void stop() throws Exception {
        fx.close();
    }

    private static void signal(String sig, long pid) throws Exception {
        Process p = new ProcessBuilder("/bin/kill", "-" + sig, Long.toString(pid)).start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0).as("kill -" + sig).isTrue();
    }

    /** Runs {@code action} (on the event thread) the moment the apply request reports that activation starts. */
    private static CountDownLatch onActivation(EngineHarness engine, EngineConnection.Call[] call, Action action) {
        CountDownLatch done = new CountDownLatch(1);
        engine.connection().addListener(e -> {
            if (call[0] != null && e.id() == call[0].id() && e instanceof Event.Progress p
                    && p.phase().equals("activate") && done.getCount() > 0) {
                try {
                    action.run();
                } catch (Exception ex) {
                    throw new IllegalStateException(ex);
                } finally {
                    done.countDown();
                }
            }
        });
        return done;
    }

    @FunctionalInterface
    interface Action {
        void run() throws Exception;
    }

    private void assertRevertedToGeneration1() throws Exception {
        assertThat(fx.profileLink()).isEqualTo("system-1-link");
        assertThat(fx.generationExists(2)).isFalse();
        assertThat(fx.running()).isEqualTo(gen1);
        assertThat(fx.activations()).containsExactly("switch " + update, "switch " + gen1);
    }

    @Test
    void theAppKilledDuringApplyTheApplyCompletesAndTheTimerStillReverts() throws Exception {
        EngineHarness engine = fx.start();
        long pid = engine.process().pid();
        EngineConnection.Call[] call = new EngineConnection.Call[1];
        // The moment activation starts, freeze the engine, kill the app's side of both pipes
        // (stdin closed, stdout no longer read), then let the engine go on without it.
        CountDownLatch killed = onActivation(engine, call, () -> {
            signal("STOP", pid);
            engine.connection().close();
            engine.process().getInputStream().close();
            signal("CONT", pid);
        });
        call[0] = engine.send(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 5));
        assertThat(killed.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();

        // The engine stays until the timer has resolved, then exits on its own.
        assertThat(engine.process().waitFor(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(engine.process().exitValue()).isZero();
        assertThat(engine.events()).noneMatch(e -> e.id() == call[0].id() && e instanceof Event.Result);
        assertRevertedToGeneration1();

        List<AuditRecord> audit = fx.audit();
        assertThat(audit).extracting(AuditRecord::what).containsExactly("apply", "revert");
        assertThat(audit.get(0).outcome()).as("the apply completed although the app was gone").isEqualTo("ok");
        assertThat(audit.get(0).generationAfter()).isEqualTo(2);
        assertThat(audit.get(1).args().get("reason").asText()).startsWith("no confirmation within 5 s (the app"
                + " disconnected at ");
        assertThat(engine.log()).contains("the app closed the connection");
    }

    @Test
    void aHangUpDoesNotStopTheApplyOrTheTimer() throws Exception {
        EngineHarness engine = fx.start();
        long pid = engine.process().pid();
        EngineConnection.Call[] call = new EngineConnection.Call[1];
        CountDownLatch hungUp = onActivation(engine, call, () -> signal("HUP", pid));
        call[0] = engine.send(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 5));
        assertThat(hungUp.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
        SystemResult.Applied applied = call[0].result(SystemResult.Applied.class, PATIENCE);
        assertThat(applied.generationAfter()).isEqualTo(2);

        signal("HUP", pid);
        DemoFixture.awaitNotice(engine, n -> n.topic() == Event.Notice.Topic.REVERTED, PATIENCE);
        assertThat(engine.process().isAlive()).isTrue();
        assertRevertedToGeneration1();
        assertThat(engine.closeAndWait()).isZero();
    }

    @Test
    void anAppThatHangsWithItsPipesOpenCannotHoldTheTimerUp() throws Exception {
        // Started by hand so that nothing ever reads the engine's output and its input stays open.
        Path cfg = fx.settingsFile();
        Process p = new ProcessBuilder(EngineHarness.engineCommand(cfg))
                .redirectError(fx.base.resolve("hung-engine.log").toFile()).start();
        try {
            OutputStream in = p.getOutputStream();
            in.write((Json.encode(new org.saferebuild.protocol.Request.Hello(1, 1, "frozen-app")) + "\n"
                    + Json.encode(new SystemRequest.Apply(2, update, null, Mode.SWITCH, 5)) + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            in.flush();
            DemoFixture.awaitTrue("the timer reverted and recorded it", PATIENCE, () -> fx.audit().size() == 2);
            assertRevertedToGeneration1();
            assertThat(p.isAlive()).as("the engine still serves the (hung) app").isTrue();
            in.close();
            assertThat(p.waitFor(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
        } finally {
            p.destroyForcibly();
        }
        assertThat(Files.readString(fx.base.resolve("hung-engine.log"))).contains("reverting generation 2");
    }

    @Test
    void anEngineKilledWhileWaitingLeavesARevertForTheNextEngine() throws Exception {
        EngineHarness first = fx.start();
        first.call(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 5), SystemResult.Applied.class);
        first.process().destroyForcibly().waitFor();
        assertThat(fx.running()).isEqualTo(update);
        Thread.sleep(6_000); // the deadline passes while no engine runs

        fx.start();
        DemoFixture.awaitTrue("the next engine reverted and recorded it", PATIENCE, () -> fx.audit().size() == 2);
        assertRevertedToGeneration1();
        AuditRecord revert = fx.audit().get(1);
        assertThat(revert.what()).isEqualTo("revert");
        assertThat(revert.args().get("reason").asText()).contains("stopped while waiting for confirmation");

        // With its deadline still ahead, the countdown resumes in the next engine, which can confirm it.
        EngineHarness again = fx.start();
        again.call(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 120), SystemResult.Applied.class);
        again.process().destroyForcibly().waitFor();
        EngineHarness next = fx.start();
        DemoFixture.awaitNotice(next, n -> n.topic() == Event.Notice.Topic.COUNTDOWN, PATIENCE);
        SystemResult.Confirmed confirmed = next.call(id -> new SystemRequest.Confirm(id), SystemResult.Confirmed.class);
        assertThat(confirmed.storePath()).isEqualTo(update);
        assertThat(fx.running()).isEqualTo(update);
        assertThat(fx.profileLink()).isEqualTo("system-2-link");
    }

    // The app closed during the confirm window and opened again: its new engine finds the countdown the
    // first engine still runs (apply.status), and the confirm or revert reaches that engine; one audit line.

    /** Applies with a 120 s window, then the app goes away: the engine keeps the countdown. */
    private EngineHarness applyAndCloseTheApp(Mode mode) throws Exception {
        EngineHarness first = fx.start();
        SystemResult.Applied applied = first.call(id -> new SystemRequest.Apply(id, update, null, mode, 120),
                SystemResult.Applied.class);
        assertThat(applied.awaitingConfirm()).isTrue();
        first.connection().close();
        first.process().getInputStream().close();
        Thread.sleep(500);
        assertThat(first.process().isAlive()).as("the engine keeps the countdown without its app").isTrue();
        return first;
    }

    @Test
    void theReopenedAppSeesTheCountdownAndItsConfirmKeepsTheGeneration() throws Exception {
        EngineHarness first = applyAndCloseTheApp(Mode.SWITCH);
        EngineHarness second = fx.start();

        SystemResult.ApplyState state = second.call(id -> new SystemRequest.ApplyStatus(id),
                SystemResult.ApplyState.class);
        assertThat(state.awaitingConfirm()).isTrue();
        assertThat(state.generation()).isEqualTo(2);
        assertThat(state.revertsTo()).isEqualTo(1);
        assertThat(state.enginePid()).isEqualTo(first.process().pid());
        assertThat(state.secondsLeft()).isBetween(60L, 120L);
        assertThat(state.message()).contains("goes back to generation 1");

        SystemResult.Confirmed confirmed = second.call(id -> new SystemRequest.Confirm(id),
                SystemResult.Confirmed.class);
        assertThat(confirmed.generation()).isEqualTo(2);
        assertThat(confirmed.message()).contains("Confirmed").contains("engine pid " + first.process().pid());
        // The first engine had nothing left to wait for: it exits; nothing is reverted.
        assertThat(first.process().waitFor(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(fx.running()).isEqualTo(update);
        assertThat(fx.profileLink()).isEqualTo("system-2-link");
        assertThat(fx.activations()).containsExactly("switch " + update);
        assertThat(second.call(id -> new SystemRequest.ApplyStatus(id), SystemResult.ApplyState.class)
                .awaitingConfirm()).isFalse();
        assertThat(second.fail(id -> new SystemRequest.Confirm(id)).code()).isEqualTo(ProblemCode.NOT_FOUND);
        // The confirm is recorded once, by the engine the operator asked; the refused second one too.
        assertThat(fx.audit()).extracting(AuditRecord::what).containsExactly("apply", "confirm", "confirm");
        assertThat(fx.audit()).extracting(AuditRecord::outcome).containsExactly("ok", "ok", "failed");
    }

    @Test
    void theReopenedAppsRevertGoesBackAtOnce() throws Exception {
        EngineHarness first = applyAndCloseTheApp(Mode.TEST);
        assertThat(fx.running()).isEqualTo(update);
        EngineHarness second = fx.start();

        SystemResult.Reverted reverted = second.call(id -> new SystemRequest.Revert(id), SystemResult.Reverted.class,
                PATIENCE);
        assertThat(reverted.runningSystem()).isEqualTo(gen1);
        assertThat(reverted.message()).startsWith("Reverted: ");
        assertThat(fx.running()).isEqualTo(gen1);
        assertThat(fx.profileLink()).as("test mode never touched the profile").isEqualTo("system-1-link");
        assertThat(first.process().waitFor(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
        // One revert line, written by the engine the operator asked (the first only did it).
        assertThat(fx.audit()).extracting(AuditRecord::what).containsExactly("apply", "revert");
        assertThat(fx.activations()).containsExactly("test " + update, "test " + gen1);
    }
}
