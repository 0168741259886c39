package org.saferebuild.engine.sys;

import java.io.IOException;
import java.nio.file.Path;
import org.saferebuild.engine.Problem;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.ProblemCode;

/**
 * What a failed write of the engine's own state tells the operator: a link where the engine's file
 * belongs is NOT_AUTHORIZED, a full disk is NO_SPACE with the free space measured now and what to
 * free, anything else INTERNAL with the system's words.
 */
public final class StateProblems {
    private StateProblems() {
    }

    /**
     * @param what  the sentence so far ("Cannot store the baseline in /var/lib/safe-rebuild/baselines")
     * @param where a path on the filesystem that was written (for the free-space figure)
     */
    public static Problem of(IOException e, String what, Path where) {
        if (e instanceof SafeFiles.Planted p) {
            return new Problem(ProblemCode.NOT_AUTHORIZED, what + ": " + p.getMessage() + ". Nothing was written"
                    + " through it.", "Find out what else writes to the engine's state directory (only root can),"
                    + " remove the link after checking where it points, and try again.", e);
        }
        if (noSpace(e)) {
            return noSpace(what, where, 0, e);
        }
        return Problem.internal(what + ": " + e.getMessage(), e);
    }

    /** Whether an I/O error says the disk (or the quota) is full. */
    public static boolean noSpace(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof LibC.Errno errno && errno.noSpace()) {
                return true;
            }
            String m = t.getMessage();
            if (m != null && (m.contains("No space left on device") || m.contains("Disk quota exceeded"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * NO_SPACE for a write under {@code where} that did not fit: the free space measured now on its
     * filesystem, how much was needed when known, and what to free.
     */
    public static Problem noSpace(String what, Path where, long neededBytes, Throwable cause) {
        PreflightReport.Disk d = DiskSpace.measure("engine's state", where, neededBytes);
        return new Problem(ProblemCode.NO_SPACE, what + ": the disk is full. Only " + DiskSpace.human(d.freeBytes())
                + " of " + DiskSpace.human(d.totalBytes()) + " is free on the filesystem of " + d.path()
                + (neededBytes > 0 ? "; " + DiskSpace.human(neededBytes) + " is needed" : "")
                + ". Nothing was left half-written.", DiskSpace.FIX, cause);
    }
}
