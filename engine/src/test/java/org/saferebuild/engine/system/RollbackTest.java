package org.saferebuild.engine.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.demo.DemoSystem.Variant;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Nix;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemRequest.RollbackMode;
import org.saferebuild.protocol.SystemResult;

/**
 * "Emergency Rollback" to a chosen generation of the demo system's real profile: now or at next
 * boot, without a network, and refused when the generation's system is gone from the store.
 */
@Tag("root")
@Tag("nix")
class RollbackTest {
    private DemoFixture fx;
    private String gen1;
    private String update;
    private String kernel;

    @BeforeEach
    void install() throws Exception {
        fx = DemoFixture.install();
        gen1 = fx.demo.generation1();
        update = fx.built(Variant.UPDATE);
        kernel = fx.built(Variant.KERNEL);
    }

    @AfterEach
    void stop() throws Exception {
        fx.close();
    }

    /** Generations 2 (update) and 3 (kernel), both switched to and confirmed. */
    private void makeThreeGenerations(EngineHarness engine) throws Exception {
        for (String sys : List.of(update, kernel)) {
            engine.call(id -> new SystemRequest.Apply(id, sys, null, Mode.SWITCH, 120), SystemResult.Applied.class);
            engine.call(id -> new SystemRequest.Confirm(id), SystemResult.Confirmed.class);
        }
        assertThat(fx.profileLink()).isEqualTo("system-3-link");
        assertThat(fx.running()).isEqualTo(kernel);
    }

    @Test
    void rollbackToAChosenGenerationNowAndAtTheNextBoot() throws Exception {
        EngineHarness engine = fx.start();
        makeThreeGenerations(engine);

        SystemResult.RolledBack now = engine.call(id -> new SystemRequest.Rollback(id, 1, RollbackMode.SWITCH),
                SystemResult.RolledBack.class);
        assertThat(now.generationBefore()).isEqualTo(3);
        assertThat(now.generationAfter()).isEqualTo(1);
        assertThat(now.runningSystem()).isEqualTo(gen1);
        assertThat(now.message()).contains("Rolled back to generation 1");
        assertThat(fx.profileLink()).isEqualTo("system-1-link");
        assertThat(fx.running()).isEqualTo(gen1);
        assertThat(fx.bootDefault()).isEqualTo(gen1);
        assertThat(fx.generationExists(2) && fx.generationExists(3)).as("later generations stay").isTrue();

        SystemResult.GenerationList list = engine.call(id -> new SystemRequest.Generations(id),
                SystemResult.GenerationList.class);
        assertThat(list.current()).isEqualTo(1);
        assertThat(list.generations()).extracting(SystemResult.Generation::number).containsExactly(1, 2, 3);
        assertThat(list.generations().get(0).running()).isTrue();
        assertThat(list.generations().get(2).kernelVersion()).isEqualTo("6.6.8");
        assertThat(list.generations().get(0).kernelVersion()).isEqualTo("6.1.69");
        assertThat(list.generations().get(1).nixosVersion()).isEqualTo("23.11.20240115.b8dd8be");

        SystemResult.RolledBack atBoot = engine.call(id -> new SystemRequest.Rollback(id, 3, RollbackMode.BOOT),
                SystemResult.RolledBack.class);
        assertThat(atBoot.message()).contains("boot default from the next boot on");
        assertThat(fx.profileLink()).isEqualTo("system-3-link");
        assertThat(fx.bootDefault()).isEqualTo(kernel);
        assertThat(fx.running()).as("the running system is unchanged").isEqualTo(gen1);

        assertThat(fx.activations()).containsExactly("switch " + update, "switch " + kernel, "switch " + gen1,
                "boot " + kernel);
        List<AuditRecord> audit = fx.audit();
        assertThat(audit).extracting(AuditRecord::what)
                .containsExactly("apply", "confirm", "apply", "confirm", "rollback", "rollback");
        assertThat(audit.get(4).generationBefore()).isEqualTo(3);
        assertThat(audit.get(4).generationAfter()).isEqualTo(1);
        assertThat(audit.get(5).args().get("mode").asText()).isEqualTo("BOOT");
        // No confirm-or-revert after a rollback: it goes to a generation the operator chose.
        assertThat(engine.fail(id -> new SystemRequest.Confirm(id)).code()).isEqualTo(ProblemCode.NOT_FOUND);
    }

    @Test
    void rollbackWorksWithoutANetwork() throws Exception {
        EngineHarness engine = fx.start();
        makeThreeGenerations(engine);
        engine.closeAndWait();

        // The engine in a network namespace of its own: no interface but a down loopback.
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/unshare", "--net", "--"));
        cmd.addAll(EngineHarness.engineCommand(fx.settingsFile()));
        Process p = new ProcessBuilder(cmd).redirectError(fx.base.resolve("offline-engine.log").toFile()).start();
        try (EngineConnection c = new EngineConnection(p.getInputStream(), p.getOutputStream())) {
            c.handshake("offline-test", Duration.ofSeconds(30));
            assertThat(Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "ns", "net")))
                    .isNotEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/net")));
            SystemResult.RolledBack r = c.send(id -> new SystemRequest.Rollback(id, 2, RollbackMode.SWITCH))
                    .result(SystemResult.RolledBack.class, Duration.ofMinutes(2));
            assertThat(r.generationAfter()).isEqualTo(2);
        } finally {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        assertThat(fx.profileLink()).isEqualTo("system-2-link");
        assertThat(fx.running()).isEqualTo(update);
    }

    @Test
    void aGenerationWhoseSystemWasDeletedIsRefusedAndNothingChanges() throws Exception {
        EngineHarness engine = fx.start();
        makeThreeGenerations(engine);
        Nix.deleteForReal(gen1);
        assertThat(Files.exists(Path.of(gen1))).isFalse();

        SystemResult.Generation one = engine.call(id -> new SystemRequest.Generations(id),
                SystemResult.GenerationList.class).generations().get(0);
        assertThat(one.onDisk()).isFalse();
        assertThat(one.closureComplete()).isFalse();

        Event.Failure f = engine.fail(id -> new SystemRequest.Rollback(id, 1, RollbackMode.SWITCH));
        assertThat(f.code()).isEqualTo(ProblemCode.CLOSURE_INCOMPLETE);
        assertThat(f.message()).isEqualTo("The system of generation 1 cannot be activated: " + gen1
                + " is no longer on disk. Nothing was changed.");
        Event.Failure viaApply = engine.fail(id -> new SystemRequest.Apply(id, null, 1, Mode.SWITCH, null));
        assertThat(viaApply.code()).isEqualTo(ProblemCode.CLOSURE_INCOMPLETE);

        assertThat(fx.profileLink()).isEqualTo("system-3-link");
        assertThat(fx.running()).isEqualTo(kernel);
        assertThat(fx.activations()).containsExactly("switch " + update, "switch " + kernel);
    }
}
