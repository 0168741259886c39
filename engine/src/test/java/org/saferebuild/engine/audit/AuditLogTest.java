package org.saferebuild.engine.audit;

import static org.assertj.core.api.Assertions.assertThat;

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

/** The audit trail's file format: the hash chain, and what verify says about each kind of tampering. */
class AuditLogTest {
    private static final AuditRecord.Who BEAR = new AuditRecord.Who(1000, "bear", "pkexec");

    @TempDir
    Path dir;

    private AuditLog log() {
        return new AuditLog(dir.resolve("log/audit.jsonl"), dir.resolve("state/audit-head.json"));
    }

    private static AuditLog.Entry entry(String what, int before, int after) {
        return new AuditLog.Entry(BEAR, what, Json.mapper().createObjectNode().put("mode", "SWITCH"), before, after,
                "ok", null, what + " done");
    }

    private List<String> lines() throws Exception {
        return Files.readAllLines(dir.resolve("log/audit.jsonl"));
    }

    private void rewrite(List<String> lines) throws Exception {
        Files.write(dir.resolve("log/audit.jsonl"), lines);
    }

    @Test
    void eachLineCarriesTheHashOfTheOneBefore() throws Exception {
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

        SystemResult.AuditVerdict v = log.verify();
        assertThat(v.intact()).isTrue();
        assertThat(v.lines()).isEqualTo(3);
        assertThat(v.lastSha256()).isEqualTo(c.sha256());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("log/audit.jsonl"))))
                .isEqualTo("rw-r-----");
    }

    @Test
    void aChangedMiddleLineIsNamed() throws Exception {
        AuditLog log = log();
        for (int i = 1; i <= 5; i++) {
            log.append(entry("apply", i, i + 1));
        }
        List<String> lines = new ArrayList<>(lines());
        lines.set(2, lines.get(2).replace("\"outcome\":\"ok\"", "\"outcome\":\"failed\""));
        rewrite(lines);

        SystemResult.AuditVerdict v = log.verify();
        assertThat(v.intact()).isFalse();
        assertThat(v.firstBadLine()).isEqualTo(3);
        assertThat(v.reason()).contains("line 3 no longer hashes to the prev recorded in line 4");
    }

    @Test
    void aChangedLastLineIsFoundThroughTheHead() throws Exception {
        AuditLog log = log();
        for (int i = 1; i <= 3; i++) {
            log.append(entry("apply", i, i + 1));
        }
        List<String> lines = new ArrayList<>(lines());
        lines.set(2, lines.get(2).replace("bear", "mallory"));
        rewrite(lines);

        SystemResult.AuditVerdict v = log.verify();
        assertThat(v.intact()).isFalse();
        assertThat(v.firstBadLine()).isEqualTo(3);
        assertThat(v.reason()).contains("line 3 no longer hashes to what was written");
    }

    @Test
    void removedLinesAreFound() throws Exception {
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
        assertThat(middle.reason()).contains("lines before it were removed");

        rewrite(List.of(lines.get(0)));
        SystemResult.AuditVerdict truncated = log.verify();
        assertThat(truncated.intact()).isFalse();
        assertThat(truncated.firstBadLine()).isEqualTo(2);
        assertThat(truncated.reason()).contains("lines 2 to 4 were removed");
    }

    @Test
    void aTornLastLineIsReportedAndTheNextLineChainsToIt() throws Exception {
        AuditLog log = log();
        log.append(entry("apply", 1, 2));
        String full = lines().get(0);
        // A power loss mid-write: half a line, no newline.
        Files.writeString(dir.resolve("log/audit.jsonl"), "{\"seq\":2,\"when\":\"20", StandardOpenOption.APPEND);
        AuditLog.Appended next = log.append(entry("revert", 2, 1));
        assertThat(next.line()).isEqualTo(3);
        List<String> lines = lines();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).isEqualTo(full);
        assertThat(Json.decode(lines.get(2), AuditRecord.class).prev()).isEqualTo(AuditLog.sha256(lines.get(1)));

        SystemResult.AuditVerdict v = log.verify();
        assertThat(v.intact()).isFalse();
        assertThat(v.firstBadLine()).isEqualTo(2);
        assertThat(v.reason()).contains("line 2 is not an audit record");
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
    void withoutAHeadTheChainIsStillCheckedAndTheGapIsSaid() throws Exception {
        AuditLog log = log();
        log.append(entry("apply", 1, 2));
        Files.delete(dir.resolve("state/audit-head.json"));
        SystemResult.AuditVerdict v = log.verify();
        assertThat(v.intact()).isTrue();
        assertThat(v.reason()).contains("No head record");
        assertThat(new String(Files.readAllBytes(dir.resolve("log/audit.jsonl")), StandardCharsets.UTF_8)).endsWith("\n");
    }
}
