package org.saferebuild.engine.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.demo.DemoSystem.Variant;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.NixRequest;
import org.saferebuild.protocol.NixResult;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemResult;

/**
 * Apply in each mode and confirm-or-revert, against the demo system's real profile, its real
 * switch-to-configuration (which records every call in demo-state/activations.jsonl and repoints
 * run/current-system) and the real engine process. What is checked is what the operator would
 * notice: the profile's generation, the running system, the boot default, what was activated.
 */
@Tag("root")
@Tag("nix")
class ApplyTest {
    private static final Duration PATIENCE = Duration.ofSeconds(90);

    private DemoFixture fx;
    private String gen1;

    @BeforeEach
    void install() throws Exception {
        fx = DemoFixture.install();
        gen1 = fx.demo.generation1();
    }

    @AfterEach
    void stop() throws Exception {
        fx.close();
    }

    private static SystemResult.Applied apply(EngineHarness engine, String path, Mode mode, Integer seconds)
            throws Exception {
        return engine.call(id -> new SystemRequest.Apply(id, path, null, mode, seconds), SystemResult.Applied.class);
    }

    @Test
    void switchActivatesAndConfirmingKeepsIt() throws Exception {
        String update = fx.built(Variant.UPDATE);
        EngineHarness engine = fx.start();

        SystemResult.Applied applied = apply(engine, update, Mode.SWITCH, 5);
        assertThat(applied.generationBefore()).isEqualTo(1);
        assertThat(applied.generationAfter()).isEqualTo(2);
        assertThat(applied.awaitingConfirm()).isTrue();
        assertThat(applied.confirmSeconds()).isEqualTo(5);
        assertThat(applied.runningSystem()).isEqualTo(update);
        assertThat(fx.profileLink()).isEqualTo("system-2-link");
        assertThat(fx.running()).isEqualTo(update);
        assertThat(fx.bootDefault()).isEqualTo(update);
        assertThat(fx.activations()).containsExactly("switch " + update);
        // The activation's own output reached the app as it ran.
        assertThat(engine.events()).anySatisfy(e -> assertThat(e).isInstanceOfSatisfying(Event.Log.class,
                l -> assertThat(l.lines()).contains("activating the configuration...")));

        DemoFixture.awaitNotice(engine, n -> n.topic() == Event.Notice.Topic.COUNTDOWN, PATIENCE);
        SystemResult.Confirmed confirmed = engine.call(id -> new SystemRequest.Confirm(id),
                SystemResult.Confirmed.class);
        assertThat(confirmed.generation()).isEqualTo(2);
        DemoFixture.awaitNotice(engine, n -> n.topic() == Event.Notice.Topic.CONFIRMED, PATIENCE);

        // Well past the 5 s deadline nothing has been reverted.
        Thread.sleep(7_000);
        assertThat(fx.profileLink()).isEqualTo("system-2-link");
        assertThat(fx.running()).isEqualTo(update);
        assertThat(fx.activations()).containsExactly("switch " + update);
        assertThat(engine.events()).noneMatch(e -> e instanceof Event.Notice n
                && n.topic() == Event.Notice.Topic.REVERTED);

        List<AuditRecord> audit = fx.audit();
        assertThat(audit).extracting(AuditRecord::what).containsExactly("apply", "confirm");
        assertThat(audit.get(0).generationBefore()).isEqualTo(1);
        assertThat(audit.get(0).generationAfter()).isEqualTo(2);
        assertThat(audit.get(0).args().get("storePath").asText()).isEqualTo(update);
        assertThat(audit).allSatisfy(r -> assertThat(r.outcome()).isEqualTo("ok"));

        Event.Failure nothing = engine.fail(id -> new SystemRequest.Confirm(id));
        assertThat(nothing.code()).isEqualTo(ProblemCode.NOT_FOUND);
        assertThat(nothing.message()).contains("Nothing is waiting for confirmation");
    }

    @Test
    void withoutAConfirmationTheTimerRevertsASwitchToThePreviousGeneration() throws Exception {
        String update = fx.built(Variant.UPDATE);
        EngineHarness engine = fx.start();
        apply(engine, update, Mode.SWITCH, 5);
        assertThat(fx.running()).isEqualTo(update);

        Event.Notice reverted = DemoFixture.awaitNotice(engine, n -> n.topic() == Event.Notice.Topic.REVERTED,
                PATIENCE);
        assertThat(reverted.message()).contains("no confirmation within 5 s").contains("back at generation 1");
        assertThat(fx.profileLink()).isEqualTo("system-1-link");
        assertThat(fx.generationExists(2)).as("the unconfirmed generation is removed").isFalse();
        assertThat(fx.running()).isEqualTo(gen1);
        assertThat(fx.bootDefault()).isEqualTo(gen1);
        assertThat(fx.activations()).containsExactly("switch " + update, "switch " + gen1);

        List<AuditRecord> audit = fx.audit();
        assertThat(audit).extracting(AuditRecord::what).containsExactly("apply", "revert");
        AuditRecord revert = audit.get(1);
        assertThat(revert.who()).isEqualTo(new AuditRecord.Who(0, "root", "engine"));
        assertThat(revert.outcome()).isEqualTo("ok");
        assertThat(revert.generationBefore()).isEqualTo(2);
        assertThat(revert.generationAfter()).isEqualTo(1);
        assertThat(revert.args().get("reason").asText()).isEqualTo("no confirmation within 5 s");
    }

