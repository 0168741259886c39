package org.saferebuild.engine.system;

import java.time.Instant;
import java.util.List;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.SystemRequest.Mode;

/**
 * Everything needed to put the system back as it was before an apply; kept in
 * {@code <stateDir>/apply/pending.json} ({@link PendingApplyStore}) from before the system is
 * touched until the apply is confirmed or reverted, so a restarted engine knows what to put back.
 *
 * @param applyId           the apply request's id (0 after a restart)
 * @param generationBefore  the profile's generation before
 * @param pathBefore        its store path
 * @param runningBefore     what the running-system link pointed at before (may differ after a test)
 * @param generationAfter   the profile's generation after nix-env --set (null until then)
 * @param createdGeneration whether nix-env --set made a new generation (it does not for the current path)
 * @param enginePid         the engine that holds the apply (runs its countdown)
 * @param activationPid     the switch-to-configuration process while it runs
 * @param generationsBefore the profile's generations before anything changed: putting back never
 *                          removes one of these, whatever nix-env did (it reuses the newest generation
 *                          when that has the same system)
 * @param kind              "apply" or "rollback" (a rollback is kept here too, so an engine killed
 *                          during it is recovered from like an apply)
 */
public record PendingApply(long applyId, Mode mode, String storePath, int generationBefore, String pathBefore,
                           String runningBefore, Integer generationAfter, boolean createdGeneration, Phase phase,
                           String deadline, Integer confirmSeconds, AuditRecord.Who who, long enginePid,
                           Long activationPid, List<Integer> generationsBefore, String kind) {

    public static final String APPLY = "apply";
    public static final String ROLLBACK = "rollback";

    public PendingApply {
        generationsBefore = generationsBefore == null ? null : List.copyOf(generationsBefore);
        kind = kind == null ? APPLY : kind;
    }

    /** Where an apply is. Persisted: a restarted engine decides from it what to put back. */
    public enum Phase { ACTIVATING, AWAITING_CONFIRM, REVERTING }

    PendingApply with(Phase p) {
        return new PendingApply(applyId, mode, storePath, generationBefore, pathBefore, runningBefore, generationAfter,
                createdGeneration, p, deadline, confirmSeconds, who, enginePid, activationPid, generationsBefore, kind);
    }

    PendingApply withProfile(Integer after, boolean created) {
        return new PendingApply(applyId, mode, storePath, generationBefore, pathBefore, runningBefore, after, created,
                phase, deadline, confirmSeconds, who, enginePid, activationPid, generationsBefore, kind);
    }

    PendingApply withActivation(Long pid) {
        return new PendingApply(applyId, mode, storePath, generationBefore, pathBefore, runningBefore, generationAfter,
                createdGeneration, phase, deadline, confirmSeconds, who, enginePid, pid, generationsBefore, kind);
    }

    PendingApply ownedBy(long pid) {
        return new PendingApply(applyId, mode, storePath, generationBefore, pathBefore, runningBefore, generationAfter,
                createdGeneration, phase, deadline, confirmSeconds, who, pid, activationPid, generationsBefore, kind);
    }

    PendingApply awaiting(Instant until, int seconds) {
        return new PendingApply(applyId, mode, storePath, generationBefore, pathBefore, runningBefore, generationAfter,
                createdGeneration, Phase.AWAITING_CONFIRM, until.toString(), seconds, who, enginePid, null, generationsBefore, kind);
    }

    /**
     * Whether putting back may remove generation {@code n}: only one this apply made, never one that
     * was there before it (when that is not known, only what nix-env reported as new).
     */
    boolean made(int n) {
        if (generationsBefore != null) {
            return !generationsBefore.contains(n) && n != generationBefore;
        }
        return createdGeneration && n != generationBefore;
    }

    boolean isRollback() {
        return ROLLBACK.equals(kind);
    }

    /** The system that ran before: the running-system link, or the profile's if there was none. */
    String previousRunning() {
        return runningBefore != null ? runningBefore : pathBefore;
    }

    /** What was applied, in the operator's words: "generation 3 (/nix/store/…)" or "/nix/store/… (test)". */
    String applied() {
        if (isRollback()) {
            return "the rollback to generation " + generationAfter + " (" + storePath + ")";
        }
        return mode == Mode.TEST ? storePath + " (test)" : "generation " + generationAfter + " (" + storePath + ")";
    }
}
