package org.saferebuild.app.pending;

import java.time.Duration;
import java.time.Instant;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyLongProperty;
import javafx.beans.property.ReadOnlyLongWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import org.saferebuild.app.AppContext;
import org.saferebuild.app.client.Problems;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * An apply waiting for confirmation when the app starts: the app was closed (or crashed) during
 * the confirm-or-revert window and opened again, or the engine resumed a countdown after a
 * restart. The engine that runs the countdown may be another one; the operator's Keep or Revert
 * reaches it through this app's engine ({@code apply.status}, {@code confirm}, {@code revert}).
 */
public final class PendingApplyModel {
    /** How often the state is asked again while waiting: the countdown may end in the other engine. */
    static final Duration RECHECK = Duration.ofSeconds(5);

    private final AppContext ctx;
    private final ReadOnlyObjectWrapper<SystemResult.ApplyState> waiting = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyLongWrapper secondsLeft = new ReadOnlyLongWrapper(-1);
    private final ReadOnlyStringWrapper outcome = new ReadOnlyStringWrapper();
    private final ReadOnlyBooleanWrapper busy = new ReadOnlyBooleanWrapper();
    private Instant lastCheck = Instant.EPOCH;

    public PendingApplyModel(AppContext ctx) {
        this.ctx = ctx;
    }

    /** The apply waiting for confirmation, or null. */
    public ReadOnlyObjectProperty<SystemResult.ApplyState> waitingProperty() {
        return waiting.getReadOnlyProperty();
    }

    public ReadOnlyLongProperty secondsLeftProperty() {
        return secondsLeft.getReadOnlyProperty();
    }

    /** What became of it (confirmed, reverted, ended elsewhere), or a failure to act; null before. */
    public ReadOnlyStringProperty outcomeProperty() {
        return outcome.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty busyProperty() {
        return busy.getReadOnlyProperty();
    }

    /** Asks the engine whether an apply waits for confirmation. */
    public void check() {
        lastCheck = Instant.now();
        ctx.client().run(SystemRequest.ApplyStatus::new, SystemResult.ApplyState.class).result()
                .whenComplete((s, err) -> ctx.ui().execute(() -> {
                    if (err != null) {
                        return; // an engine without apply.status, or gone: nothing to show
                    }
                    SystemResult.ApplyState before = waiting.get();
                    if (s.awaitingConfirm()) {
                        waiting.set(s);
                        tick(Instant.now());
                    } else if (before != null && !busy.get()) {
                        waiting.set(null);
                        secondsLeft.set(-1);
                        outcome.set("The countdown of " + label(before) + " ended without a confirmation from this"
                                + " window: " + s.message() + " Generations shows what runs now.");
                        ctx.session().systemChangedElsewhere("The countdown of " + label(before)
                                + " (from before this window) ended: " + s.message());
                    }
                }));
    }

    /** Once a second from the view: the seconds left from the deadline, and now and then a recheck. */
    public void tick(Instant now) {
        SystemResult.ApplyState s = waiting.get();
        if (s == null) {
            return;
        }
        secondsLeft.set(Math.max(0, (Duration.between(now, Instant.parse(s.deadline())).toMillis() + 999) / 1000));
        if (!busy.get() && Duration.between(lastCheck, now).compareTo(RECHECK) >= 0) {
            check();
        }
    }

    /** "Keep this configuration". */
    public void keep() {
        if (waiting.get() == null || busy.get()) {
            return;
        }
        busy.set(true);
        ctx.client().run(SystemRequest.Confirm::new, SystemResult.Confirmed.class).result()
                .whenComplete((c, err) -> ctx.ui().execute(() -> done(err == null ? c.message() : null, err, false)));
    }

    /** "Revert now". */
    public void revert() {
        if (waiting.get() == null || busy.get()) {
            return;
        }
        busy.set(true);
        ctx.client().run(SystemRequest.Revert::new, SystemResult.Reverted.class).result()
                .whenComplete((r, err) -> ctx.ui().execute(() -> done(err == null ? r.message() : null, err, true)));
    }

    /** {@code reverted}: the running system changed; a keep changes nothing that runs. */
    private void done(String message, Throwable err, boolean reverted) {
        busy.set(false);
        if (err != null) {
            var f = Problems.of(err);
            outcome.set(f.message() + (f.fix() == null ? "" : " " + f.fix()));
            check();
            return;
        }
        waiting.set(null);
        secondsLeft.set(-1);
        outcome.set(message);
        if (reverted) {
            ctx.session().systemChangedElsewhere("Reverted from the reopened-window banner: " + message);
        } else {
            ctx.session().note("Kept from the reopened-window banner: " + message);
        }
    }

    static String label(SystemResult.ApplyState s) {
        return s.mode() == SystemRequest.Mode.TEST ? "the test activation" : "generation " + s.generation();
    }
}