    @Test
    void testActivatesWithoutTouchingTheProfileAndIsRevertedToo() throws Exception {
        String update = fx.built(Variant.UPDATE);
        EngineHarness engine = fx.start();
        SystemResult.Applied applied = apply(engine, update, Mode.TEST, 5);
        assertThat(applied.generationAfter()).isEqualTo(1);
        assertThat(fx.profileLink()).isEqualTo("system-1-link");
        assertThat(fx.generationExists(2)).isFalse();
        assertThat(fx.running()).isEqualTo(update);
        assertThat(fx.bootDefault()).as("test never changes the boot default").isNotEqualTo(update);

        DemoFixture.awaitNotice(engine, n -> n.topic() == Event.Notice.Topic.REVERTED, PATIENCE);
        assertThat(fx.running()).isEqualTo(gen1);
        assertThat(fx.profileLink()).isEqualTo("system-1-link");
        assertThat(fx.activations()).containsExactly("test " + update, "test " + gen1);
    }

    @Test
    void bootOnlyChangesTheBootDefaultAndNeedsNoConfirmation() throws Exception {
        String kernel = fx.built(Variant.KERNEL);
        EngineHarness engine = fx.start();
        SystemResult.Applied applied = apply(engine, kernel, Mode.BOOT, null);
        assertThat(applied.awaitingConfirm()).isFalse();
        assertThat(applied.confirmDeadline()).isNull();
        assertThat(applied.generationAfter()).isEqualTo(2);
        assertThat(applied.message()).contains("boot default from the next boot on");
        assertThat(fx.profileLink()).isEqualTo("system-2-link");
        assertThat(fx.bootDefault()).isEqualTo(kernel);
        assertThat(fx.running()).isEqualTo(gen1);
        assertThat(fx.activations()).containsExactly("boot " + kernel);
        assertThat(engine.fail(id -> new SystemRequest.Confirm(id)).code()).isEqualTo(ProblemCode.NOT_FOUND);
        // The lock is free again: another apply may run.
        apply(engine, kernel, Mode.TEST, 5);
        engine.call(id -> new SystemRequest.Revert(id), SystemResult.Reverted.class);
    }

    @Test
    void aFailingActivationPutsTheProfileBackAndSaysWhatStateTheSystemIsIn() throws Exception {
        String failing = fx.built(Variant.ACTIVATION_FAIL);
        EngineHarness engine = fx.start();
        Event.Failure f = engine.fail(id -> new SystemRequest.Apply(id, failing, null, Mode.SWITCH, 30));
        assertThat(f.code()).isEqualTo(ProblemCode.ACTIVATION_FAILED);
        assertThat(f.message())
                .contains("switch-to-configuration switch of " + failing + " failed (exit code 4")
                .contains("The system profile is back at generation 1.")
                .contains("Generation 2, which the apply made, was removed.")
                .contains("The previous system's switch-to-configuration switch succeeded.")
                .contains("The running system is " + gen1 + ", as before the change.");
        assertThat(f.fix()).contains("as it was before the apply");

        assertThat(fx.profileLink()).isEqualTo("system-1-link");
        assertThat(fx.generationExists(2)).isFalse();
        assertThat(fx.running()).isEqualTo(gen1);
        assertThat(fx.bootDefault()).isEqualTo(gen1);
        assertThat(fx.activations()).containsExactly("switch " + failing, "switch " + gen1);
        assertThat(engine.events()).anySatisfy(e -> assertThat(e).isInstanceOfSatisfying(Event.Log.class,
                l -> assertThat(l.lines()).contains("warning: error(s) occurred while switching to the new"
                        + " configuration")));
        // Nothing waits for confirmation, and the failure is in the audit trail.
        assertThat(engine.fail(id -> new SystemRequest.Confirm(id)).code()).isEqualTo(ProblemCode.NOT_FOUND);
        AuditRecord rec = fx.audit().get(0);
        assertThat(rec.what()).isEqualTo("apply");
        assertThat(rec.outcome()).isEqualTo("failed");
        assertThat(rec.code()).isEqualTo("ACTIVATION_FAILED");
        assertThat(rec.generationBefore()).isEqualTo(1);
        assertThat(rec.generationAfter()).isEqualTo(1);
    }

