package org.saferebuild.engine.system;

import java.time.Instant;

/**
 * The confirm-or-revert deadline of the apply this engine holds (runbook step 6: "confirm within N
 * seconds or it goes back"). Started when an apply waits for confirmation, stopped when it is
 * confirmed or taken for reverting; both while the caller holds the {@link ApplyLock}'s monitor.
 *
 * <p>{@link ConfirmTimer} keeps it inside the engine. A backend that reverts without any engine
 * alive (a transient systemd timer) is a sibling implementation, started and stopped at the same
 * two places ({@code ApplyService.startCountdown} and {@code stopCountdown}).
 */
interface ConfirmDeadline {

    /** What happens each second until the deadline and once it has passed (ApplyService decides). */
    @FunctionalInterface
    interface Tick {
        void second(PendingApply p, Instant deadline);
    }

    /** Starts counting down to {@code p.deadline()}. */
    void start(PendingApply p);

    /** Stops the countdown; nothing happens at the deadline any more. Harmless when not started. */
    void stop();
}
