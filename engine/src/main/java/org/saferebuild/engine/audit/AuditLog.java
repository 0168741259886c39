package org.saferebuild.engine.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.Hashes;
import org.saferebuild.engine.sys.LibC;
import org.saferebuild.engine.sys.SafeFiles;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.FrameException;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.SystemResult;

/**
 * The append-only audit trail (issues 4 and 11, docs/apply.md "The audit trail"): one JSON line per
 * record, each carrying the SHA-256 of the line before it and an HMAC-SHA256 of itself with a key
 * only root can read ({@code <stateDir>/audit-<hash of the trail's path>.key}), so a line forged or
 * changed without the key is found even when its {@code seq} and {@code prev} are right. A head record
 * in the state directory ({@code audit-<hash>.head}) remembers the number, hash and end of the last line and only
 * moves forward: removed last lines, a deleted file or an older copy put back are found, and line
 * numbers are never reused.
 *
 * <p>A record is written or not at all: space for it and for what must follow it (the outcome of
 * an action whose intent it records, a revert) is reserved first ({@code fallocate}), and a write
 * that fails part way is truncated back, so a failed write leaves the file as it was. A fragment
 * cut short by a power cut beyond the head's end (never acknowledged to anyone) is removed the same
 * way by the next append; anything else that does not match the head stops appends (the caller
 * refuses the action) until an operator acknowledges the break, which is itself a record.
 *
 * <p>Cost per record: one write and one {@code fdatasync} of the trail, and one in-place write of the
 * head, not synced (script/bench apply prints it).
 */
public final class AuditLog {
    /** Largest record: a sign-off request is at most 64 KiB, so its line is too. */
    static final int MAX_LINE = 96 * 1024;
    /** Kept free beyond each new record, for the outcome and revert lines that must follow it. */
    static final int RESERVE = 64 * 1024;
    /** The head file: two slots written in turn, so a torn write of one leaves the other. */
    static final int SLOT = 1024;
    private static final String MAC_FIELD = ",\"mac\":\"";
    private static final int MAC_SUFFIX = MAC_FIELD.length() + 64 + 2; // ,"mac":"<64 hex>"}
    private static final HexFormat HEX = HexFormat.of();
    /** One monitor per file in this JVM (flock is per open file, but threads share the process). */
    private static final ConcurrentHashMap<Path, Object> MONITORS = new ConcurrentHashMap<>();
    private static final String ENGINE = ProcessHandle.current().pid() + "@"
            + ProcessHandle.current().info().startInstant().map(Instant::toString).orElse("?");

    private final Path file;
    private final Path headFile;
    private final Path keyFile;
    private final Object monitor;
    /** Whether this instance has checked (and made) the trail's and the head's directories; under the monitor. */
    private boolean dirsChecked;
    /** The end of the trail and the head as this instance last wrote them; null: read and check them. */
    private Written written;

    /**
     * What the last append left: the head file's bytes and what they say, and the last record's line
     * (with its newline) ending at {@code end}. The next append compares the files with these bytes
     * (a few hundred of them) instead of parsing and checking them again: equal bytes are the record
     * and the head this engine wrote and checked, so what they would be checked for is known.
     */
    private record Written(byte[] headBytes, Head head, long end, byte[] lastLine, String lastHash) {
    }

    /** What a record says; number, time, chain, engine and MAC are added here. */
    public record Entry(AuditRecord.Who who, String what, JsonNode args, Integer generationBefore,
                        Integer generationAfter, String outcome, String code, String message, Long intent) {
        public Entry(AuditRecord.Who who, String what, JsonNode args, Integer generationBefore,
                     Integer generationAfter, String outcome, String code, String message) {
            this(who, what, args, generationBefore, generationAfter, outcome, code, message, null);
        }
    }

    /** The line just written: its number and the SHA-256 of its text. */
    public record Appended(long line, String sha256, AuditRecord record) {
    }

    /** The end of the trail must not be written to: it does not match the head (a break). */
    public static final class Broken extends IOException {
        private static final long serialVersionUID = 1L;

        Broken(String message) {
            super(message);
        }
    }

    /** The last line as the head remembers it: its number, hash and where it ends in the file. */
    record Head(String file, long lines, String sha256, long size) {
    }

    /** A full walk of the trail: the verdict, and intents without an outcome (seq → engine). */
    record Scan(SystemResult.AuditVerdict verdict, Map<Long, AuditRecord> unfinished) {
    }

    /**
     * @param file     the trail (the settings' auditLog)
     * @param stateDir the engine's state directory: the head and the key live there
     */
    public AuditLog(Path file, Path stateDir) {
        this.file = file;
        this.headFile = headFile(stateDir, file);
        this.keyFile = stateDir.resolve(stem(file) + ".key");
        this.monitor = MONITORS.computeIfAbsent(file.toAbsolutePath().normalize(), k -> new Object());
    }

