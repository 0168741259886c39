package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hand-over between engines. An app opened after another app went away talks to a new engine,
 * while the old engine still runs the countdown and holds the apply lock: the new engine finds
 * that countdown ({@link #waitingElsewhere()}, for apply.status) and hands the operator's confirm
 * or revert to it through {@code <stateDir>/apply/answer.json}; the countdown's engine looks for it
 * every second ({@link #take()}) and writes what it did to {@code answered.json} ({@link #reply}).
 */
final class EngineHandover {
    private static final Logger LOG = LoggerFactory.getLogger(EngineHandover.class);

    /** How long an engine waits for the countdown's engine to pick up a forwarded answer (it looks every second). */
    static final Duration PICKUP = Duration.ofSeconds(10);

    /** A confirm or revert asked through another engine, for the engine that runs the countdown. */
    record Answer(String nonce, String action, AuditRecord.Who who, String at) {
    }

    /** What the countdown's engine did with an {@link Answer}: confirmed, reverted, revert-failed, too-late. */
    record Answered(String nonce, String outcome, String message, String runningSystem) {
    }

    private final PendingApplyStore pending;
    private final ApplyLock lock;
    private final Path answerFile;
    private final Path answeredFile;

    EngineHandover(Path applyDir, PendingApplyStore pending, ApplyLock lock) {
        this.pending = pending;
        this.lock = lock;
        this.answerFile = applyDir.resolve("answer.json");
        this.answeredFile = applyDir.resolve("answered.json");
    }

    // The engine whose app asks

    /**
     * The apply another engine left waiting for confirmation (its app went away; it keeps the
     * countdown), if that engine still holds the apply lock. A pending apply without a live owner
     * is not offered: the next engine start reverts it ({@link ApplyService#resume()}).
     */
    Optional<PendingApply> waitingElsewhere() {
        PendingApply p;
        try {
            p = pending.load();
        } catch (IOException e) {
            LOG.warn("cannot read {}: {}", pending.file(), e.toString());
            return Optional.empty();
        }
        if (p == null || p.enginePid() == ProcessHandle.current().pid()
                || !alive(p.enginePid())
                || !lock.heldElsewhere()) {
            return Optional.empty();
        }
        return Optional.of(p);
    }

    /**
     * Hands a confirm or revert to the engine that runs the countdown and waits for its answer.
     * This engine's dispatcher records the operation in the audit trail, with this app's operator.
     */
    Answered forward(PendingApply owner, String action, OpContext ctx) throws Problem {
        if (owner.phase() != PendingApply.Phase.AWAITING_CONFIRM) {
            throw new Problem(ProblemCode.BUSY, "The apply of " + owner.applied() + " is no longer waiting:"
                    + " engine pid " + owner.enginePid() + " is "
                    + (owner.phase() == PendingApply.Phase.REVERTING ? "reverting" : "activating") + " it.",
                    "Wait until it has finished, then look at the generations.");
        }
        String nonce = UUID.randomUUID().toString();
        try {
            StateFiles.delete(answeredFile);
            StateFiles.replace(answerFile, Json.encode(new Answer(nonce, action, ctx.operator(),
                    Instant.now().toString())));
        } catch (IOException e) {
            throw Problem.internal("Cannot hand the " + action + " to engine pid " + owner.enginePid() + " through "
                    + answerFile + ": " + e.getMessage(), e);
        }
        ctx.progress("forward", "Asking engine pid " + owner.enginePid() + ", which runs the countdown, to " + action,
                null, null);
        long pickupBy = System.nanoTime() + PICKUP.toNanos();
        while (true) {
            Answered a = StateFiles.read(answeredFile, Answered.class);
            if (a != null && nonce.equals(a.nonce())) {
                StateFiles.delete(answeredFile);
                awaitSettled(owner);
                return a;
            }
            Answer waiting = StateFiles.read(answerFile, Answer.class);
            boolean notTaken = waiting != null && nonce.equals(waiting.nonce());
            if (notTaken && System.nanoTime() > pickupBy) {
                StateFiles.delete(answerFile);
                throw new Problem(ProblemCode.BUSY, "Engine pid " + owner.enginePid() + ", which runs the countdown of "
                        + owner.applied() + ", did not take the " + action + " within " + PICKUP.toSeconds()
                        + " s.", "Without a confirmation it goes back to generation " + owner.generationBefore()
                        + " at " + owner.deadline() + " by itself; try again, or wait for that.");
            }
            if (!alive(owner.enginePid())) {
                throw new Problem(ProblemCode.BUSY, "Engine pid " + owner.enginePid() + ", which ran the countdown of "
                        + owner.applied() + ", stopped before answering.",
                        "Close and open Safe Rebuild: the next engine start goes back to generation "
                                + owner.generationBefore() + " (nothing was confirmed).");
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw Problem.internal("Interrupted while waiting for engine pid " + owner.enginePid(), e);
            }
        }
    }

    /** After the answer: until the countdown's engine has removed pending.json (or gone), at most 5 s. */
    private void awaitSettled(PendingApply owner) throws Problem {
        long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        try {
            while (System.nanoTime() < until && pending.exists() && alive(owner.enginePid())) {
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Problem.internal("Interrupted while waiting for engine pid " + owner.enginePid(), e);
        }
    }

    static Problem tooLate(Answered a) {
        return new Problem(ProblemCode.NOT_FOUND, "Too late: " + a.message(),
                "Look at the generations to see what runs now; roll back or apply again if needed.");
    }

    // The engine that runs the countdown

    /** An answer another engine left, taken (removed) so it is done once; null if there is none. */
    Answer take() {
        Answer a = StateFiles.read(answerFile, Answer.class);
        if (a != null) {
            StateFiles.delete(answerFile);
        }
        return a;
    }

    /** Says what was done with an answer; written before the lock is freed (the engine may exit then). */
    void reply(Answered a) {
        try {
            StateFiles.replace(answeredFile, Json.encode(a));
        } catch (IOException e) {
            LOG.error("cannot write {}: {}", answeredFile, e.toString());
        }
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }
}