    @Test
    void aSecondApplyOrARollbackWhileOneAwaitsConfirmationIsRefused() throws Exception {
        String update = fx.built(Variant.UPDATE);
        String kernel = fx.built(Variant.KERNEL);
        EngineHarness engine = fx.start();
        apply(engine, update, Mode.SWITCH, 120);

        Event.Failure second = engine.fail(id -> new SystemRequest.Apply(id, kernel, null, Mode.SWITCH, null));
        assertThat(second.code()).isEqualTo(ProblemCode.BUSY);
        assertThat(second.message()).contains("generation 2").contains("is waiting for confirmation until");
        assertThat(second.fix()).contains("Confirm it or revert it first");
        Event.Failure rollback = engine.fail(id -> new SystemRequest.Rollback(id, 1,
                SystemRequest.RollbackMode.SWITCH));
        assertThat(rollback.code()).isEqualTo(ProblemCode.BUSY);

        // A second engine on the same machine is kept out by the lock file.
        EngineHarness other = fx.start();
        Event.Failure elsewhere = other.fail(id -> new SystemRequest.Apply(id, kernel, null, Mode.TEST, null));
        assertThat(elsewhere.code()).isEqualTo(ProblemCode.BUSY);
        assertThat(elsewhere.message()).contains("Another Safe Rebuild engine");
        other.closeAndWait();

        assertThat(fx.activations()).containsExactly("switch " + update);
        assertThat(fx.profileLink()).isEqualTo("system-2-link");

        SystemResult.Reverted reverted = engine.call(id -> new SystemRequest.Revert(id), SystemResult.Reverted.class);
        assertThat(reverted.reason()).contains("the operator asked to revert");
        assertThat(reverted.runningSystem()).isEqualTo(gen1);
        assertThat(fx.profileLink()).isEqualTo("system-1-link");
        // Once reverted, the next apply may run.
        SystemResult.Applied next = apply(engine, kernel, Mode.BOOT, null);
        assertThat(next.generationAfter()).isEqualTo(2);
        assertThat(fx.activations()).containsExactly("switch " + update, "switch " + gen1, "boot " + kernel);
    }

    @Test
    void theRunbookThroughTheEngineBuildInTheSandboxThenApplyVerifyAndConfirm() throws Exception {
        EngineHarness engine = fx.start();
        String config = fx.demo.configDir(Variant.UPDATE).toString();
        SandboxResult.Opened sb = engine.call(id -> new SandboxRequest.Open(id, config, "debian-test",
                SandboxRequest.Network.ISOLATED), SandboxResult.Opened.class);
        NixResult.Built built = engine.call(id -> new NixRequest.Build(id, sb.sandbox(), "BearsiMac"),
                NixResult.Built.class, Duration.ofMinutes(5));
        engine.call(id -> new SandboxRequest.Close(id, sb.sandbox(), false), SandboxResult.Closed.class);

        engine.call(id -> new SystemRequest.Baseline(id, null), SystemResult.Baseline.class);
        SystemResult.Applied applied = apply(engine, built.storePath(), Mode.SWITCH, 120);
        assertThat(fx.running()).isEqualTo(built.storePath());
        SystemResult.VerifyReport report = engine.call(id -> new SystemRequest.Verify(id),
                SystemResult.VerifyReport.class);
        assertThat(report.checks().get(0).status()).isEqualTo(SystemResult.CheckStatus.PASS);
        engine.call(id -> new SystemRequest.Confirm(id), SystemResult.Confirmed.class);
        assertThat(fx.profileLink()).isEqualTo("system-" + applied.generationAfter() + "-link");

        assertThat(fx.audit()).extracting(AuditRecord::what).containsExactly("sandbox.open", "build",
                "sandbox.close", "baseline", "apply", "verify", "confirm");
        SystemResult.AuditVerdict chain = engine.call(id -> new SystemRequest.AuditVerify(id),
                SystemResult.AuditVerdict.class);
        assertThat(chain.intact()).isTrue();
        assertThat(chain.lines()).as("an intent and an outcome for each").isEqualTo(14);
    }

    @Test
    void onlySystemsTheEngineBuiltOrGenerationsAreApplied() throws Exception {
        String update = fx.demo.buildOnHost(Variant.UPDATE); // built, but not by the engine: no GC root
        EngineHarness engine = fx.start();
        Event.Failure f = engine.fail(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, null));
        assertThat(f.code()).isEqualTo(ProblemCode.INVALID_ARGUMENT);
        assertThat(f.message()).contains("was not built by this engine");
        assertThat(fx.activations()).isEmpty();

        // An existing generation is accepted: it becomes a new generation, like nixos-rebuild does.
        SystemResult.Applied again = engine.call(id -> new SystemRequest.Apply(id, null, 1, Mode.TEST, 5),
                SystemResult.Applied.class);
        assertThat(again.storePath()).isEqualTo(gen1);
        engine.call(id -> new SystemRequest.Confirm(id), SystemResult.Confirmed.class);
        assertThat(fx.activations()).containsExactly("test " + gen1);
    }
}
