package org.saferebuild.engine.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Nix;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemResult;

/**
 * Issue 11 on a real demo system: nothing done without a record, nothing written through a link,
 * nothing lost when the engine dies, a full disk answered with NO_SPACE, a closure with a changed
 * file refused, and a revert that never removes a generation it did not make.
 */
@Tag("root")
@Tag("nix")
class StateIntegrityTest {
    private static final Duration PATIENCE = Duration.ofSeconds(60);

    private DemoFixture fx;
    private String base;
    private String update;

    @BeforeEach
    void demo() throws Exception {
        fx = DemoFixture.install();
        base = fx.running();
        update = fx.built(DemoSystem.Variant.UPDATE);
    }

    @AfterEach
    void close() throws Exception {
        fx.close();
    }

    private static Path privateDir(Path p) throws Exception {
        Files.createDirectories(p.getParent());
        if (!Files.exists(p)) {
            Files.createDirectory(p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        return p;
    }

    @Test
    void whenTheTrailCannotBeWrittenPinAndApplyAreNotDone() throws Exception {
        Path auditDir = privateDir(fx.demo.auditLog().getParent());
        EngineHarness engine = fx.startWith(b -> b.tmpfs(auditDir, "256k"));
        engine.call(id -> new SystemRequest.Generations(id), SystemResult.GenerationList.class);
        engine.call(id -> new SystemRequest.Pin(id, 1), SystemResult.Pinned.class); // writes the trail once
        engine.call(id -> new SystemRequest.Unpin(id, 1), SystemResult.Pinned.class);
        engine.fillDisk(auditDir);
        Path trail = engine.asSeenByEngine(fx.demo.auditLog());
        byte[] before = Files.readAllBytes(trail);

        Path root = fx.demo.stateDir().resolve("gcroots/pinned/generation-1");
        Event.Failure pin = null;
        Object rootBefore = null;
        for (int i = 0; i < 40 && pin == null; i++) { // until the reserve has no whole page left for a new action
            before = Files.readAllBytes(trail);
            rootBefore = Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS) ? Files.readAttributes(root,
                    "unix:ino", java.nio.file.LinkOption.NOFOLLOW_LINKS).get("ino") : null;
            var call = engine.send(id -> new SystemRequest.Pin(id, 1)); // pinning again makes a new root link
            try {
                call.result(SystemResult.Pinned.class, PATIENCE);
            } catch (EngineConnection.EngineFailure f) {
                pin = f.failure();
            }
        }
        assertThat(pin).isNotNull();
        assertThat(pin.code()).isEqualTo(ProblemCode.NO_SPACE);
        assertThat(pin.message()).contains("audit trail").contains("Nothing was done");
        Object rootAfter = Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS) ? Files.readAttributes(root,
                "unix:ino", java.nio.file.LinkOption.NOFOLLOW_LINKS).get("ino") : null;
        assertThat(rootAfter).as("the refused pin did not touch the GC root").isEqualTo(rootBefore);
        assertThat(Files.readAllBytes(trail)).as("the refused pin left no record").isEqualTo(before);

        Event.Failure apply = engine.fail(id -> new SystemRequest.Apply(id, update, null, Mode.TEST, 30));
        assertThat(apply.code()).isEqualTo(ProblemCode.NO_SPACE);
        assertThat(fx.running()).as("nothing was activated").isEqualTo(base);
        assertThat(fx.activations()).as("switch-to-configuration never ran").isEmpty();
        assertThat(Files.readAllBytes(trail)).as("the trail is as it was").isEqualTo(before);

        // A switch checks its closure while its intent is being written; its first change (nix-env)
        // waits for the record, so here it never comes.
        Event.Failure sw = engine.fail(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 30));
        assertThat(sw.code()).isEqualTo(ProblemCode.NO_SPACE);
        assertThat(sw.message()).contains("audit trail").contains("Nothing was done");
        assertThat(fx.profileLink()).as("the profile was not touched").isEqualTo("system-1-link");
        assertThat(fx.activations()).as("switch-to-configuration never ran").isEmpty();
        assertThat(Files.readAllBytes(trail)).as("the trail is as it was").isEqualTo(before);
    }

    @Test
    void theTimersRevertIsRecordedBeforeItRunsEvenOnAFullDisk() throws Exception {
        Path auditDir = privateDir(fx.demo.auditLog().getParent());
        EngineHarness engine = fx.startWith(b -> b.tmpfs(auditDir, "256k"));
        engine.call(id -> new SystemRequest.Apply(id, update, null, Mode.TEST, 5), SystemResult.Applied.class);
        engine.fillDisk(auditDir); // the apply's intent reserved room for what must follow it
        DemoFixture.awaitNotice(engine, n -> n.topic() == Event.Notice.Topic.REVERTED, PATIENCE);
        assertThat(fx.running()).isEqualTo(base);
        List<AuditRecord> all = records(engine.asSeenByEngine(fx.demo.auditLog()));
        assertThat(all).extracting(r -> r.what() + " " + r.outcome())
                .containsExactly("apply started", "apply ok", "revert started", "revert ok");
        assertThat(all.get(2).who().via()).isEqualTo("engine");
        assertThat(all.get(3).intent()).isEqualTo(all.get(2).seq());
        assertThat(all.get(2).when()).as("the intent was written before the revert ended")
                .isLessThanOrEqualTo(all.get(3).when());
    }

    @Test
    void aFullDiskDuringBaselineOrApplyIsNoSpaceWithTheFigures() throws Exception {
        Path backups = privateDir(fx.demo.stateDir().resolve("backups"));
        EngineHarness engine = fx.startWith(b -> b.tmpfs(backups, "64k"));
        engine.fillDisk(backups);
        Event.Failure baseline = engine.fail(id -> new SystemRequest.Baseline(id, null));
        assertThat(baseline.code()).as(baseline.message()).isEqualTo(ProblemCode.NO_SPACE);
        assertThat(baseline.message()).contains("the disk is full").contains("is free on the filesystem of");
        assertThat(baseline.fix()).contains("nix-collect-garbage");
        engine.close();

        Path applyDir = privateDir(fx.demo.stateDir().resolve("apply"));
        EngineHarness second = fx.startWith(b -> b.tmpfs(applyDir, "16k"));
        second.fillDisk(applyDir);
        Event.Failure apply = second.fail(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 30));
        assertThat(apply.code()).as(apply.message()).isEqualTo(ProblemCode.NO_SPACE);
        assertThat(apply.message()).contains("the disk is full").contains("nothing was changed");
        assertThat(fx.profileLink()).isEqualTo("system-1-link");
        assertThat(fx.running()).isEqualTo(base);
    }

    @Test
    void aBuildWhoseLogCannotBeWrittenSaysSo() throws Exception {
        Path logs = privateDir(fx.demo.stateDir().resolve("logs"));
        EngineHarness engine = fx.startWith(b -> b.tmpfs(logs, "16k"));
        engine.fillDisk(logs);
        String config = fx.demo.configDir(DemoSystem.Variant.BEARSIMAC).toString();
        org.saferebuild.protocol.SandboxResult.Opened s = engine.call(id -> new org.saferebuild.protocol
                .SandboxRequest.Open(id, config, "debian-test", org.saferebuild.protocol.SandboxRequest.Network.ISOLATED),
                org.saferebuild.protocol.SandboxResult.Opened.class);
        try {
            org.saferebuild.protocol.NixResult.Built b = engine.call(id -> new org.saferebuild.protocol.NixRequest
                    .Build(id, s.sandbox(), null), org.saferebuild.protocol.NixResult.Built.class, Duration.ofMinutes(5));
            assertThat(b.logProblem()).as("the result says the log is not complete").isNotNull()
                    .contains("could not be written").contains("No space left on device")
                    .contains("holds only its first 0 bytes").contains(b.logFile());
            assertThat(Files.size(engine.asSeenByEngine(Path.of(b.logFile())))).isZero();
        } finally {
            engine.call(id -> new org.saferebuild.protocol.SandboxRequest.Close(id, s.sandbox(), true),
                    org.saferebuild.protocol.SandboxResult.Closed.class);
        }
    }

    @Test
    void aRevertNeverRemovesAGenerationThatExistedBeforeTheApply() throws Exception {
        EngineHarness engine = fx.start();
        SystemResult.Applied boot = engine.call(id -> new SystemRequest.Apply(id, update, null, Mode.BOOT, null),
                SystemResult.Applied.class);
        int n = boot.generationAfter();
        engine.call(id -> new SystemRequest.Rollback(id, 1, SystemRequest.RollbackMode.SWITCH),
                SystemResult.RolledBack.class);
        assertThat(fx.generationExists(n)).isTrue();
        // nix-env --set reuses generation n: the newest one, with the same system.
        SystemResult.Applied again = engine.call(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 60),
                SystemResult.Applied.class);
        assertThat(again.generationAfter()).isEqualTo(n);
        SystemResult.Reverted r = engine.call(id -> new SystemRequest.Revert(id), SystemResult.Reverted.class);
        assertThat(fx.generationExists(n)).as("generation %d existed before the apply", n).isTrue();
        assertThat(r.message()).contains("Generation " + n + " was there before the apply and is kept");
        assertThat(fx.profileLink()).isEqualTo("system-1-link");
    }

    @Test
    void aRollbackInterruptedByTheEngineDyingIsRecordedAndRecovered() throws Exception {
        EngineHarness first = fx.start();
        first.call(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 60), SystemResult.Applied.class);
        first.call(id -> new SystemRequest.Confirm(id), SystemResult.Confirmed.class); // generation 2 runs
        Path hold = fx.demo.root().resolve("demo-state/hold-switch");
        Files.writeString(hold, "");
        first.send(id -> new SystemRequest.Rollback(id, 1, SystemRequest.RollbackMode.SWITCH));
        DemoFixture.awaitTrue("the rollback's activation started", PATIENCE,
                () -> fx.activations().stream().filter(a -> a.equals("switch " + base)).count() == 1);
        assertThat(fx.profileLink()).isEqualTo("system-1-link");
        first.process().destroyForcibly().waitFor(); // power cut in the middle of the rollback
        Files.delete(hold);
        assertThat(fx.running()).as("the old system still runs").isEqualTo(update);

        EngineHarness next = fx.start();
        DemoFixture.awaitTrue("the next engine put it back and recorded it", PATIENCE,
                () -> fx.audit().stream().anyMatch(r -> r.what().equals("revert") && !r.outcome().equals("started")));
        assertThat(fx.profileLink()).as("back where it was before the rollback").isEqualTo("system-2-link");
        assertThat(fx.running()).isEqualTo(update);
        assertThat(fx.generationExists(1)).isTrue();
        List<AuditRecord> all = fx.auditAll();
        assertThat(all).extracting(r -> r.what() + " " + r.outcome()).contains("rollback started",
                "rollback interrupted", "revert started", "revert ok");
        AuditRecord revert = fx.audit().get(fx.audit().size() - 1);
        assertThat(revert.args().get("kind").asText()).isEqualTo("rollback");
        assertThat(revert.args().get("reason").asText()).contains("stopped during the rollback to generation 1");
        SystemResult.ApplyState status = next.call(id -> new SystemRequest.ApplyStatus(id),
                SystemResult.ApplyState.class);
        assertThat(status.awaitingConfirm()).isFalse();
    }

    @Test
    void anEngineKilledWhileItChecksTheClosureIsRecoveredFromAndSaysWhereItStopped() throws Exception {
        // What to put back is written while the closure is checked. Here the check hashes (no seal
        // is trusted) and its nix-store --verify-path never ends, so the engine dies inside it.
        Path tools = Files.createDirectories(fx.base.resolve("slow-tools"));
        Path hashing = fx.base.resolve("hashing.pid");
        Path nixStore = tools.resolve("nix-store");
        Files.writeString(nixStore, "#!/bin/sh\ncase \" $* \" in\n  *\" --verify-path \"*) echo $$ > " + hashing
                + "; exec sleep 600 ;;\nesac\nexec /usr/bin/nix-store \"$@\"\n");
        nixStore.toFile().setExecutable(true);
        List<String> toolDirs = new java.util.ArrayList<>(List.of(tools.toString()));
        toolDirs.addAll(org.saferebuild.engine.proc.Tools.DEFAULT_DIRS);
        EngineHarness first = fx.start("toolDirs", toolDirs, "closureRehashDays", 0);
        first.send(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 60));
        Path pending = fx.demo.stateDir().resolve("apply/pending.json");
        DemoFixture.awaitTrue("the engine hashes the closure, pending.json written meanwhile", PATIENCE,
                () -> Files.exists(hashing) && Files.exists(pending));
        first.process().destroyForcibly().waitFor();
        ProcessHandle.of(Long.parseLong(Files.readString(hashing).strip())).ifPresent(ProcessHandle::destroyForcibly);
        assertThat(fx.profileLink()).as("nothing was changed").isEqualTo("system-1-link");
        assertThat(fx.activations()).isEmpty();

        EngineHarness next = fx.start();
        DemoFixture.awaitTrue("the next engine put it back and recorded it", PATIENCE,
                () -> fx.audit().stream().anyMatch(r -> r.what().equals("revert") && !r.outcome().equals("started")));
        assertThat(fx.auditAll()).extracting(r -> r.what() + " " + r.outcome()).contains("apply started",
                "apply interrupted", "revert started", "revert ok");
        AuditRecord revert = fx.audit().get(fx.audit().size() - 1);
        assertThat(revert.args().get("reason").asText())
                .contains("stopped before the activation was recorded as started");
        // It cannot know that no activation began, so it activated what ran before: the same system.
        assertThat(fx.activations()).containsExactly("switch " + base);
        assertThat(fx.running()).isEqualTo(base);
        assertThat(fx.profileLink()).isEqualTo("system-1-link");
        assertThat(pending).doesNotExist();
        SystemResult.ApplyState status = next.call(id -> new SystemRequest.ApplyStatus(id),
                SystemResult.ApplyState.class);
        assertThat(status.awaitingConfirm()).isFalse();
    }

    @Test
    void aClosureWithAChangedFileInsideAMemberIsNeitherAppliedNorRolledBackTo() throws Exception {
        // A closure of this test's own (a salted member), so changing it cannot disturb anyone else.
        Path scratch = Files.createDirectories(fx.base.resolve("scratch"));
        String member = Nix.addToplevel(scratch, "member", "99.99", "6.6.6");
        String top = Nix.run(concat(List.of("/usr/bin/nix-build", "--no-out-link"), Nix.DEMO_OPTIONS, List.of("-E",
                "derivation { name = \"closure-test-top\"; system = builtins.currentSystem; builder = \"/bin/sh\";"
                        + " member = builtins.storePath \"" + member + "\"; args = [ \"-c\" \"/bin/mkdir -p $out/bin;"
                        + " echo $member > $out/member; printf '#!/bin/sh\\\\nexit 0\\\\n' >"
                        + " $out/bin/switch-to-configuration; /bin/chmod +x $out/bin/switch-to-configuration\" ]; }"))
                .toArray(String[]::new)).lines().reduce((a, b) -> b).orElseThrow();
        assertThat(Nix.run("/usr/bin/nix-store", "--query", "--requisites", top)).contains(member);
        Nix.run("/usr/bin/nix-store", "--realise", "--add-root",
                fx.demo.buildRoots().resolve(Path.of(top).getFileName()).toString(), top);
        Nix.setProfile(fx.demo.systemProfile(), top); // generation 2 has it too
        Nix.run("/usr/bin/nix-env", "-p", fx.demo.systemProfile().toString(), "--switch-generation", "1");

        Path changed = Path.of(member, "nixos-version");
        changed.toFile().setWritable(true);
        Files.writeString(changed, "99.99-tampered\n");
        try {
            EngineHarness engine = fx.start();
            for (Event.Failure f : List.of(
                    engine.fail(id -> new SystemRequest.Apply(id, top, null, Mode.SWITCH, 30)),
                    engine.fail(id -> new SystemRequest.Apply(id, null, 2, Mode.SWITCH, 30)),
                    engine.fail(id -> new SystemRequest.Rollback(id, 2, SystemRequest.RollbackMode.SWITCH)))) {
                assertThat(f.code()).as(f.message()).isEqualTo(ProblemCode.CLOSURE_INCOMPLETE);
                assertThat(f.message()).contains("1 of 2 store paths were modified").contains(member)
                        .contains("Nothing was changed");
                assertThat(f.fix()).contains("nix-store --verify --check-contents");
            }
            assertThat(fx.activations()).isEmpty();
            assertThat(fx.profileLink()).isEqualTo("system-1-link");
            // What to put back was written while the closure was checked, and removed when the check
            // refused: nothing was reverted, and an engine started later finds no apply to undo.
            assertThat(fx.demo.stateDir().resolve("apply/pending.json")).doesNotExist();
            assertThat(fx.auditAll()).extracting(r -> r.what() + " " + r.outcome())
                    .doesNotContain("revert started");
        } finally {
            Nix.run("/usr/bin/nix-env", "-p", fx.demo.systemProfile().toString(), "--delete-generations", "2");
        }
    }

    @Test
    void linksPlantedInTheStateDirectoryAreNeverWrittenThrough() throws Exception {
        Path victims = Files.createDirectories(fx.base.resolve("victims"));
        Path state = fx.demo.stateDir();
        List<String> names = List.of("baselines/latest.json", "apply/pending.json", "apply/until-reboot.json",
                "closures/" + Path.of(base).getFileName() + ".tmp", "closures/" + Path.of(base).getFileName());
        for (String n : names) {
            Path victim = Files.writeString(victims.resolve(n.replace('/', '_')), "untouched\n");
            Path at = state.resolve(n);
            privateDir(at.getParent());
            Files.createSymbolicLink(at, victim);
        }
        EngineHarness engine = fx.start();
        engine.call(id -> new SystemRequest.Baseline(id, null), SystemResult.Baseline.class);
        engine.call(id -> new org.saferebuild.protocol.InspectRequest.Inspect(id,
                new org.saferebuild.protocol.SystemRef.Generation(1)),
                org.saferebuild.protocol.InspectResult.Inspection.class);
        engine.call(id -> new SystemRequest.Apply(id, update, null, Mode.BOOT, null), SystemResult.Applied.class);
        for (String n : names) {
            assertThat(victims.resolve(n.replace('/', '_'))).as(n).hasContent("untouched");
        }
        assertThat(Files.isSymbolicLink(state.resolve("baselines/latest.json"))).as("replaced, not followed").isFalse();

        // A link where the apply lock belongs: refused as planted, nothing activated.
        Path lockVictim = Files.writeString(victims.resolve("lock"), "untouched\n");
        Files.delete(state.resolve("locks/apply.lock"));
        Files.createSymbolicLink(state.resolve("locks/apply.lock"), lockVictim);
        int activations = fx.activations().size();
        Event.Failure lock = engine.fail(id -> new SystemRequest.Rollback(id, 1, SystemRequest.RollbackMode.BOOT));
        assertThat(lock.code()).as(lock.message()).isEqualTo(ProblemCode.NOT_AUTHORIZED);
        assertThat(lock.message()).contains("apply.lock");
        assertThat(fx.activations()).hasSize(activations);
        assertThat(lockVictim).hasContent("untouched");

        // A link at the audit trail's head: the trail cannot be written, so nothing is done.
        Path headVictim = Files.writeString(victims.resolve("head"), "untouched\n");
        Files.delete(org.saferebuild.engine.audit.AuditLog.headFile(state, fx.demo.auditLog()));
        Files.createSymbolicLink(org.saferebuild.engine.audit.AuditLog.headFile(state, fx.demo.auditLog()), headVictim);
        Event.Failure pin = engine.fail(id -> new SystemRequest.Pin(id, 1));
        assertThat(pin.code()).as(pin.message()).isEqualTo(ProblemCode.AUDIT_BROKEN);
        assertThat(pin.message()).contains("is a link");
        assertThat(headVictim).hasContent("untouched");
        assertThat(state.resolve("gcroots/pinned/generation-1")).doesNotExist();
    }

    private static List<String> concat(List<String> a, List<String> b, List<String> c) {
        List<String> out = new java.util.ArrayList<>(a);
        out.addAll(b);
        out.addAll(c);
        return out;
    }

    private static List<AuditRecord> records(Path file) throws Exception {
        List<AuditRecord> out = new java.util.ArrayList<>();
        for (String l : Files.readAllLines(file)) {
            out.add(org.saferebuild.protocol.Json.decode(l, AuditRecord.class));
        }
        return out;
    }
}