    public Path file() {
        return file;
    }

    /**
     * {@code <stateDir>/audit-<16 hex of the trail's path>.head}: each trail has its own head and key,
     * so two engines with one state directory and different trails (a test, a changed setting) never
     * read each other's.
     */
    public static Path headFile(Path stateDir, Path trail) {
        return stateDir.resolve(stem(trail) + ".head");
    }

    private static String stem(Path trail) {
        return "audit-" + Hashes.sha256(trail.toAbsolutePath().normalize().toString()).substring(0, 16);
    }

    /** The engine that writes with this JVM ("pid@start"). */
    static String engineId() {
        return ENGINE;
    }

    /**
     * Appends a record, refusing ({@link Broken}) when the end of the trail does not match its head:
     * nothing is written after a break until an operator acknowledges it.
     */
    public Appended append(Entry entry) throws IOException {
        synchronized (monitor) {
            return appendLocked(entry, false, entry.intent() != null, null);
        }
    }

    /**
     * Appends the record of an action that ends an earlier one (closing a sandbox, confirming or
     * reverting an apply): it may use the space the earlier one reserved, so undoing is never refused
     * for lack of space while starting is.
     */
    public Appended appendFollowUp(Entry entry) throws IOException {
        synchronized (monitor) {
            return appendLocked(entry, false, true, null);
        }
    }

    /**
     * Appends a record even after a break (the engine's own recovery, such as reverting an unconfirmed
     * apply, must be recorded and must not wait): it chains to the last line that is there, numbered
     * after the highest number ever written, so the break stays visible.
     */
    public Appended appendAfterBreak(Entry entry) throws IOException {
        synchronized (monitor) {
            return appendLocked(entry, true, true, null);
        }
    }

    /**
     * Records the operator's acknowledgement of a break. The record names what it acknowledges (the
     * first bad line and the reason) and the SHA-256 of every byte of the trail before it, so it
     * covers exactly the trail as the operator saw it: a later change before it is a new break.
     */
    public Appended acknowledge(AuditRecord.Who who, String note, Integer generation) throws IOException {
        synchronized (monitor) {
            Scan scan = scanLocked();
            SystemResult.AuditVerdict v = scan.verdict();
            if (!v.needsAcknowledgement()) {
                throw new IllegalStateException("the audit trail has no unacknowledged break");
            }
            String message = "Acknowledged by " + (who.name() != null ? who.name() : "uid " + who.uid())
                    + ": the audit trail was broken at line " + v.firstBadLine() + " (" + v.reason() + "). Note: "
                    + note;
            return appendLocked(new Entry(who, AuditRecord.ACKNOWLEDGE, null, generation, generation, "ok", null,
                    message), true, false, prefix -> {
                        ObjectNode a = Json.mapper().createObjectNode();
                        a.put("brokenAt", v.firstBadLine());
                        a.put("reason", v.reason());
                        a.put("note", note);
                        a.put("prefixBytes", prefix.length);
                        a.put("prefixSha256", sha256(prefix));
                        return a;
                    });
        }
    }

