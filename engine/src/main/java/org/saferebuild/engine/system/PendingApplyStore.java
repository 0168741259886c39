package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sys.DaemonThreads;
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

    /** The threads that write pending.json alongside an apply's checks; an idle one ends after a minute. */
    private static final ExecutorService ALONGSIDE = Executors.newCachedThreadPool(DaemonThreads.named("pending"));

    /**
     * Starts writing {@code p} on another thread while the caller still checks what it will apply:
     * first the operation's audit intent must be on disk ({@link OpContext#awaitBeforeChange()}),
     * then {@code p} is saved as {@link #save} does. The caller {@link Alongside#await()}s it before it
     * changes anything, or {@link Alongside#discard()}s it when a check refuses (docs/apply.md, steps 2
     * and 3: the write no longer waits for the checks).
     */
    Alongside saveAlongside(PendingApply p, OpContext ctx) {
        CompletableFuture<Void> written = new CompletableFuture<>();
        ALONGSIDE.execute(() -> {
            try {
                ctx.awaitBeforeChange();
                save(p);
                written.complete(null);
            } catch (Problem | RuntimeException | Error e) {
                written.completeExceptionally(e);
            }
        });
        return new Alongside(written);
    }

    /** pending.json being written alongside the checks. */
    final class Alongside {
        private final CompletableFuture<Void> written;

        private Alongside(CompletableFuture<Void> written) {
            this.written = written;
        }

        /** Waits until it is on disk; throws why it is not (the intent or the file could not be written). */
        void await() throws Problem {
            Problem.await(written, "writing " + file);
        }

        /**
         * The checks refused, or the operation was cancelled: waits for the write to end and removes
         * what it wrote, so that no engine finds an apply to put back that never changed anything.
         */
        void discard() {
            try {
                written.join();
            } catch (CompletionException | java.util.concurrent.CancellationException e) {
                // not written, or written but not synced: removed all the same (nothing if absent)
            }
            clear();
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
