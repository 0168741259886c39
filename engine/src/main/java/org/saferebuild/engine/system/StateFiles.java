package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.protocol.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the apply's files in the root-only state directory ({@code apply/pending.json},
 * {@code answer.json}, {@code answered.json}) are replaced, read and removed. The one place that
 * writes them: a safer way to write (issue 11) changes {@link #replace} only.
 */
final class StateFiles {
    private static final Logger LOG = LoggerFactory.getLogger(StateFiles.class);

    private StateFiles() {
    }

    /** Replaces {@code file} atomically, its content synced first; its directory is made private if needed. */
    static void replace(Path file, String text) throws IOException {
        try {
            WorkDirs.ensurePrivateDir(file.getParent());
        } catch (Problem e) {
            throw new IOException(e.getMessage(), e);
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS)) {
            ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** The file's JSON as {@code type}; null if it is absent, or unreadable (logged). */
    static <T> T read(Path file, Class<T> type) {
        try {
            return Json.mapper().readValue(Files.readString(file), type);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring unreadable {}: {}", file, e.toString());
            return null;
        }
    }

    static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("cannot remove {}: {}", file, e.toString());
        }
    }
}
