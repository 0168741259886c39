package org.saferebuild.engine.system;

import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.saferebuild.engine.sys.DaemonThreads;

/**
 * The confirm-or-revert deadline held by the engine: one thread that ticks every second. The
 * engine outlives the app (its stdin closing, SIGHUP, a broken or stalled output pipe:
 * docs/apply.md); if the engine itself is killed, the next engine start finds pending.json and
 * reverts or resumes.
 */
final class ConfirmTimer implements ConfirmDeadline {
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(
            DaemonThreads.named("confirm-or-revert"));
    private final Tick tick;
    /** Guarded by the apply lock's monitor, like start and stop. */
    private ScheduledFuture<?> ticking;

    ConfirmTimer(Tick tick) {
        this.tick = tick;
    }

    @Override
    public void start(PendingApply p) {
        Instant deadline = Instant.parse(p.deadline());
        ticking = thread.scheduleAtFixedRate(() -> tick.second(p, deadline), 1, 1, TimeUnit.SECONDS);
    }

    @Override
    public void stop() {
        if (ticking != null) {
            ticking.cancel(false);
            ticking = null;
        }
    }

    /** Runs work on the countdown's thread (a revert after a restart), one at a time with the ticks. */
    void execute(Runnable work) {
        thread.execute(work);
    }
}