    private Appended appendLocked(Entry entry, boolean afterBreak, boolean useReserve,
                                  Function<byte[], JsonNode> argsOfPrefix)
            throws IOException {
        Written w = written;
        written = null; // set again only when this append succeeds
        if (!dirsChecked) {
            ensureDirs();
            dirsChecked = true;
        }
        byte[] key = key(true);
        try (SafeFiles.Handle head = openHeadOrDirs()) {
            byte[] headBytes = readHeadBytes(head);
            Head h = w != null && Arrays.equals(headBytes, w.headBytes()) ? w.head() : parseHead(headBytes, key);
            try (SafeFiles.Handle log = openLogOrDirs(h, afterBreak)) {
                log.lock();
                long size = log.size();
                long at;
                long seq;
                String prev;
                byte[] lead = new byte[0];
                if (w != null && h == w.head() && size == w.end() && endsWith(log, w)) {
                    // The trail ends with the record this engine wrote last, and the head is as it left it.
                    at = size;
                    seq = h.lines() + 1;
                    prev = w.lastHash();
                } else {
                    Tail tail = Tail.read(log, size, h);
                    String problem = tail.check(h, key, this);
                    if (problem != null && !afterBreak) {
                        throw new Broken(problem);
                    }
                    at = tail.writeAt;
                    if (tail.tornFrom >= 0 && tail.tornRecoverable(h)) {
                        // A record cut short by a crash before the head moved: it was never acknowledged to anyone.
                        log.truncate(tail.tornFrom);
                        log.sync();
                        at = tail.tornFrom;
                    }
                    if (at > 0 && tail.endsWithoutNewline(at)) {
                        lead = "\n".getBytes(StandardCharsets.UTF_8); // after a break: the fragment stays, as evidence
                    }
                    long lastSeq = Math.max(h != null ? h.lines() : 0, tail.lastSeq());
                    seq = lastSeq + 1;
                    prev = tail.last == null ? AuditRecord.GENESIS : sha256(tail.last);
                }
                JsonNode args = argsOfPrefix != null ? argsOfPrefix.apply(prefix(log, at, lead)) : entry.args();
                AuditRecord unsigned = new AuditRecord(seq, Instant.now().truncatedTo(ChronoUnit.MILLIS).toString(),
                        entry.who(), entry.what(), args, entry.generationBefore(), entry.generationAfter(),
                        entry.outcome(), entry.code(), entry.message(), entry.intent(), ENGINE, prev, null);
                String unsignedText = Json.encode(unsigned);
                String mac = mac(key, unsignedText);
                String line = unsignedText.substring(0, unsignedText.length() - 1) + MAC_FIELD + mac + "\"}";
                byte[] text = (line + "\n").getBytes(StandardCharsets.UTF_8);
                if (text.length > MAX_LINE) {
                    throw new IOException("the record is " + text.length + " bytes; at most " + MAX_LINE + " are allowed");
                }
                byte[] bytes = concat(lead, text);
                // A new action keeps RESERVE free after its record for what must follow it (its outcome, a
                // revert); those records, and the engine's own, use that reserve and keep none of their own.
                reserve(log, at, bytes.length + (useReserve ? 0 : RESERVE));
                try {
                    log.write(bytes, at);
                    log.sync();
                } catch (IOException e) {
                    undo(log, at);
                    throw e;
                }
                String hash = sha256(line);
                Head newHead = new Head(file.toString(), seq, hash, at + bytes.length);
                byte[] slot;
                try {
                    slot = writeHead(head, newHead, key);
                } catch (IOException e) {
                    undo(log, at); // a record the head does not anchor is not kept
                    throw e;
                }
                if (headBytes.length == 2 * SLOT) {
                    System.arraycopy(slot, 0, headBytes, (int) ((seq % 2) * SLOT), SLOT);
                    written = new Written(headBytes, newHead, at + bytes.length, text, hash);
                }
                return new Appended(seq, hash, new AuditRecord(seq, unsigned.when(), unsigned.who(), unsigned.what(),
                        unsigned.args(), unsigned.generationBefore(), unsigned.generationAfter(), unsigned.outcome(),
                        unsigned.code(), unsigned.message(), unsigned.intent(), ENGINE, prev, mac));
            }
        }
    }

    /**
     * Whether the trail ends with exactly the line this engine wrote last, at a line's start (after
     * a newline or at the start of the file).
     */
    private static boolean endsWith(SafeFiles.Handle log, Written w) throws IOException {
        long from = w.end() - w.lastLine().length;
        if (from < 0) {
            return false;
        }
        int before = from == 0 ? 0 : 1;
        byte[] got = readFully(log, from - before, w.lastLine().length + before);
        if (got.length != w.lastLine().length + before || (before == 1 && got[0] != '\n')) {
            return false;
        }
        return Arrays.equals(got, before, got.length, w.lastLine(), 0, w.lastLine().length);
    }

    /** Opens the trail; if its directory has gone, makes and checks the directories again first. */
    private SafeFiles.Handle openLogOrDirs(Head h, boolean afterBreak) throws IOException {
        try {
            return openLog(h, afterBreak);
        } catch (LibC.Errno e) {
            if (e.errno() != LibC.ENOENT) {
                throw e;
            }
            ensureDirs();
            return openLog(h, afterBreak);
        }
    }

    /** Opens the head; if its directory has gone, makes and checks the directories again first. */
    private SafeFiles.Handle openHeadOrDirs() throws IOException {
        try {
            return openHead();
        } catch (LibC.Errno e) {
            if (e.errno() != LibC.ENOENT) {
                throw e;
            }
            ensureDirs();
            return openHead();
        }
    }

    /**
     * Removes a record cut short by a crash (a power cut during its write) when it lies beyond the
     * head's end: it was never acknowledged to anyone, and the action it would have announced never
     * started. Called at engine start, before the trail is checked.
     */
    public void repairTail() throws IOException {
        synchronized (monitor) {
            written = null;
            byte[] key = key(false);
            if (key == null) {
                return;
            }
            Head h;
            try (SafeFiles.Handle head = openHeadIfPresent()) {
                h = head == null ? null : readHead(head, key);
            }
            if (h == null) {
                return;
            }
            SafeFiles.Handle log;
            try {
                log = SafeFiles.open(file, 0640, false);
            } catch (LibC.Errno e) {
                return;
            }
            try (log) {
                log.lock();
                long size = log.size();
                Tail tail = Tail.read(log, size, h);
                if (tail.tornFrom >= 0 && tail.tornRecoverable(h) && tail.check(h, key, this) == null) {
                    log.truncate(tail.tornFrom);
                    log.sync();
                }
            }
        }
    }

