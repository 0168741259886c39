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
        Path config = Files.createDirectories(base.resolve("config"));
        Files.writeString(config.resolve("configuration.nix"), "{ }\n");
        Path auditLog = base.resolve("audit/audit.jsonl");
        try (EngineHarness engine = EngineHarness.builder().base(base).env("SUDO_UID", "0")
                .set("configDirs", List.of(config.toString())).start()) {
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
            assertThat(signed.line()).isEqualTo(3);
            assertThat(signed.osUser()).isEqualTo("root (uid 0, via sudo)");
            assertThat(signed.message()).contains("\"Bear Operator\"").contains("1 of 2 items checked");

            List<AuditRecord> lines = records(auditLog);
            // sandbox.mounts only reads: it is not recorded.
            assertThat(lines).extracting(AuditRecord::what).containsExactly("sandbox.open", "sandbox.close", "signoff");
            assertThat(lines).allSatisfy(r -> assertThat(r.who()).isEqualTo(new AuditRecord.Who(0, "root", "sudo")));
            assertThat(lines.get(0).args().get("configDir").asText()).isEqualTo(config.toString());
            assertThat(lines.get(0).outcome()).isEqualTo("ok");
            assertThat(lines.get(1).args().get("sandbox").asText()).isEqualTo(s.sandbox());
            AuditRecord signoff = lines.get(2);
            assertThat(signoff.args().get("operatorName").asText()).isEqualTo("Bear Operator");
            assertThat(signoff.args().get("answers").get(0).get("evidence").asText()).contains("succeeded in sb-1");
            assertThat(signoff.args().get("answers").get(1).get("checked").asBoolean()).isFalse();
            assertThat(AuditLog.sha256(Files.readAllLines(auditLog).get(2))).isEqualTo(signed.sha256());

            SystemResult.AuditLines read = engine.call(id -> new SystemRequest.AuditRead(id, 2, 10),
                    SystemResult.AuditLines.class);
            assertThat(read.total()).isEqualTo(3);
            assertThat(read.lines()).extracting(SystemResult.AuditLine::number).containsExactly(2L, 3L);
            assertThat(read.lines().get(1).text()).isEqualTo(Files.readAllLines(auditLog).get(2));

            SystemResult.AuditVerdict ok = engine.call(id -> new SystemRequest.AuditVerify(id),
                    SystemResult.AuditVerdict.class);
            assertThat(ok.intact()).isTrue();
            assertThat(ok.lines()).isEqualTo(3);
            assertThat(ok.lastSha256()).isEqualTo(signed.sha256());

            // Someone edits the first line (hides that the sandbox was opened by root).
            List<String> text = new ArrayList<>(Files.readAllLines(auditLog));
            text.set(0, text.get(0).replace("\"uid\":0", "\"uid\":1000"));
            Files.write(auditLog, text);
            SystemResult.AuditVerdict broken = engine.call(id -> new SystemRequest.AuditVerify(id),
                    SystemResult.AuditVerdict.class);
            assertThat(broken.intact()).isFalse();
            assertThat(broken.firstBadLine()).isEqualTo(1);
            assertThat(broken.reason()).contains("line 1 no longer hashes");
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
}
