package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Function;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.SafeFiles;
import org.saferebuild.engine.sys.StateProblems;
import org.saferebuild.protocol.ProblemCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The apply lock: one apply, confirm window, revert or rollback at a time. It is held in this
 * engine and as a file lock on {@code <stateDir>/locks/apply.lock}, so a second engine on the same
 * machine is kept out too (an {@code flock} on a file opened without following a link); it is held from the start of an apply until it is confirmed or reverted.
 *
 * <p>This object is also the monitor of the apply this engine holds: {@link ApplyService} and its
 * countdown change that state only while synchronized on the lock, so taking, confirming and
 * reverting are decided once.
 */
final class ApplyLock {
    private static final Logger LOG = LoggerFactory.getLogger(ApplyLock.class);

    private final Path file;
    /** What holds the lock, in words ("an apply (switch) requested by bear"); null when free. */
    private String holder;
    /** The flock on the lock file (opened with O_NOFOLLOW through SafeFiles), while this engine holds it. */
    private SafeFiles.Handle fileLock;

    ApplyLock(Path file) {
        this.file = file;
    }

    /**
     * Takes the lock for {@code what}. If this engine holds it already, throws what
     * {@code busyHere} says about the holder; if another engine does, BUSY naming the lock file.
     */
    synchronized void acquire(String what, Function<String, Problem> busyHere) throws Problem {
        if (holder != null) {
            throw busyHere.apply(holder);
        }
        try {
            WorkDirs.ensurePrivateDir(file.getParent());
            fileLock = SafeFiles.tryLock(file);
        } catch (SafeFiles.Planted e) {
            throw WorkDirs.planted(file);
        } catch (IOException e) {
            throw StateProblems.of(e, "Cannot take the apply lock " + file, file.getParent());
        }
        if (fileLock == null) {
            throw new Problem(ProblemCode.BUSY, "Another Safe Rebuild engine is applying or rolling back on this"
                    + " machine (it holds " + file + ").",
                    "Wait for it to finish (its confirm-or-revert window ends by itself), then try again.");
        }
        holder = what;
    }

    /** Frees the lock (in the engine and on disk) and wakes {@link #awaitFree()}. */
    synchronized void release() {
        holder = null;
        if (fileLock != null) {
            fileLock.close();
        }
        fileLock = null;
        notifyAll();
    }

    /** Blocks until this engine does not hold the lock (Engine.beforeExit). */
    synchronized void awaitFree() {
        while (holder != null) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Whether another process holds the apply lock (this engine does not). */
    synchronized boolean heldElsewhere() {
        if (fileLock != null) {
            return false;
        }
        try (SafeFiles.Handle l = SafeFiles.tryLock(file)) {
            return l == null;
        } catch (IOException e) {
            LOG.warn("cannot look at {}: {}", file, e.toString());
            return false;
        }
    }
}