    /** Lines {@code from} (1-based) on, at most {@code limit}, exactly as stored. */
    public SystemResult.AuditLines read(long from, int limit) throws IOException {
        List<SystemResult.AuditLine> out = new ArrayList<>();
        long n = 0;
        byte[] all = readAll();
        if (all != null) {
            for (byte[] raw : lines(all)) {
                n++;
                if (n >= from && out.size() < limit) {
                    String line = new String(raw, StandardCharsets.UTF_8);
                    out.add(new SystemResult.AuditLine(n, line.isEmpty() ? "(empty line)" : line));
                }
            }
        }
        return new SystemResult.AuditLines(file.toString(), n, out);
    }

    /** Walks the whole trail and its head (audit.verify, and every engine start). */
    public SystemResult.AuditVerdict verify() throws IOException {
        return scan().verdict();
    }

    Scan scan() throws IOException {
        synchronized (monitor) {
            return scanLocked();
        }
    }

    /**
     * The first line that no longer matches what was written: a line that is not a record or is cut
     * short; a line without this engine's MAC (changed or forged); a number out of step (lines removed
     * or inserted); a line whose text no longer hashes to the {@code prev} of the next (changed); and,
     * through the head, removed or changed last lines, a removed file. An acknowledgement covers the
     * breaks before it while every byte before it is as it was when it was written.
     */
    private Scan scanLocked() throws IOException {
        byte[] key = key(false);
        Head h = null;
        String headProblem = null;
        if (key != null) {
            try (SafeFiles.Handle head = openHeadIfPresent()) {
                h = head == null ? null : readHead(head, key);
            } catch (Broken e) {
                headProblem = e.getMessage();
            }
        }
        byte[] all = readAll();
        Problems found = new Problems(file.toString());
        Map<Long, AuditRecord> unfinished = new LinkedHashMap<>();
        long n = 0;
        long expectSeq = 1;
        long lastSeq = 0;
        String previous = null;
        MessageDigest prefix = digest();
        long prefixBytes = 0;
        if (all != null) {
            List<byte[]> lines = lines(all);
            boolean torn = all.length > 0 && all[all.length - 1] != '\n';
            for (int i = 0; i < lines.size(); i++) {
                byte[] raw = lines.get(i);
                String text = new String(raw, StandardCharsets.UTF_8);
                n++;
                if (torn && i == lines.size() - 1) {
                    if (h == null || prefixBytes < h.size()) {
                        found.add(n, "line " + n + " is cut short (an incomplete write, such as a power cut during"
                                + " it)");
                    } else {
                        n--; // a record cut short by a crash before the head moved: removed by the next append
                    }
                    break;
                }
                AuditRecord rec;
                try {
                    rec = Json.decode(text, AuditRecord.class);
                } catch (FrameException e) {
                    found.add(n, "line " + n + " is not an audit record (" + e.getMessage() + "); it was edited or"
                            + " cut short");
                    previous = text;
                    prefix.update(raw);
                    prefix.update((byte) '\n');
                    prefixBytes += raw.length + 1;
                    continue;
                }
                String expectedPrev = previous == null ? AuditRecord.GENESIS : sha256(previous);
                boolean macOk = key != null && macMatches(text, key);
                if (!macOk) {
                    found.add(n, key == null ? "the key that signs the trail (" + keyFile + ") is missing, so no line"
                            + " can be checked" : rec.mac() == null ? "line " + n + " carries no MAC: it was written"
                            + " before the trail was keyed, or forged" : "line " + n + " does not carry this"
                            + " engine's MAC: it was changed or forged");
                }
                if (macOk && AuditRecord.ACKNOWLEDGE.equals(rec.what()) && covers(rec, prefix, prefixBytes)
                        && rec.prev().equals(expectedPrev)) {
                    if (rec.seq() != expectSeq) {
                        found.add(n, range("line", expectSeq, rec.seq() - 1) + " removed before line " + n);
                    }
                    found.acknowledge(n);
                } else {
                    if (rec.seq() != expectSeq) {
                        found.add(n, "line " + n + " carries number " + rec.seq() + (rec.seq() > expectSeq
                                ? ": " + range("line", expectSeq, rec.seq() - 1) + " removed before it"
                                : ": lines before it were inserted or repeated"));
                    }
                    if (!rec.prev().equals(expectedPrev)) {
                        found.add(n == 1 ? 1 : n - 1, n == 1 ? "line 1 does not start the chain (prev is not 64 zeros)"
                                : "line " + (n - 1) + " no longer hashes to the prev recorded in line " + n + ": line "
                                        + (n - 1) + " was changed");
                    }
                }
                if (AuditRecord.STARTED.equals(rec.outcome())) {
                    unfinished.put(rec.seq(), rec);
                } else if (rec.intent() != null) {
                    unfinished.remove(rec.intent());
                }
                expectSeq = rec.seq() + 1;
                lastSeq = rec.seq();
                previous = text;
                prefix.update(raw);
                prefix.update((byte) '\n');
                prefixBytes += raw.length + 1;
            }
        }
        String last = previous == null ? null : sha256(previous);
        if (headProblem != null) {
            found.add(Math.max(n, 1), headProblem);
        } else if (h == null) {
            if (n > 0) {
                found.add(n, "there is no head record (" + headFile + "), so removed or changed last lines cannot be"
                        + " ruled out: the head was removed, or the trail was written before it had one");
            } else if (key != null && all == null) {
                found.add(1, "the trail " + file + " and its head are gone, but the engine's key shows records were"
                        + " written: the trail was removed");
            }
        } else if (all == null) {
            found.add(1, "the trail " + file + " was removed: its head records " + h.lines() + " lines");
        } else if (lastSeq < h.lines()) {
            found.add(n + 1, "the trail ends at record " + lastSeq + " but record " + h.lines() + " was written: "
                    + range("record", lastSeq + 1, h.lines()) + " removed");
        } else if (lastSeq == h.lines() && !h.sha256().equals(last)) {
            found.add(n, "line " + n + " no longer hashes to what was written: it was changed");
        }
        // Records after the head's are accepted when the walk above found each with its MAC and in order:
        // the head is not synced, so a power cut can leave it behind the trail.
        return new Scan(found.verdict(n, last), unfinished);
    }

