package org.saferebuild.engine.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Nix;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * Generations, pinning and the refusal of a rollback whose system is gone, on a private profile
 * made with real {@code nix-env --set} of real store paths (the machine's own profiles are never
 * touched), through the real engine process.
 */
@Tag("root")
@Tag("nix")
class GenerationsTest {
    private Path base;
    private Path profile;
    private String sys1;
    private String sys2;
    private String sys3;
    private EngineHarness engine;

    @BeforeEach
    void setUp() throws Exception {
        base = EngineHarness.privateBase();
        Path scratch = Files.createDirectories(base.resolve("scratch"));
        sys1 = Nix.addToplevel(scratch, "nixos-system-BearsiMac-23.11.1", "23.11.20240115.b8dd8be", "6.1.69");
        sys2 = Nix.addToplevel(scratch, "nixos-system-BearsiMac-23.11.2", "23.11.20240201.aaaaaaa", "6.6.8");
        sys3 = Nix.addToplevel(scratch, "nixos-system-BearsiMac-23.11.3", "23.11.20240301.bbbbbbb", "6.6.9");
        profile = base.resolve("profiles/system");
        Nix.setProfile(profile, sys1);
        Nix.setProfile(profile, sys2);
        Nix.setProfile(profile, sys3);
        Files.createDirectories(base.resolve("run"));
        Files.createSymbolicLink(base.resolve("run/current-system"), Path.of(sys3));
        Files.createSymbolicLink(base.resolve("run/booted-system"), Path.of(sys2));
        engine = EngineHarness.builder().base(base).env("SUDO_UID", "0")
                .set("systemProfile", profile.toString())
                .set("currentSystem", base.resolve("run/current-system").toString())
                .set("bootedSystem", base.resolve("run/booted-system").toString())
                .start();
        engine.handshake();
    }

    @AfterEach
    void tearDown() throws Exception {
        engine.close();
    }

    private SystemResult.GenerationList list() throws Exception {
        return engine.call(id -> new SystemRequest.Generations(id), SystemResult.GenerationList.class);
    }

