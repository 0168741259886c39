package org.saferebuild.engine.build;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.SafeFiles;
import org.saferebuild.engine.sys.StateProblems;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The full log of one build on disk (&lt;stateDir&gt;/logs/build-…log, root only): the app shows a
 * capped view, the operator can open the whole file. A log that could not be written (a full disk)
 * does not stop the build, but is never passed off as complete: {@link #problem()} says how much
 * of it is on disk and why the rest is not.
 */
final class BuildLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BuildLog.class);
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

    private final Path path;
    private final Counting counted;
    private final OutputStream out;
    private String error;

    private BuildLog(Path path, OutputStream file) {
        this.path = path;
        this.counted = new Counting(file);
        this.out = new BufferedOutputStream(counted, 16 * 1024);
    }

    static BuildLog create(Path logsDir, String host) throws Problem {
        try {
            WorkDirs.ensurePrivateDir(logsDir);
            Path p = logsDir.resolve("build-" + LocalDateTime.now().format(STAMP) + "-" + host + "-"
                    + WorkDirs.randomSuffix(6) + ".log");
            return new BuildLog(p, SafeFiles.createStream(p, 0600));
        } catch (IOException e) {
            throw StateProblems.of(e, "Cannot create the build log in " + logsDir, logsDir);
        }
    }

    Path path() {
        return path;
    }

    synchronized void line(String line) {
        if (error != null) {
            return;
        }
        try {
            out.write(line.getBytes(StandardCharsets.UTF_8));
            out.write('\n');
        } catch (IOException e) {
            broken(e); // a full disk must not stop the build; the events still carry every line
        }
    }

    /** Null while every line reached the file; otherwise what went wrong and how much is there. */
    synchronized String problem() {
        flush();
        return error == null ? null : "The build log " + path + " could not be written (" + error + "): it holds"
                + " only its first " + counted.bytes + " bytes. Every line was still sent to the app.";
    }

    /** Where the log is, for messages: the path, or the path and why it is incomplete. */
    synchronized String reference() {
        String p = problem();
        return p == null ? path.toString() : path + " (incomplete: " + error + ", " + counted.bytes + " bytes)";
    }

    private void flush() {
        if (error == null) {
            try {
                out.flush();
            } catch (IOException e) {
                broken(e);
            }
        }
    }

    private void broken(IOException e) {
        error = e.getMessage();
        LOG.warn("writing {} failed after {} bytes: {}", path, counted.bytes, e.toString());
    }

    @Override
    public synchronized void close() {
        flush();
        try {
            out.close();
        } catch (IOException e) {
            if (error == null) {
                broken(e);
            }
        }
    }

    /** Counts the bytes that reached the file. */
    private static final class Counting extends FilterOutputStream {
        long bytes;

        Counting(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            bytes += len;
        }
    }
}