    /** Collects breaks: the first ever (intact or not) and the first no acknowledgement covers. */
    private static final class Problems {
        private final String file;
        private Long firstLine;
        private String firstReason;
        private Long openLine;
        private String openReason;
        private Long acknowledgedAt;

        Problems(String file) {
            this.file = file;
        }

        void add(long line, String reason) {
            if (firstLine == null) {
                firstLine = line;
                firstReason = reason;
            }
            if (openLine == null) {
                openLine = line;
                openReason = reason;
            }
        }

        void acknowledge(long line) {
            if (openLine != null) {
                acknowledgedAt = line;
            }
            openLine = null;
            openReason = null;
        }

        SystemResult.AuditVerdict verdict(long lines, String lastSha) {
            if (firstLine == null) {
                return new SystemResult.AuditVerdict(file, true, lines, null, null, lastSha, false, null);
            }
            if (openLine != null) {
                return new SystemResult.AuditVerdict(file, false, lines, openLine, openReason, lastSha, true,
                        acknowledgedAt);
            }
            return new SystemResult.AuditVerdict(file, false, lines, firstLine, firstReason
                    + " (acknowledged at line " + acknowledgedAt + ")", lastSha, false, acknowledgedAt);
        }
    }

    /** "record 4 was" or "records 4 to 6 were". */
    private static String range(String what, long from, long to) {
        return from == to ? what + " " + from + " was" : what + "s " + from + " to " + to + " were";
    }

    private static boolean covers(AuditRecord ack, MessageDigest prefix, long prefixBytes) {
        JsonNode a = ack.args();
        if (a == null || !a.hasNonNull("prefixSha256") || !a.hasNonNull("prefixBytes")) {
            return false;
        }
        try {
            MessageDigest copy = (MessageDigest) prefix.clone();
            return a.get("prefixBytes").asLong() == prefixBytes
                    && a.get("prefixSha256").asText().equals(HEX.formatHex(copy.digest()));
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException(e);
        }
    }

    // The end of the trail

    /** The last lines of the trail, read from near its end (and around the head's end). */
    private static final class Tail {
        /** Complete lines found: their start offset and text. */
        final List<long[]> offsets = new ArrayList<>();
        final List<String> texts = new ArrayList<>();
        final long size;
        String last;
        long writeAt;
        long tornFrom = -1;
        private final byte[] region;
        private final long regionStart;

        private Tail(byte[] region, long regionStart, long size) {
            this.region = region;
            this.regionStart = regionStart;
            this.size = size;
        }

        static Tail read(SafeFiles.Handle log, long size, Head h) throws IOException {
            long anchor = h == null ? size : Math.min(h.size(), size);
            // Usually the last record is short: read a little first, all that a record can be if needed.
            Tail small = read(log, size, anchor, 8 * 1024);
            return small.regionStart == 0 || small.coversAnchor(anchor) ? small : read(log, size, anchor, MAX_LINE + 1);
        }

