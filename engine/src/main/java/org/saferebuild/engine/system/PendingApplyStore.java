package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.file.Path;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sys.StateProblems;
import org.saferebuild.protocol.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code <stateDir>/apply/pending.json}: the {@link PendingApply} of the apply under way, written
 * before the system is touched and at each step, removed when it is confirmed or put back. An
 * engine that starts and finds it reverts or resumes ({@link ApplyService#resume()}).
 */
final class PendingApplyStore {
    private static final Logger LOG = LoggerFactory.getLogger(PendingApplyStore.class);

    private final Path file;

    PendingApplyStore(Path file) {
        this.file = file;
    }

    Path file() {
        return file;
    }

    /** Writes {@code p} durably; if that fails, nothing after this point may change the system. */
    void save(PendingApply p) throws Problem {
        try {
            StateFiles.replace(file, Json.encode(p));
        } catch (IOException e) {
            if (e.getCause() instanceof Problem pr) {
                throw pr;
            }
            throw StateProblems.of(e, "Cannot write " + file + " (what to put back); nothing was changed after this"
                    + " point", file.getParent());
        }
    }

    /** For updates the apply does not depend on (the activation's pid, a new owner, the phase). */
    void saveQuietly(PendingApply p) {
        try {
            save(p);
        } catch (Problem e) {
            LOG.error("{}", e.getMessage());
        }
    }

    /** What is pending, null if nothing is; an unreadable file is an error (never guessed). */
    PendingApply load() throws IOException {
        String text = StateFiles.readText(file);
        return text == null ? null : Json.mapper().readValue(text, PendingApply.class);
    }

    boolean exists() {
        return StateFiles.exists(file);
    }

    void clear() {
        StateFiles.delete(file);
    }
}