    private List<AuditRecord> audit() throws Exception {
        return Files.readAllLines(base.resolve("audit/audit.jsonl")).stream()
                .map(l -> {
                    try {
                        return Json.decode(l, AuditRecord.class);
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }).filter(r -> !AuditRecord.STARTED.equals(r.outcome())).toList(); // the outcome records
    }

    @Test
    void listsNumbersVersionsMarkersAndWhatIsOnDisk() throws Exception {
        SystemResult.GenerationList g = list();
        assertThat(g.profile()).isEqualTo(profile.toString());
        assertThat(g.current()).isEqualTo(3);
        assertThat(g.generations()).extracting(SystemResult.Generation::number).containsExactly(1, 2, 3);
        SystemResult.Generation one = g.generations().get(0);
        SystemResult.Generation two = g.generations().get(1);
        SystemResult.Generation three = g.generations().get(2);
        assertThat(one.storePath()).isEqualTo(sys1);
        assertThat(one.nixosVersion()).isEqualTo("23.11.20240115.b8dd8be");
        assertThat(one.kernelVersion()).isEqualTo("6.1.69");
        assertThat(two.kernelVersion()).isEqualTo("6.6.8");
        assertThat(three.current()).isTrue();
        assertThat(three.running()).isTrue();
        assertThat(two.booted()).isTrue();
        assertThat(one.current() || one.running() || one.booted()).isFalse();
        assertThat(g.generations()).allSatisfy(x -> {
            assertThat(x.onDisk()).isTrue();
            assertThat(x.closureComplete()).isTrue();
            assertThat(x.closureBytes()).isPositive();
            assertThat(x.pinned()).isFalse();
            assertThat(x.date()).isNotNull();
        });
        // Listing is a query: it is not recorded.
        assertThat(Files.exists(base.resolve("audit/audit.jsonl"))).isFalse();
    }

    @Test
    void pinningMakesARealGcRootAndUnpinningRemovesIt() throws Exception {
        SystemResult.Pinned pinned = engine.call(id -> new SystemRequest.Pin(id, 1), SystemResult.Pinned.class);
        Path root = engine.stateDir().resolve("gcroots/pinned/generation-1");
        assertThat(pinned.root()).isEqualTo(root.toString());
        assertThat(Files.readSymbolicLink(root).toString()).isEqualTo(sys1);
        assertThat(Nix.roots(sys1)).anyMatch(l -> l.startsWith(root + " -> "));
        assertThat(list().generations().get(0).pinned()).isTrue();

        engine.call(id -> new SystemRequest.Unpin(id, 1), SystemResult.Pinned.class);
        assertThat(Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(Nix.roots(sys1)).noneMatch(l -> l.startsWith(root.toString()));
        assertThat(list().generations().get(0).pinned()).isFalse();

        Event.Failure again = engine.fail(id -> new SystemRequest.Unpin(id, 1));
        assertThat(again.code()).isEqualTo(ProblemCode.NOT_FOUND);
        assertThat(again.message()).contains("Generation 1 is not pinned");

        List<AuditRecord> audit = audit();
        assertThat(audit).extracting(AuditRecord::what).containsExactly("pin", "unpin", "unpin");
        assertThat(audit).extracting(AuditRecord::outcome).containsExactly("ok", "ok", "failed");
        assertThat(audit.get(0).who()).isEqualTo(new AuditRecord.Who(0, "root", "sudo"));
        assertThat(audit.get(0).generationBefore()).isEqualTo(3);
        assertThat(audit.get(0).args().get("generation").asInt()).isEqualTo(1);
    }

    @Test
    void aGenerationWhoseSystemWasDeletedIsShownAsGoneAndCannotBeRolledBackTo() throws Exception {
        Nix.deleteForReal(sys1);
        assertThat(Files.exists(Path.of(sys1))).isFalse();

        SystemResult.Generation one = list().generations().get(0);
        assertThat(one.onDisk()).isFalse();
        assertThat(one.closureComplete()).isFalse();
        assertThat(one.closureBytes()).isNull();
        assertThat(one.nixosVersion()).isNull();

        Event.Failure refused = engine.fail(id -> new SystemRequest.Rollback(id, 1,
                SystemRequest.RollbackMode.SWITCH));
        assertThat(refused.code()).isEqualTo(ProblemCode.CLOSURE_INCOMPLETE);
        assertThat(refused.message()).contains("generation 1").contains(sys1 + " is no longer on disk")
                .contains("Nothing was changed");
        assertThat(refused.fix()).contains("garbage collection").contains("Pin generations");
        assertThat(Files.readSymbolicLink(profile).toString()).isEqualTo("system-3-link");
        assertThat(Files.readSymbolicLink(base.resolve("run/current-system")).toString()).isEqualTo(sys3);

        Event.Failure pin = engine.fail(id -> new SystemRequest.Pin(id, 1));
        assertThat(pin.code()).isEqualTo(ProblemCode.CLOSURE_INCOMPLETE);

        AuditRecord last = audit().get(0);
        assertThat(last.what()).isEqualTo("rollback");
        assertThat(last.outcome()).isEqualTo("failed");
        assertThat(last.code()).isEqualTo("CLOSURE_INCOMPLETE");
        assertThat(last.generationBefore()).isEqualTo(3);
        assertThat(last.generationAfter()).isEqualTo(3);
    }

    @Test
    void anUnknownGenerationIsRefusedWithTheOnesThereAre() throws Exception {
        Event.Failure f = engine.fail(id -> new SystemRequest.Rollback(id, 9, SystemRequest.RollbackMode.BOOT));
        assertThat(f.code()).isEqualTo(ProblemCode.NOT_FOUND);
        assertThat(f.message()).contains("has no generation 9").contains("[1, 2, 3]");
    }
}