        /** Whether a complete line ends at {@code anchor} (or the anchor is the start of the file). */
        private boolean coversAnchor(long anchor) {
            if (anchor == 0) {
                return true;
            }
            for (long[] o : offsets) {
                if (o[1] == anchor) {
                    return true;
                }
            }
            return false;
        }

        private static Tail read(SafeFiles.Handle log, long size, long anchor, int before) throws IOException {
            long start = Math.max(0, anchor - before);
            byte[] buf = readFully(log, start, (int) (size - start));
            Tail t = new Tail(buf, start, size);
            int from = 0;
            if (start > 0) {
                // the first partial line of the region is not ours to read
                while (from < buf.length && buf[from] != '\n') {
                    from++;
                }
                from++;
            }
            int i = from;
            for (int j = from; j < buf.length; j++) {
                if (buf[j] == '\n') {
                    t.offsets.add(new long[] {start + i, start + j + 1});
                    t.texts.add(new String(buf, i, j - i, StandardCharsets.UTF_8));
                    i = j + 1;
                }
            }
            if (i < buf.length) {
                t.tornFrom = start + i;
            }
            t.last = t.texts.isEmpty() ? null : t.texts.get(t.texts.size() - 1);
            t.writeAt = size;
            return t;
        }

        long lastSeq() {
            for (int k = texts.size() - 1; k >= 0; k--) {
                try {
                    return Json.decode(texts.get(k), AuditRecord.class).seq();
                } catch (FrameException e) {
                    // not a record: look further back
                }
            }
            return 0;
        }

        boolean endsWithoutNewline(long at) {
            long idx = at - 1 - regionStart;
            return idx >= 0 && idx < region.length && region[(int) idx] != '\n';
        }

        /** The fragment after the last complete line starts where the head ends (or later): a crash's leftover. */
        boolean tornRecoverable(Head h) {
            return h != null && tornFrom >= h.size();
        }

        /** Null when the end of the trail is as the head says (or one record ahead of it); otherwise what is wrong. */
        String check(Head h, byte[] key, AuditLog log) {
            if (h == null) {
                if (size == 0) {
                    return null;
                }
                return "there is no head record (" + log.headFile + ") for the " + size + " bytes in " + log.file
                        + ": the head was removed, or the trail was written before it had one";
            }
            if (size < h.size()) {
                return "the trail is shorter (" + size + " bytes) than when record " + h.lines() + " was written ("
                        + h.size() + " bytes): records were removed from its end";
            }
            if (h.size() == 0) {
                return texts.isEmpty() ? null : "records are in the trail that its head does not know";
            }
            int atHead = -1;
            for (int k = 0; k < offsets.size(); k++) {
                if (offsets.get(k)[1] == h.size()) {
                    atHead = k;
                }
            }
            if (atHead < 0) {
                return "record " + h.lines() + " no longer ends where it was written: the trail was changed";
            }
            String headed = texts.get(atHead);
            if (!sha256(headed).equals(h.sha256()) || !macMatches(headed, key)) {
                return "record " + h.lines() + ", the last one written, was changed";
            }
            // Records after the head's: written and synced, then a power cut kept the head (not synced
            // itself) from the disk. Valid only if each is ours (MAC) and chains on in order.
            long seq = h.lines();
            String prevHash = h.sha256();
            for (int k = atHead + 1; k < offsets.size(); k++) {
                String next = texts.get(k);
                try {
                    AuditRecord r = Json.decode(next, AuditRecord.class);
                    if (r.seq() != seq + 1 || !r.prev().equals(prevHash) || !macMatches(next, key)) {
                        return "a record after record " + seq + " was not written by this engine";
                    }
                    seq = r.seq();
                    prevHash = sha256(next);
                } catch (FrameException e) {
                    return "the line after record " + seq + " is not an audit record";
                }
            }
            return null;
        }
    }

    private static byte[] readFully(SafeFiles.Handle log, long start, int length) throws IOException {
        byte[] buf = new byte[length];
        int got = 0;
        while (got < length) {
            byte[] into = got == 0 ? buf : new byte[length - got];
            int r = log.read(into, length - got, start + got);
            if (r <= 0) {
                return java.util.Arrays.copyOf(buf, got);
            }
            if (got > 0) {
                System.arraycopy(into, 0, buf, got, r);
            }
            got += r;
        }
        return buf;
    }

    private byte[] prefix(SafeFiles.Handle log, long at, byte[] lead) throws IOException {
        return concat(readFully(log, 0, (int) at), lead);
    }

    private void reserve(SafeFiles.Handle log, long at, long length) throws IOException {
        if (!log.reserve(at, length)) {
            long free = log.freeBytes();
            if (free < length) {
                throw new LibC.Errno("reserve " + length + " bytes in " + file + ": only " + free + " bytes are free",
                        LibC.ENOSPC);
            }
        }
    }

