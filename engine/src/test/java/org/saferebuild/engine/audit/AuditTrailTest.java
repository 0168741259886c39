package org.saferebuild.engine.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * The audit trail through the real engine: the dispatcher records privileged operations with the
 * operator from the handshake, the sign-off is recorded with its answers, audit.verify finds an
 * edited line, and an action that could not be recorded is not done.
 */
@Tag("root")
class AuditTrailTest {

    /** A configuration directory (a classic configuration.nix) in {@code base}. */
    private static Path config(Path base) throws Exception {
        Path config = Files.createDirectories(base.resolve("config"));
        Files.writeString(config.resolve("configuration.nix"), "{ }\n");
        return config;
    }

    /** An engine as root started it through sudo, allowed {@code config}. */
    private static EngineHarness.Builder engine(Path base, Path config) {
        return EngineHarness.builder().base(base).env("SUDO_UID", "0").set("configDirs", List.of(config.toString()));
    }

    private static List<AuditRecord> records(Path file) throws Exception {
        List<AuditRecord> out = new ArrayList<>();
        for (String l : Files.readAllLines(file)) {
            out.add(Json.decode(l, AuditRecord.class));
        }
        return out;
    }

    @Test
    void privilegedOperationsAndTheSignoffAreRecordedAndTheChainVerifies() throws Exception {
        Path base = EngineHarness.privateBase();
        Path config = config(base);
        Path auditLog = base.resolve("audit/audit.jsonl");
        try (EngineHarness engine = engine(base, config).start()) {
            engine.handshake();
            SandboxResult.Opened s = engine.call(id -> new SandboxRequest.Open(id, config.toString(), "debian-test",
                    SandboxRequest.Network.ISOLATED), SandboxResult.Opened.class);
            engine.call(id -> new SandboxRequest.Mounts(id, s.sandbox()), SandboxResult.MountTree.class);
            engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), false), SandboxResult.Closed.class);
            SystemResult.SignedOff signed = engine.call(id -> new SystemRequest.Signoff(id, "Bear Operator", List.of(
                    new SystemRequest.Answer("Configuration builds successfully in isolated environment", true,
                            "build of /nix/store/…-nixos-system-BearsiMac succeeded in sb-1"),
                    new SystemRequest.Answer("Off-hours or maintenance window if possible", false, null))),
                    SystemResult.SignedOff.class);
            assertThat(signed.line()).isEqualTo(5);
            assertThat(signed.osUser()).isEqualTo("root (uid 0, via sudo)");
            assertThat(signed.message()).contains("\"Bear Operator\"").contains("1 of 2 items checked");

            List<AuditRecord> lines = records(auditLog);
            // sandbox.mounts only reads: it is not recorded. Each action: its intent, then its outcome.
            assertThat(lines).extracting(AuditRecord::what).containsExactly("sandbox.open", "sandbox.open",
                    "sandbox.close", "sandbox.close", "signoff");
            assertThat(lines).extracting(AuditRecord::outcome).containsExactly("started", "ok", "started", "ok", "ok");
            assertThat(lines.get(1).intent()).isEqualTo(1);
            assertThat(lines.get(3).intent()).isEqualTo(3);
            assertThat(lines).allSatisfy(r -> assertThat(r.who()).isEqualTo(new AuditRecord.Who(0, "root", "sudo")));
            assertThat(lines.get(0).args().get("configDir").asText()).isEqualTo(config.toString());
            assertThat(lines.get(1).outcome()).isEqualTo("ok");
            assertThat(lines.get(2).args().get("sandbox").asText()).isEqualTo(s.sandbox());
            AuditRecord signoff = lines.get(4);
            assertThat(signoff.args().get("operatorName").asText()).isEqualTo("Bear Operator");
            assertThat(signoff.args().get("answers").get(0).get("evidence").asText()).contains("succeeded in sb-1");
            assertThat(signoff.args().get("answers").get(1).get("checked").asBoolean()).isFalse();
            assertThat(AuditLog.sha256(Files.readAllLines(auditLog).get(4))).isEqualTo(signed.sha256());

            SystemResult.AuditLines read = engine.call(id -> new SystemRequest.AuditRead(id, 4, 10),
                    SystemResult.AuditLines.class);
            assertThat(read.total()).isEqualTo(5);
            assertThat(read.lines()).extracting(SystemResult.AuditLine::number).containsExactly(4L, 5L);
            assertThat(read.lines().get(1).text()).isEqualTo(Files.readAllLines(auditLog).get(4));

            SystemResult.AuditVerdict ok = engine.call(id -> new SystemRequest.AuditVerify(id),
                    SystemResult.AuditVerdict.class);
            assertThat(ok.intact()).isTrue();
            assertThat(ok.lines()).isEqualTo(5);
            assertThat(ok.lastSha256()).isEqualTo(signed.sha256());

            // Someone edits the first line (hides that the sandbox was opened by root).
            List<String> text = new ArrayList<>(Files.readAllLines(auditLog));
            text.set(0, text.get(0).replace("\"uid\":0", "\"uid\":1000"));
            Files.write(auditLog, text);
            SystemResult.AuditVerdict broken = engine.call(id -> new SystemRequest.AuditVerify(id),
                    SystemResult.AuditVerdict.class);
            assertThat(broken.intact()).isFalse();
            assertThat(broken.firstBadLine()).isEqualTo(1);
            assertThat(broken.reason()).contains("line 1 does not carry this engine's MAC");
            assertThat(broken.needsAcknowledgement()).isTrue();
        }
    }

    @Test
    void anActionThatCannotBeRecordedIsNotDone() throws Exception {
        Path base = EngineHarness.privateBase();
        Path config = Files.createDirectories(base.resolve("config"));
        try (EngineHarness engine = EngineHarness.builder().base(base)
                .set("configDirs", List.of(config.toString())).start()) {
            engine.handshake();
            // A file is where the log's directory should be (a full or broken disk looks the same to
            // the engine: the line cannot be written).
            Path dir = base.resolve("audit");
            assertThat(dir).as("an engine start alone creates no audit directory").doesNotExist();
            Files.writeString(dir, "not a directory\n");
            Event.Failure f = engine.fail(id -> new SandboxRequest.Open(id, config.toString(), "debian-test",
                    SandboxRequest.Network.ISOLATED));
            assertThat(f.code()).isEqualTo(ProblemCode.AUDIT_BROKEN);
            assertThat(f.message()).contains("cannot be written").contains("Nothing was done");
            assertThat(f.fix()).contains("To fix this");
            try (var sandboxes = Files.list(engine.stateDir().resolve("sandboxes"))) {
                assertThat(sandboxes.filter(p -> p.getFileName().toString().startsWith("sb-"))).isEmpty();
            } catch (java.nio.file.NoSuchFileException e) {
                // no sandbox directory at all: nothing was opened either
            }
            Event.Failure signoff = engine.fail(id -> new SystemRequest.Signoff(id, "Bear",
                    List.of(new SystemRequest.Answer("Backup of current configuration exists", true, "bl-1"))));
            assertThat(signoff.code()).isEqualTo(ProblemCode.AUDIT_BROKEN);
        }
    }

    @Test
    void onAFullDiskAnActionIsRefusedAndTheTrailStaysAsItWas() throws Exception {
        Path base = EngineHarness.privateBase();
        Path config = config(base);
        Path auditDir = base.resolve("audit");
        try (EngineHarness engine = engine(base, config).tmpfs(auditDir, "512k").start()) {
            engine.handshake();
            SandboxResult.Opened s = engine.call(id -> new SandboxRequest.Open(id, config.toString(), "debian-test",
                    SandboxRequest.Network.ISOLATED), SandboxResult.Opened.class);
            engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), false), SandboxResult.Closed.class);
            Path trail = engine.asSeenByEngine(auditDir.resolve("audit.jsonl"));

            // Fill the engine's small disk. What the engine reserved beyond the last record (64 KiB,
            // for the outcome that must follow an intent) stays reserved; a new record needs more.
            engine.fillDisk(auditDir);

            // A 6 KB sign-off does not fit: refused, and the file is not grown by a fragment.
            byte[] before = Files.readAllBytes(trail);
            Event.Failure signoff = engine.fail(id -> new SystemRequest.Signoff(id, "Bear", List.of(
                    new SystemRequest.Answer("Backup of current configuration exists", true, "e".repeat(6000)))));
            assertThat(signoff.code()).isEqualTo(ProblemCode.NO_SPACE);
            assertThat(signoff.message()).contains("cannot be written").contains("the disk is full")
                    .contains("is free on the filesystem of").contains("Nothing was done");
            assertThat(signoff.fix()).contains("nix-collect-garbage");
            assertThat(Files.readAllBytes(trail)).as("the trail is byte for byte as it was").isEqualTo(before);

            // Small actions go on while the reserve holds whole pages for them; then they are refused
            // before anything is done, and every action that ran has both of its records.
            Event.Failure open = null;
            for (int round = 0; round < 64 && open == null; round++) {
                before = Files.readAllBytes(trail);
                var call = engine.send(id -> new SandboxRequest.Open(id, config.toString(), "debian-test",
                        SandboxRequest.Network.ISOLATED));
                SandboxResult.Opened o;
                try {
                    o = call.result(SandboxResult.Opened.class, java.time.Duration.ofMinutes(1));
                } catch (org.saferebuild.protocol.EngineConnection.EngineFailure f) {
                    open = f.failure();
                    continue;
                }
                // Closing ends an action that was recorded: it uses that action's reserve, never refused.
                engine.call(id -> new SandboxRequest.Close(id, o.sandbox(), true), SandboxResult.Closed.class);
            }
            assertThat(open).as("an action is refused once its record does not fit").isNotNull();
            assertThat(open.code()).isEqualTo(ProblemCode.NO_SPACE);
            assertThat(Files.readAllBytes(trail)).as("the refused action left no record").isEqualTo(before);
            try (var sandboxes = Files.list(engine.stateDir().resolve("sandboxes"))) {
                assertThat(sandboxes.filter(p -> p.getFileName().toString().startsWith("sb-")))
                        .as("no sandbox is open").isEmpty();
            }
            List<AuditRecord> recs = records(trail);
            assertThat(recs.stream().filter(r -> r.outcome().equals("started")).count())
                    .as("every intent has its outcome: %s", Files.readAllLines(trail)).isEqualTo(recs.stream().filter(r -> r.intent() != null).count());
            SystemResult.AuditVerdict v = engine.call(id -> new SystemRequest.AuditVerify(id),
                    SystemResult.AuditVerdict.class);
            assertThat(v.intact()).as(v.reason()).isTrue();

            // Space freed: actions are recorded and done again.
            Files.delete(engine.filler(auditDir));
            SandboxResult.Opened again = engine.call(id -> new SandboxRequest.Open(id, config.toString(),
                    "debian-test", SandboxRequest.Network.ISOLATED), SandboxResult.Opened.class);
            engine.call(id -> new SandboxRequest.Close(id, again.sandbox(), false), SandboxResult.Closed.class);
            SystemResult.AuditVerdict after = engine.call(id -> new SystemRequest.AuditVerify(id),
                    SystemResult.AuditVerdict.class);
            assertThat(after.intact()).isTrue();
            assertThat(after.lines()).isEqualTo(recs.size() + 4);
        }
    }

    @Test
    void aTrailBrokenBeforeTheEngineStartsIsInTheHandshakeAndActionsWaitForAnAcknowledgement() throws Exception {
        Path base = EngineHarness.privateBase();
        Path config = config(base);
        Path auditLog = base.resolve("audit/audit.jsonl");
        try (EngineHarness engine = engine(base, config).start()) {
            Event.Welcome w = engine.handshake();
            assertThat(w.auditTrail().intact()).isTrue();
            SandboxResult.Opened s = engine.call(id -> new SandboxRequest.Open(id, config.toString(), "debian-test",
                    SandboxRequest.Network.ISOLATED), SandboxResult.Opened.class);
            engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), false), SandboxResult.Closed.class);
        }
        // Between two engines, someone removes the record that the sandbox was closed.
        List<String> text = new ArrayList<>(Files.readAllLines(auditLog));
        Files.write(auditLog, text.subList(0, 3));

        try (EngineHarness engine = engine(base, config).start()) {
            Event.Welcome w = engine.handshake();
            assertThat(w.auditTrail().intact()).isFalse();
            assertThat(w.auditTrail().needsAcknowledgement()).isTrue();
            assertThat(w.auditTrail().reason()).contains("record 4 was removed");

            Event.Failure refused = engine.fail(id -> new SandboxRequest.Open(id, config.toString(), "debian-test",
                    SandboxRequest.Network.ISOLATED));
            assertThat(refused.code()).isEqualTo(ProblemCode.AUDIT_BROKEN);
            assertThat(refused.message()).contains("is broken at line 4").contains("nothing was done");
            assertThat(refused.fix()).contains("acknowledge");
            assertThat(engine.fail(id -> new SystemRequest.Signoff(id, "Bear", List.of(new SystemRequest.Answer(
                    "Backup of current configuration exists", true, "bl-1")))).code()).isEqualTo(ProblemCode.AUDIT_BROKEN);
            assertThat(Files.readAllLines(auditLog)).hasSize(3);

            SystemResult.Acknowledged ack = engine.call(id -> new SystemRequest.AuditAcknowledge(id,
                    "Line 4 was lost when /var/log was restored from last night's backup."),
                    SystemResult.Acknowledged.class);
            assertThat(ack.line()).as("the fourth line of the file").isEqualTo(4);
            assertThat(ack.brokenAt()).isEqualTo(4);
            AuditRecord recorded = records(auditLog).get(3);
            assertThat(recorded.what()).isEqualTo("audit.acknowledge");
            assertThat(recorded.seq()).as("numbers are never reused").isEqualTo(5);
            assertThat(recorded.who()).isEqualTo(new AuditRecord.Who(0, "root", "sudo"));
            assertThat(recorded.args().get("note").asText()).contains("restored from last night's backup");

            SystemResult.AuditVerdict v = engine.call(id -> new SystemRequest.AuditVerify(id),
                    SystemResult.AuditVerdict.class);
            assertThat(v.intact()).isFalse();
            assertThat(v.needsAcknowledgement()).isFalse();
            assertThat(v.acknowledgedAt()).isEqualTo(4);
            SandboxResult.Opened s = engine.call(id -> new SandboxRequest.Open(id, config.toString(), "debian-test",
                    SandboxRequest.Network.ISOLATED), SandboxResult.Opened.class);
            engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), false), SandboxResult.Closed.class);
            assertThat(engine.fail(id -> new SystemRequest.AuditAcknowledge(id, "again")).code())
                    .isEqualTo(ProblemCode.INVALID_ARGUMENT);
        }
        // The next engine starts on an acknowledged trail: nothing to acknowledge, actions allowed.
        try (EngineHarness engine = engine(base, config).start()) {
            Event.Welcome w = engine.handshake();
            assertThat(w.auditTrail().needsAcknowledgement()).isFalse();
            assertThat(w.auditTrail().acknowledgedAt()).isEqualTo(4);
        }
    }
}
