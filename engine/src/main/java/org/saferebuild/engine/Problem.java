package org.saferebuild.engine;

import org.saferebuild.protocol.ProblemCode;

/**
 * A failure the operator can act on: a fixed code, what happened, and what to do about it.
 * Every error that leaves the engine is one of these (anything else becomes
 * {@link ProblemCode#INTERNAL}).
 */
public final class Problem extends Exception {
    private static final long serialVersionUID = 1L;

    private final ProblemCode code;
    private final String fix;

    public Problem(ProblemCode code, String message, String fix) {
        super(message);
        this.code = code;
        this.fix = fix;
    }

    public Problem(ProblemCode code, String message, String fix, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.fix = fix;
    }

    public ProblemCode code() {
        return code;
    }

    public String fix() {
        return fix;
    }

    public static Problem invalid(String message) {
        return new Problem(ProblemCode.INVALID_ARGUMENT, message,
                "Check the request; the app should only send values the engine offered.");
    }

    public static Problem notFound(String message, String fix) {
        return new Problem(ProblemCode.NOT_FOUND, message, fix);
    }

    public static Problem internal(String message, Throwable cause) {
        return new Problem(ProblemCode.INTERNAL, message,
                "This is a bug in Safe Rebuild. The engine log (stderr) has the details; nothing was changed"
                        + " beyond what the log says.", cause);
    }

    /**
     * The value of work done on another thread, waiting for it: the Problem it failed with as it is,
     * anything else as INTERNAL, "Verifying the closure failed: …" for {@code doing} "verifying the
     * closure".
     */
    public static <T> T await(java.util.concurrent.Future<T> work, String doing) throws Problem {
        try {
            return work.get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Problem p) {
                throw p;
            }
            throw internal(Character.toUpperCase(doing.charAt(0)) + doing.substring(1) + " failed: " + e.getCause(),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw internal("Interrupted while " + doing, e);
        }
    }
}