    private static void undo(SafeFiles.Handle log, long size) {
        try {
            log.truncate(size);
            log.sync();
        } catch (IOException e) {
            // the next append finds the fragment beyond the head and removes it
        }
    }

    // The files

    private void ensureDirs() throws IOException {
        try {
            WorkDirs.ensurePrivateDir(file.getParent());
            WorkDirs.ensurePrivateDir(headFile.getParent());
        } catch (Problem p) {
            throw new IOException(p.getMessage(), p);
        }
    }

    private SafeFiles.Handle openLog(Head h, boolean afterBreak) throws IOException {
        try {
            return SafeFiles.open(file, 0640, false);
        } catch (LibC.Errno e) {
            if (e.errno() != LibC.ENOENT) {
                throw e;
            }
        }
        if (h != null && h.lines() > 0 && !afterBreak) {
            throw new Broken("the trail " + file + " was removed: its head records " + h.lines() + " records");
        }
        SafeFiles.Handle created = SafeFiles.open(file, 0640, true);
        created.chmod(0640);
        return created;
    }

    private byte[] readAll() throws IOException {
        SafeFiles.Handle h;
        try {
            h = SafeFiles.open(file, 0640, false);
        } catch (LibC.Errno e) {
            if (e.errno() == LibC.ENOENT) {
                return null;
            }
            throw e;
        }
        try (h) {
            return readFully(h, 0, (int) h.size());
        }
    }

    private static List<byte[]> lines(byte[] all) {
        List<byte[]> out = new ArrayList<>();
        int i = 0;
        for (int j = 0; j < all.length; j++) {
            if (all[j] == '\n') {
                out.add(java.util.Arrays.copyOfRange(all, i, j));
                i = j + 1;
            }
        }
        if (i < all.length) {
            out.add(java.util.Arrays.copyOfRange(all, i, all.length));
        }
        return out;
    }

    private SafeFiles.Handle openHead() throws IOException {
        SafeFiles.Handle h = SafeFiles.open(headFile, 0600, true);
        try {
            if (h.size() < 2L * SLOT) {
                byte[] blank = new byte[2 * SLOT];
                java.util.Arrays.fill(blank, (byte) ' ');
                blank[SLOT - 1] = '\n';
                blank[2 * SLOT - 1] = '\n';
                h.write(blank, 0);
                h.sync();
            }
            return h;
        } catch (IOException e) {
            h.close();
            throw e;
        }
    }

    private SafeFiles.Handle openHeadIfPresent() throws IOException {
        try {
            return SafeFiles.open(headFile, 0600, false);
        } catch (LibC.Errno e) {
            if (e.errno() == LibC.ENOENT) {
                return null;
            }
            throw e;
        }
    }

    /** The newest valid slot; null when the head is blank; Broken when it has content but no valid slot. */
    private Head readHead(SafeFiles.Handle h, byte[] key) throws IOException {
        return parseHead(readHeadBytes(h), key);
    }

    /** The head file's two slots as they are (shorter if the file is). */
    private static byte[] readHeadBytes(SafeFiles.Handle h) throws IOException {
        byte[] buf = new byte[2 * SLOT];
        int n = h.read(buf, buf.length, 0);
        return n == buf.length ? buf : Arrays.copyOf(buf, Math.max(n, 0));
    }

    private Head parseHead(byte[] buf, byte[] key) throws IOException {
        int n = buf.length;
        Head best = null;
        boolean content = false;
        for (int slot = 0; slot < 2; slot++) {
            int from = slot * SLOT;
            int to = Math.min(n, from + SLOT);
            if (to <= from) {
                continue;
            }
            String text = new String(buf, from, to - from, StandardCharsets.UTF_8).strip();
            if (text.isEmpty()) {
                continue;
            }
            content = true;
            try {
                JsonNode j = Json.mapper().readTree(text);
                Head candidate = new Head(j.path("file").asText(), j.path("lines").asLong(), j.path("sha256").asText(),
                        j.path("size").asLong());
                if (j.path("mac").asText().equals(mac(key, headText(candidate)))
                        && candidate.file().equals(file.toString()) && (best == null || candidate.lines() > best.lines())) {
                    best = candidate;
                }
            } catch (IOException e) {
                // a slot cut short by a crash: the other one holds the previous head
            }
        }
        if (best == null && content) {
            throw new Broken("the head record " + headFile + " does not carry this engine's MAC for " + file
                    + ": it was changed or belongs to another trail");
        }
        return best;
    }

