package org.saferebuild.engine.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.demo.DemoSystem.Variant;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemResult;

/**
 * The app closed during the confirm-or-revert window and opened again: its new engine finds the
 * countdown that the first engine still runs (apply.status), and the operator's confirm or revert
 * reaches that engine. Nothing is done twice, and the audit trail has one line per action.
 */
@Tag("root")
@Tag("nix")
class ReopenedAppTest {
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
