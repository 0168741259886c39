package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.file.Path;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.SafeFiles;
import org.saferebuild.protocol.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the apply's files in the root-only state directory ({@code apply/pending.json},
 * {@code until-reboot.json}, {@code answer.json}, {@code answered.json}) are replaced, read and
 * removed: through {@link SafeFiles}, never through a link (issue 11).
 */
final class StateFiles {
    private static final Logger LOG = LoggerFactory.getLogger(StateFiles.class);
    /** The apply's files are a few hundred bytes; anything larger was not written by the engine. */
    private static final int LIMIT = 1 << 20;

    private StateFiles() {
    }

    /** Replaces {@code file} atomically, its content synced first; its directory is made private if needed. */
    static void replace(Path file, String text) throws IOException {
        try {
            WorkDirs.ensurePrivateDir(file.getParent());
        } catch (Problem e) {
            throw new IOException(e.getMessage(), e);
        }
        SafeFiles.replace(file, text);
    }

    /** The file's text, null if it is absent; an unreadable file or a link is an error. */
    static String readText(Path file) throws IOException {
        return SafeFiles.readString(file, LIMIT);
    }

    /** The file's JSON as {@code type}; null if it is absent, or unreadable (logged). */
    static <T> T read(Path file, Class<T> type) {
        try {
            String text = readText(file);
            return text == null ? null : Json.mapper().readValue(text, type);
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring unreadable {}: {}", file, e.toString());
            return null;
        }
    }

    /** Removes a state file for good: its directory synced, so it cannot come back after a power cut. */
    static void delete(Path file) {
        try {
            SafeFiles.deleteSynced(file);
        } catch (IOException e) {
            LOG.warn("cannot remove {}: {}", file, e.toString());
        }
    }

    static boolean exists(Path file) {
        return java.nio.file.Files.exists(file, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }
}
