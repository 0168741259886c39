package org.saferebuild.engine.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.Hashes;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.FrameException;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.SystemResult;

/**
 * The append-only audit trail (issue 4, docs/apply.md "Audit format"): one JSON line per action,
 * each carrying the SHA-256 of the line before it, written with fsync under an exclusive file
 * lock (two engines never interleave). A small "head" file in the engine's state directory
 * remembers the number and hash of the last line, so an edit of the last line or a truncation is
 * found too, not only edits that a later line's {@code prev} exposes.
 *
 * <p>Nothing here ever rewrites or removes a line: a torn last line (power loss mid-write) stays
 * and is reported by {@link #verify()}; the next line is chained to it.
 */
public final class AuditLog {
    /** One monitor per file in this JVM (Java's file locks are per process, not per channel). */
    private static final ConcurrentHashMap<Path, Object> MONITORS = new ConcurrentHashMap<>();

    private final Path file;
    private final Path headFile;
    private final Object monitor;

    /** What an action contributes to its line; sequence number, time and chain are added here. */
    public record Entry(AuditRecord.Who who, String what, JsonNode args, Integer generationBefore,
                        Integer generationAfter, String outcome, String code, String message) {
    }

    /** The line just written: its 1-based number and the SHA-256 of its text. */
    public record Appended(long line, String sha256, AuditRecord record) {
    }

    /** The last line as the head file remembers it. */
    record Head(String file, long lines, String sha256) {
    }

    public AuditLog(Path file, Path headFile) {
        this.file = file;
        this.headFile = headFile;
        this.monitor = MONITORS.computeIfAbsent(file.toAbsolutePath().normalize(), k -> new Object());
    }

    public Path file() {
        return file;
    }

    /**
     * Fails unless a line could be appended now (the directory exists or can be made, the file can
     * be opened for writing and locked). Checked before a privileged action starts, so nothing is
     * done that could not be recorded.
     */
    public void checkWritable() throws IOException {
        synchronized (monitor) {
            try (FileChannel ch = open()) {
                ch.lock().release();
            }
        }
    }

    public Appended append(Entry entry) throws IOException {
        synchronized (monitor) {
            return appendLocked(entry);
        }
    }

    private Appended appendLocked(Entry entry) throws IOException {
        try (FileChannel ch = open()) {
            ch.lock();
            long size = ch.size();
            String last = size == 0 ? null : lastLine(ch, size);
            boolean torn = size > 0 && lastByte(ch, size) != '\n';
            if (torn) {
                // A crash cut the previous line short; end it so the new line stands on its own.
                write(ch, size, "\n".getBytes(StandardCharsets.UTF_8));
                size += 1;
            }
            long seq = last == null ? 1 : nextSeq(last);
            String prev = last == null ? AuditRecord.GENESIS : sha256(last);
            AuditRecord record = new AuditRecord(seq, Instant.now().truncatedTo(ChronoUnit.MILLIS).toString(),
                    entry.who(), entry.what(), entry.args(), entry.generationBefore(), entry.generationAfter(),
                    entry.outcome(), entry.code(), entry.message(), prev);
            String text = Json.encode(record);
            write(ch, size, (text + "\n").getBytes(StandardCharsets.UTF_8));
            ch.force(true);
            String hash = sha256(text);
            writeHead(new Head(file.toString(), seq, hash));
            return new Appended(seq, hash, record);
        }
    }

