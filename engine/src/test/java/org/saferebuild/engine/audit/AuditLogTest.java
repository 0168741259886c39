package org.saferebuild.engine.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.SystemResult;

/**
 * The audit trail's file format: the hash chain, the keyed MAC and the head, what verify says about
 * each kind of tampering, and what an append does after a crash or a break.
 */
class AuditLogTest {
    private static final AuditRecord.Who BEAR = new AuditRecord.Who(1000, "bear", "pkexec");

    @TempDir
    Path dir;

    private AuditLog log() {
        return new AuditLog(dir.resolve("log/audit.jsonl"), dir.resolve("state"));
    }

    private static AuditLog.Entry entry(String what, int before, int after) {
        return new AuditLog.Entry(BEAR, what, Json.mapper().createObjectNode().put("mode", "SWITCH"), before, after,
                "ok", null, what + " done");
    }

    private Path file() {
        return dir.resolve("log/audit.jsonl");
    }

    private List<String> lines() throws Exception {
        return Files.readAllLines(file());
    }

    private void rewrite(List<String> lines) throws Exception {
        Files.write(file(), lines);
    }

    @Test
    void eachLineCarriesTheHashOfTheOneBeforeAndAKeyedMac() throws Exception {
        AuditLog log = log();
        AuditLog.Appended a = log.append(entry("baseline", 1, 1));
        AuditLog.Appended b = log.append(entry("apply", 1, 2));
        AuditLog.Appended c = log.append(entry("confirm", 2, 2));
        assertThat(List.of(a.line(), b.line(), c.line())).containsExactly(1L, 2L, 3L);

        List<String> lines = lines();
        assertThat(lines).hasSize(3);
        AuditRecord first = Json.decode(lines.get(0), AuditRecord.class);
        AuditRecord second = Json.decode(lines.get(1), AuditRecord.class);
        AuditRecord third = Json.decode(lines.get(2), AuditRecord.class);
        assertThat(first.prev()).isEqualTo(AuditRecord.GENESIS);
        assertThat(second.prev()).isEqualTo(AuditLog.sha256(lines.get(0))).isEqualTo(a.sha256());
        assertThat(third.prev()).isEqualTo(AuditLog.sha256(lines.get(1)));
        assertThat(second.who()).isEqualTo(BEAR);
        assertThat(second.what()).isEqualTo("apply");
        assertThat(second.generationBefore()).isEqualTo(1);
        assertThat(second.generationAfter()).isEqualTo(2);
        assertThat(second.outcome()).isEqualTo("ok");
        assertThat(second.args().get("mode").asText()).isEqualTo("SWITCH");
        assertThat(second.mac()).matches("[0-9a-f]{64}");
        assertThat(lines.get(1)).endsWith(",\"mac\":\"" + second.mac() + "\"}");
        assertThat(second.engine()).startsWith(ProcessHandle.current().pid() + "@");

        SystemResult.AuditVerdict v = log.verify();
        assertThat(v.intact()).isTrue();
        assertThat(v.needsAcknowledgement()).isFalse();
        assertThat(v.lines()).isEqualTo(3);
        assertThat(v.lastSha256()).isEqualTo(c.sha256());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file()))).isEqualTo("rw-r-----");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("state").resolve(AuditLog.headFile(dir.resolve("state"), file()).getFileName().toString().replace(".head", ".key")))))
                .isEqualTo("rw-------");
    }

    @Test
    void aChangedMiddleLineIsNamedByItsMac() throws Exception {
        AuditLog log = log();
        for (int i = 1; i <= 5; i++) {
            log.append(entry("apply", i, i + 1));
        }
        List<String> lines = new ArrayList<>(lines());
        lines.set(2, lines.get(2).replace("\"outcome\":\"ok\"", "\"outcome\":\"failed\""));
        rewrite(lines);

        SystemResult.AuditVerdict v = log.verify();
        assertThat(v.intact()).isFalse();
        assertThat(v.needsAcknowledgement()).isTrue();
        assertThat(v.firstBadLine()).isEqualTo(3);
        assertThat(v.reason()).contains("line 3 does not carry this engine's MAC");
    }

    @Test
    void forgedLinesWithTheRightNumberAndPrevAreFound() throws Exception {
        AuditLog log = log();
        log.append(entry("baseline", 1, 1));
        log.append(entry("apply", 1, 2));
        // The forger knows the format and the chain, not the key: two lines that chain correctly.
        List<String> lines = new ArrayList<>(lines());
        String prev = AuditLog.sha256(lines.get(1));
        for (int seq = 3; seq <= 4; seq++) {
            AuditRecord forged = new AuditRecord(seq, "2026-01-01T00:00:00Z", BEAR, "confirm",
                    Json.mapper().createObjectNode(), 2, 2, "ok", null, "confirmed", null, "1@x", prev, null);
            String text = AuditLog.sign(Json.encode(forged), "a wrong key of thirty-two bytes!".getBytes(StandardCharsets.UTF_8));
            lines.add(text);
            prev = AuditLog.sha256(text);
        }
        rewrite(lines);
        SystemResult.AuditVerdict v = log.verify();
        assertThat(v.intact()).isFalse();
        assertThat(v.firstBadLine()).isEqualTo(3);
        assertThat(v.reason()).contains("line 3 does not carry this engine's MAC");
        // And appending after them is refused: the end of the trail is not what the head recorded.
        assertThatThrownBy(() -> log.append(entry("pin", 2, 2))).isInstanceOf(AuditLog.Broken.class);
    }

    @Test
    void removedLinesAreFoundAlsoAfterTheNextAppend() throws Exception {
        AuditLog log = log();
        for (int i = 1; i <= 4; i++) {
            log.append(entry("apply", i, i + 1));
        }
        List<String> lines = new ArrayList<>(lines());
        lines.remove(1);
        rewrite(lines);
        SystemResult.AuditVerdict middle = log.verify();
        assertThat(middle.intact()).isFalse();
        assertThat(middle.firstBadLine()).isEqualTo(2);
        assertThat(middle.reason()).contains("line 2 was removed before it");

        rewrite(List.of(lines.get(0)));
        SystemResult.AuditVerdict truncated = log.verify();
        assertThat(truncated.intact()).isFalse();
        assertThat(truncated.firstBadLine()).isEqualTo(2);
        assertThat(truncated.reason()).contains("records 2 to 4 were removed");

        // The next privileged action does not paper over it: it is refused, and the break stays.
        assertThatThrownBy(() -> log.append(entry("pin", 2, 2))).isInstanceOf(AuditLog.Broken.class)
                .hasMessageContaining("records were removed from its end");
        assertThat(lines()).hasSize(1);
        // Even the engine's own recovery record, which must be written, keeps the gap visible:
        // numbers continue after the highest ever written.
        AuditLog.Appended own = log.appendAfterBreak(entry("revert", 2, 1));
        assertThat(own.line()).isEqualTo(5);
        SystemResult.AuditVerdict after = log.verify();
        assertThat(after.needsAcknowledgement()).isTrue();
        assertThat(after.firstBadLine()).isEqualTo(2);
        assertThat(after.reason()).contains("lines 2 to 4 were removed before it");
    }

    /**
     * An append compares the end of the trail and the head with the bytes this engine wrote last
     * instead of parsing them again; any change between two appends of one engine still stops the
     * second: the last line edited in place (same length), its line start joined to the line before,
     * the head's slots edited.
     */
    @Test
    void anEditBetweenTwoAppendsOfOneEngineIsFoundByTheSecond() throws Exception {
        List<String> tamperings = List.of("last line", "line start", "head");
        for (String how : tamperings) {
            Path d = Files.createDirectories(dir.resolve(how.replace(' ', '-')));
            Path trail = d.resolve("log/audit.jsonl");
            AuditLog log = new AuditLog(trail, d.resolve("state"));
            for (int i = 1; i <= 3; i++) {
                log.append(entry("apply", i, i + 1));
            }
            byte[] bytes = Files.readAllBytes(trail);
            String text = new String(bytes, StandardCharsets.UTF_8);
            switch (how) {
                case "last line" -> text = text.substring(0, text.lastIndexOf("apply done")) + "apply DONE"
                        + text.substring(text.lastIndexOf("apply done") + "apply done".length());
                case "line start" -> {
                    int lastStart = text.lastIndexOf('\n', text.length() - 2);
                    text = text.substring(0, lastStart) + " " + text.substring(lastStart + 1);
                }
                default -> {
                    Path head = AuditLog.headFile(d.resolve("state"), trail);
                    byte[] h = Files.readAllBytes(head);
                    // Both slots: one slot without its MAC alone is what a power cut can leave (the head is not synced).
                    String slots = new String(h, StandardCharsets.UTF_8).replace("\"lines\":3", "\"lines\":4")
                            .replace("\"lines\":2", "\"lines\":5");
                    Files.write(head, slots.getBytes(StandardCharsets.UTF_8));
                }
            }
            assertThat(text.length()).as(how).isEqualTo(bytes.length);
            Files.writeString(trail, text);
            assertThatThrownBy(() -> log.append(entry("pin", 4, 4))).as(how).isInstanceOf(AuditLog.Broken.class);
            assertThat(Files.readString(trail)).as(how + ": nothing appended").isEqualTo(text);
        }
    }

    @Test
    void aDeletedTrailIsNotEmptyButRemoved() throws Exception {
        AuditLog log = log();
        log.append(entry("apply", 1, 2));
        log.append(entry("confirm", 2, 2));
        Files.delete(file());
        SystemResult.AuditVerdict v = log.verify();
        assertThat(v.intact()).isFalse();
        assertThat(v.reason()).contains("was removed: its head records 2 lines");
        assertThatThrownBy(() -> log.append(entry("pin", 2, 2))).isInstanceOf(AuditLog.Broken.class);
        assertThat(file()).doesNotExist();

        // The head removed as well: the key still shows that records were written.
        Files.delete(AuditLog.headFile(dir.resolve("state"), file()));
        SystemResult.AuditVerdict both = log.verify();
        assertThat(both.intact()).isFalse();
        assertThat(both.reason()).contains("the trail was removed");
    }

    @Test
    void withoutAHeadTheTrailNeedsAnAcknowledgement() throws Exception {
        AuditLog log = log();
        log.append(entry("apply", 1, 2));
        Files.delete(AuditLog.headFile(dir.resolve("state"), file()));
        SystemResult.AuditVerdict v = log.verify();
        assertThat(v.intact()).isFalse();
        assertThat(v.needsAcknowledgement()).isTrue();
        assertThat(v.reason()).contains("no head record");
        assertThat(new String(Files.readAllBytes(file()), StandardCharsets.UTF_8)).endsWith("\n");
    }

    @Test
    void anAcknowledgementCoversTheBreakAsItWasSeenAndNoLaterOne() throws Exception {
        AuditLog log = log();
        for (int i = 1; i <= 4; i++) {
            log.append(entry("apply", i, i + 1));
        }
        List<String> lines = new ArrayList<>(lines());
        lines.set(1, lines.get(1).replace("bear", "mallory"));
        rewrite(lines);
        assertThat(log.verify().needsAcknowledgement()).isTrue();

        AuditLog.Appended ack = log.acknowledge(BEAR, "line 2 was edited by a restore from backup", 5);
        assertThat(ack.line()).isEqualTo(5);
        assertThat(ack.record().what()).isEqualTo(AuditRecord.ACKNOWLEDGE);
        assertThat(ack.record().args().get("brokenAt").asLong()).isEqualTo(2);
        assertThat(ack.record().args().get("note").asText()).contains("restore from backup");
        SystemResult.AuditVerdict after = log.verify();
        assertThat(after.intact()).as("a break stays in the trail").isFalse();
        assertThat(after.needsAcknowledgement()).isFalse();
        assertThat(after.acknowledgedAt()).isEqualTo(5);
        assertThat(after.reason()).contains("line 2").contains("acknowledged at line 5");
        log.append(entry("pin", 5, 5));
        assertThat(log.verify().needsAcknowledgement()).isFalse();

        // Changing a line before the acknowledgement afterwards is a new break: the acknowledgement
        // covered the bytes as they were.
        lines = new ArrayList<>(lines());
        lines.set(0, lines.get(0).replace("baseline", "nothing"));
        lines.set(0, lines.get(0).replace("\"mode\":\"SWITCH\"", "\"mode\":\"BOOT\""));
        rewrite(lines);
        SystemResult.AuditVerdict again = log.verify();
        assertThat(again.needsAcknowledgement()).isTrue();
        assertThat(again.firstBadLine()).isEqualTo(1);
    }

    @Test
    void aRecordCutShortByACrashIsRemovedByTheNextAppend() throws Exception {
        AuditLog log = log();
        log.append(entry("apply", 1, 2));
        String full = lines().get(0);
        // A power cut mid-write: half a record, no newline, and the head never moved.
        Files.writeString(file(), "{\"seq\":2,\"when\":\"20", StandardOpenOption.APPEND);
        SystemResult.AuditVerdict crashed = log.verify();
        assertThat(crashed.intact()).as(crashed.reason()).isTrue();
        AuditLog.Appended next = log.append(entry("revert", 2, 1));
        assertThat(next.line()).isEqualTo(2);
        List<String> lines = lines();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).isEqualTo(full);
        assertThat(Json.decode(lines.get(1), AuditRecord.class).prev()).isEqualTo(AuditLog.sha256(full));
        assertThat(log.verify().intact()).isTrue();
    }

    @Test
    void aRecordWrittenJustBeforeTheEngineStoppedIsKept() throws Exception {
        AuditLog log = log();
        log.append(entry("apply", 1, 2));
        byte[] headAfterOne = Files.readAllBytes(AuditLog.headFile(dir.resolve("state"), file()));
        log.append(entry("confirm", 2, 2));
        log.append(entry("pin", 2, 2));
        // A power cut after records 2 and 3 were synced, before the head (written, not synced) reached the disk.
        Files.write(AuditLog.headFile(dir.resolve("state"), file()), headAfterOne);
        assertThat(log.verify().intact()).isTrue();
        assertThat(log.append(entry("unpin", 2, 2)).line()).isEqualTo(4);
        assertThat(log.verify().intact()).isTrue();
        // But a record beyond the head that is not ours is a break.
        Files.write(AuditLog.headFile(dir.resolve("state"), file()), headAfterOne);
        List<String> lines = new ArrayList<>(lines());
        lines.set(3, lines.get(3).replace("unpin", "unpun"));
        rewrite(lines);
        assertThat(log.verify().needsAcknowledgement()).isTrue();
    }

    @Test
    void concurrentWritersNeverBreakTheChain() throws Exception {
        AuditLog one = log();
        AuditLog two = log(); // a second instance on the same file: appends are still serialised
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> done = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            AuditLog l = i % 2 == 0 ? one : two;
            int n = i;
            done.add(pool.submit(() -> l.append(entry("pin", n, n))));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        SystemResult.AuditVerdict v = one.verify();
        assertThat(v.intact()).as(v.reason()).isTrue();
        assertThat(v.lines()).isEqualTo(40);
        assertThat(lines()).extracting(l -> Json.decode(l, AuditRecord.class).seq())
                .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, 40).boxed().toList());
    }

    @Test
    void aLinkAtTheTrailOrItsHeadIsNeverWrittenThrough() throws Exception {
        Path victim = Files.writeString(Files.createDirectories(dir.resolve("victim")).resolve("shadow"), "secret\n");
        Files.createDirectories(dir.resolve("log"));
        Files.createSymbolicLink(file(), victim);
        assertThatThrownBy(() -> log().append(entry("pin", 1, 1))).hasMessageContaining("is a link");
        Files.delete(file());
        Files.createDirectories(dir.resolve("state"));
        Files.createSymbolicLink(AuditLog.headFile(dir.resolve("state"), file()), victim);
        assertThatThrownBy(() -> log().append(entry("pin", 1, 1))).hasMessageContaining("is a link");
        assertThat(victim).hasContent("secret");
    }
}