    /** Writes {@code head} into its slot (in place, not synced); returns the slot's bytes. */
    private byte[] writeHead(SafeFiles.Handle h, Head head, byte[] key) throws IOException {
        ObjectNode j = Json.mapper().createObjectNode();
        j.put("file", head.file());
        j.put("lines", head.lines());
        j.put("sha256", head.sha256());
        j.put("size", head.size());
        j.put("mac", mac(key, headText(head)));
        byte[] text = Json.encode(j).getBytes(StandardCharsets.UTF_8);
        if (text.length > SLOT - 1) {
            throw new IOException("the head record for " + file + " does not fit its slot (the path is too long)");
        }
        byte[] slot = new byte[SLOT];
        java.util.Arrays.fill(slot, (byte) ' ');
        System.arraycopy(text, 0, slot, 0, text.length);
        slot[SLOT - 1] = '\n';
        // Written in place, not synced: the trail itself was synced, and records found beyond a head that
        // a power cut kept from the disk are accepted when they carry the MAC and chain on (Tail.check).
        // The head's work is to show removed records, and it is ahead of the trail whenever that happens.
        h.write(slot, (head.lines() % 2) * SLOT);
        return slot;
    }

    private static String headText(Head h) {
        return "head\n" + h.file() + "\n" + h.lines() + "\n" + h.sha256() + "\n" + h.size();
    }

    /**
     * The key (32 random bytes, hex, 0600 in the root-only state directory). Made with the first record;
     * null when missing and not to be made.
     */
    private byte[] key(boolean create) throws IOException {
        byte[] cached = KEYS.get(keyFile);
        if (cached != null) {
            return cached;
        }
        byte[] k = loadKey(create);
        if (k != null) {
            KEYS.put(keyFile, k);
        }
        return k;
    }

    /** Keys already read in this JVM (a key never changes; a removed key is found by the next engine start). */
    private static final ConcurrentHashMap<Path, byte[]> KEYS = new ConcurrentHashMap<>();

    private byte[] loadKey(boolean create) throws IOException {
        String text = SafeFiles.readString(keyFile, 1024);
        if (text == null && create) {
            if (readAll() != null) {
                throw new Broken("the key that signs the audit trail (" + keyFile + ") is missing although the"
                        + " trail has records: it was removed");
            }
            byte[] k = new byte[32];
            new SecureRandom().nextBytes(k);
            try {
                SafeFiles.create(keyFile, (HEX.formatHex(k) + "\n").getBytes(StandardCharsets.UTF_8), 0600);
            } catch (LibC.Errno e) {
                if (e.errno() != LibC.EEXIST) {
                    throw e;
                }
            }
            text = SafeFiles.readString(keyFile, 1024); // another engine may have made it first
        }
        if (text == null) {
            return null;
        }
        try {
            byte[] k = HEX.parseHex(text.strip());
            if (k.length != 32) {
                throw new IllegalArgumentException("not 32 bytes");
            }
            return k;
        } catch (IllegalArgumentException e) {
            throw new Broken("the audit key " + keyFile + " is damaged: " + e.getMessage());
        }
    }

    // Lines, hashes, MACs

    /** The line with its MAC: the unsigned text, with {@code ,"mac":"…"} before its closing brace. */
    static String sign(String unsigned, byte[] key) {
        return unsigned.substring(0, unsigned.length() - 1) + MAC_FIELD + mac(key, unsigned) + "\"}";
    }

    static boolean macMatches(String line, byte[] key) {
        if (line.length() < MAC_SUFFIX + 2 || !line.endsWith("\"}")) {
            return false;
        }
        int at = line.length() - MAC_SUFFIX;
        if (!line.startsWith(MAC_FIELD, at)) {
            return false;
        }
        String unsigned = line.substring(0, at) + "}";
        String mac = line.substring(at + MAC_FIELD.length(), line.length() - 2);
        return MessageDigest.isEqual(mac.getBytes(StandardCharsets.US_ASCII),
                mac(key, unsigned).getBytes(StandardCharsets.US_ASCII));
    }

    private static String mac(byte[] key, String text) {
        return HEX.formatHex(macFor(key).doFinal(text.getBytes(StandardCharsets.UTF_8)));
    }

    /** One initialised HMAC per thread and key (getInstance and init cost more than a record's MAC). */
    private static final ThreadLocal<Object[]> MACS = ThreadLocal.withInitial(() -> new Object[2]);

    private static Mac macFor(byte[] key) {
        Object[] cached = MACS.get();
        if (cached[0] != key) {
            try {
                Mac m = Mac.getInstance("HmacSHA256");
                m.init(new SecretKeySpec(key, "HmacSHA256"));
                cached[0] = key;
                cached[1] = m;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA256 is always available", e);
            }
        }
        return (Mac) cached[1];
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sha256(byte[] bytes) {
        return HEX.formatHex(digest().digest(bytes));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    public static String sha256(String text) {
        return Hashes.sha256(text);
    }
}