    /** Lines {@code from} (1-based) on, at most {@code limit}, exactly as stored. */
    public SystemResult.AuditLines read(long from, int limit) throws IOException {
        List<SystemResult.AuditLine> out = new ArrayList<>();
        long n = 0;
        if (Files.exists(file)) {
            try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                while ((line = r.readLine()) != null) {
                    n++;
                    if (n >= from && out.size() < limit) {
                        out.add(new SystemResult.AuditLine(n, line.isEmpty() ? "(empty line)" : line));
                    }
                }
            }
        }
        return new SystemResult.AuditLines(file.toString(), n, out);
    }

    /**
     * Walks the chain from the first line. The first line that no longer matches what was written
     * is reported: a line whose text does not hash to the {@code prev} of the line after it was
     * changed; a line that is not a record, or whose number is out of step, is itself bad; the
     * head file catches a changed or removed last line.
     */
    public SystemResult.AuditVerdict verify() throws IOException {
        synchronized (monitor) {
            return verifyLocked();
        }
    }

    private SystemResult.AuditVerdict verifyLocked() throws IOException {
        if (!Files.exists(file)) {
            return new SystemResult.AuditVerdict(file.toString(), true, 0, null,
                    "The audit trail is empty: nothing has been recorded yet.", null);
        }
        String previous = null;
        long n = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(Files.newInputStream(file),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                n++;
                AuditRecord rec;
                try {
                    rec = Json.decode(line, AuditRecord.class);
                } catch (FrameException e) {
                    return broken(n, n, "line " + n + " is not an audit record (" + e.getMessage()
                            + "); it was edited or cut short");
                }
                String expectedPrev = previous == null ? AuditRecord.GENESIS : sha256(previous);
                if (rec.seq() != n) {
                    return broken(n, n, "line " + n + " carries number " + rec.seq()
                            + (rec.seq() > n ? ": lines before it were removed" : ": lines before it were inserted"));
                }
                if (!rec.prev().equals(expectedPrev)) {
                    return n == 1
                            ? broken(1, 1, "line 1 does not start the chain (prev is not 64 zeros)")
                            : broken(n - 1, n, "line " + (n - 1) + " no longer hashes to the prev recorded in line "
                                    + n + ": line " + (n - 1) + " was changed");
                }
                previous = line;
            }
        }
        String last = previous == null ? null : sha256(previous);
        Head head = readHead();
        if (head == null || !head.file().equals(file.toString())) {
            return new SystemResult.AuditVerdict(file.toString(), true, n, null,
                    "The chain is intact. No head record was found in the engine's state directory, so a change"
                            + " to the last line or removed last lines could not be checked.", last);
        }
        if (n < head.lines()) {
            return broken(n + 1, n, "the trail ends at line " + n + " but line " + head.lines()
                    + " was written: lines " + (n + 1) + " to " + head.lines() + " were removed");
        }
        String anchored = n == head.lines() ? last : sha256(lineAt(head.lines()));
        if (!head.sha256().equals(anchored)) {
            return broken(head.lines(), n, "line " + head.lines() + " no longer hashes to what was written: it was"
                    + " changed");
        }
        return new SystemResult.AuditVerdict(file.toString(), true, n, null, null, last);
    }

    private SystemResult.AuditVerdict broken(long badLine, long lines, String reason) {
        return new SystemResult.AuditVerdict(file.toString(), false, lines, badLine, reason, null);
    }

    private String lineAt(long number) throws IOException {
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            long n = 0;
            while ((line = r.readLine()) != null) {
                if (++n == number) {
                    return line;
                }
            }
        }
        return "";
    }

    private FileChannel open() throws IOException {
        Path dir = file.getParent();
        try {
            // Root's own directory, never through a link (as every path of the engine's own, issue 6).
            WorkDirs.ensurePrivateDir(dir);
        } catch (Problem p) {
            throw new IOException(p.getMessage(), p);
        }
        if (Files.isSymbolicLink(file)) {
            throw new IOException(file + " is a link; the audit trail must be a plain file");
        }
        boolean fresh = !Files.exists(file);
        FileChannel ch = fresh
                ? FileChannel.open(file, java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE),
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r-----")))
                : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        if (fresh) {
            syncDirectory(dir);
        }
        return ch;
    }

    private static void write(FileChannel ch, long at, byte[] bytes) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        long pos = at;
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }

    private static int lastByte(FileChannel ch, long size) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1);
        ch.read(b, size - 1);
        return b.get(0);
    }

    /** The text of the last line (without its newline), read backwards from the end in blocks. */
    private static String lastLine(FileChannel ch, long size) throws IOException {
        long end = lastByte(ch, size) == '\n' ? size - 1 : size;
        long start = end;
        int block = 4096;
        while (start > 0) {
            long from = Math.max(0, start - block);
            ByteBuffer buf = ByteBuffer.allocate((int) (start - from));
            while (buf.hasRemaining() && ch.read(buf, from + buf.position()) > 0) {
                // read the whole block
            }
            byte[] b = buf.array();
            int nl = -1;
            for (int i = b.length - 1; i >= 0; i--) {
                if (b[i] == '\n') {
                    nl = i;
                    break;
                }
            }
            if (nl >= 0) {
                start = from + nl + 1;
                break;
            }
            start = from;
        }
        ByteBuffer text = ByteBuffer.allocate((int) (end - start));
        while (text.hasRemaining() && ch.read(text, start + text.position()) > 0) {
            // read the whole line
        }
        return new String(text.array(), StandardCharsets.UTF_8);
    }

    /** The next sequence number: the last record's plus one, or the line count plus one if it is unreadable. */
    private long nextSeq(String last) throws IOException {
        try {
            return Json.decode(last, AuditRecord.class).seq() + 1;
        } catch (FrameException e) {
            long lines = 0;
            try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                while (r.readLine() != null) {
                    lines++;
                }
            }
            return lines + 1;
        }
    }

    private Head readHead() {
        try {
            return Json.mapper().readValue(Files.readString(headFile), Head.class);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return new Head("(unreadable head file: " + e.getMessage() + ")", 0, "");
        }
    }

    private void writeHead(Head head) throws IOException {
        Files.createDirectories(headFile.getParent());
        Path tmp = headFile.resolveSibling(headFile.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            write(ch, 0, Json.encode(head).getBytes(StandardCharsets.UTF_8));
            ch.force(true);
        }
        try {
            Files.move(tmp, headFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, headFile, StandardCopyOption.REPLACE_EXISTING);
        }
        // The rename is not synced: after a crash the head may be one line behind, which verify
        // accepts (the chain still covers that line); the trail itself was synced above.
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // Some filesystems refuse fsync on a directory; the file itself was synced.
        }
    }

    public static String sha256(String text) {
        return Hashes.sha256(text);
    }
}
