package org.saferebuild.engine.build;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The full log of one build on disk (&lt;stateDir&gt;/logs/build-…log, root only): the app shows a
 * capped view, the operator can open the whole file.
 */
final class BuildLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BuildLog.class);
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

    private final Path path;
    private final BufferedWriter out;
    private boolean broken;

    private BuildLog(Path path, BufferedWriter out) {
        this.path = path;
        this.out = out;
    }

    static BuildLog create(Path logsDir, String host) throws Problem {
        try {
            WorkDirs.ensurePrivateDir(logsDir);
            Path p = logsDir.resolve("build-" + LocalDateTime.now().format(STAMP) + "-" + host + "-"
                    + WorkDirs.randomSuffix(6) + ".log");
            Files.createFile(p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            BufferedWriter w = Files.newBufferedWriter(p, StandardCharsets.UTF_8, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS);
            return new BuildLog(p, w);
        } catch (IOException e) {
            throw Problem.internal("Cannot create the build log in " + logsDir + ": " + e.getMessage(), e);
        }
    }

    Path path() {
        return path;
    }

    synchronized void line(String line) {
        if (broken) {
            return;
        }
        try {
            out.write(line);
            out.write('\n');
        } catch (IOException e) {
            broken = true; // a full disk must not stop the build; the events still carry every line
            LOG.warn("writing {} failed: {}", path, e.toString());
        }
    }

    @Override
    public synchronized void close() {
        try {
            out.close();
        } catch (IOException e) {
            LOG.warn("closing {} failed: {}", path, e.toString());
        }
    }
}
