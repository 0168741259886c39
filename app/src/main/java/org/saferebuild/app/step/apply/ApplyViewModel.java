package org.saferebuild.app.step.apply;

import java.time.Duration;
import java.time.Instant;
import javafx.beans.binding.BooleanBinding;
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
import org.saferebuild.app.log.LogModel;
import org.saferebuild.app.ui.Times;
import org.saferebuild.app.wizard.StepModel;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemResult;

/**
 * Apply (runbook step 6): activates the built system in the chosen mode, streams the activation
 * output, then runs the confirm-or-revert countdown the engine keeps (it reverts by itself if
 * nobody confirms, even when this app is gone). One apply per run: once it ended — kept, reverted
 * or failed — the screen says what happened and the only ways on are Verify and a new change (a new
 * build is a new run, which this screen starts again from).
 */
public final class ApplyViewModel extends StepModel {
    /** LOST: the engine (or the connection to the target) went away while the apply was running or waited. */
    public enum Phase { READY, APPLYING, AWAITING_CONFIRM, CONFIRMED, REVERTED, FAILED, LOST }

    /** How the apply ended, for the screen: a title, what happened, and whether it went as wanted. */
    public record Outcome(String title, String text, boolean good) {
    }

    private final AppContext ctx;
    private final LogModel output = new LogModel(5_000);
    private final ReadOnlyObjectWrapper<Mode> mode = new ReadOnlyObjectWrapper<>(Mode.SWITCH);
    private final ReadOnlyObjectWrapper<Phase> phase = new ReadOnlyObjectWrapper<>(Phase.READY);
    private final ReadOnlyObjectWrapper<SystemResult.Applied> applied = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Event.Failure> failure = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Outcome> outcome = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper("");
    private final ReadOnlyStringWrapper deadlineText = new ReadOnlyStringWrapper("");
    private final ReadOnlyLongWrapper secondsLeft = new ReadOnlyLongWrapper(-1);
    private final ReadOnlyBooleanWrapper acting = new ReadOnlyBooleanWrapper();
    private final BooleanBinding canApply;
    private Instant deadline;
    private long applyId;
    private Runnable startOver = () -> { };

    public ApplyViewModel(AppContext ctx) {
        super("Apply", "Step 6: Apply to Live System");
        this.ctx = ctx;
        canApply = ctx.session().signedOffProperty().isNotNull().and(ctx.session().builtProperty().isNotNull())
                .and(busy.not()).and(phase.isEqualTo(Phase.READY));
        ctx.client().addUnsolicitedListener(e -> {
            if (e instanceof Event.Notice n) {
                ctx.batcher().post(n.topic() == Event.Notice.Topic.COUNTDOWN ? secondsLeft : n, () -> onNotice(n));
            }
        });
        // A new run (another target or a new build) starts this screen again; a countdown in progress
        // is never dropped (navigation is blocked while it runs).
        ctx.session().runProperty().addListener((o, a, b) -> reset());
        ctx.session().signedOffProperty().addListener((o, a, b) -> {
            if (b == null && phase.get() == Phase.READY) {
                status.set("");
            }
        });
        ctx.client().closed().thenAccept(reason -> ctx.ui().execute(() -> connectionLost(reason)));
    }

    /**
     * The engine is gone (killed, or the ssh connection to the target ended): Keep and Revert can
     * no longer reach it, so the countdown here stops. The engine that applied holds the deadline
     * itself (and, where systemd runs, systemd's timer does): without a confirmation it goes back.
     */
    private void connectionLost(String reason) {
        Phase was = phase.get();
        if (was != Phase.AWAITING_CONFIRM && was != Phase.APPLYING) {
            return;
        }
        SystemResult.Applied a = applied.get();
        Instant due = deadline;
        busy.set(false);
        acting.set(false);
        phase.set(Phase.LOST);
        secondsLeft.set(-1);
        deadlineText.set("");
        status.set("");
        String text;
        if (was == Phase.AWAITING_CONFIRM) {
            text = "Keep and Revert can no longer reach the engine, so nothing can confirm this change from here. "
                    + "The engine on that machine holds the deadline itself: unless the change is confirmed, it goes "
                    + "back to " + (a == null || a.generationBefore() == null ? "the previous generation"
                    : "generation " + a.generationBefore())
                    + (due == null ? "" : " at " + Times.clock(due)) + ", whether or not this window is open.";
        } else {
            text = "The activation's end was not seen here. If it finished, the engine on that machine waits for a "
                    + "confirmation and otherwise goes back to the previous generation by itself.";
        }
        outcome.set(new Outcome("Connection lost: " + reason, text, false));
        ctx.session().applyEnded("Connection lost during the apply: " + reason);
    }

    public LogModel output() {
        return output;
    }

    public ReadOnlyObjectProperty<Mode> modeProperty() {
        return mode.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Phase> phaseProperty() {
        return phase.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<SystemResult.Applied> appliedProperty() {
        return applied.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Event.Failure> failureProperty() {
        return failure.getReadOnlyProperty();
    }

    /** How this run's apply ended (null until it did). */
    public ReadOnlyObjectProperty<Outcome> outcomeProperty() {
        return outcome.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }

    /** "reverts at 01:27:09 (in 1 min 58 s) unless you keep it". */
    public ReadOnlyStringProperty deadlineTextProperty() {
        return deadlineText.getReadOnlyProperty();
    }

    public ReadOnlyLongProperty secondsLeftProperty() {
        return secondsLeft.getReadOnlyProperty();
    }

    /** Keep or Revert is on its way to the engine (their buttons wait). */
    public ReadOnlyBooleanProperty actingProperty() {
        return acting.getReadOnlyProperty();
    }

    /** Apply is possible only after sign-off, with a built system, and once per run. */
    public BooleanBinding canApplyProperty() {
        return canApply;
    }

    /** What "Start a new change" does (the window sends the operator to the Target screen). */
    public void setStartOver(Runnable startOver) {
        this.startOver = startOver;
    }

    /** The button's name: the action it performs. */
    public static String actionName(Mode m) {
        return switch (m) {
            case TEST -> "Test the new _configuration until reboot";
            case SWITCH -> "Switch to the new _configuration";
            case BOOT -> "Make the new _configuration the boot default";
        };
    }

    /** One sentence per mode, as the operator needs it. */
    public static String explain(Mode m) {
        return switch (m) {
            case TEST -> "Activates it now without a new generation or boot entry; a reboot brings back the current"
                    + " one. You keep it or it is reverted.";
            case SWITCH -> "Adds a generation, activates it now and makes it the boot default (nixos-rebuild switch)."
                    + " You keep it or it is reverted.";
            case BOOT -> "Adds a generation and makes it the boot default; nothing changes until the next boot.";
        };
    }

    // Commands

    public void chooseMode(Mode m) {
        if (phase.get() == Phase.READY) {
            mode.set(m);
        }
    }

    public void startOver() {
        startOver.run();
    }

    public void apply() {
        var built = ctx.session().builtProperty().get();
        if (!canApply.get() || built == null) {
            return;
        }
        Mode m = mode.get();
        busy.set(true);
        phase.set(Phase.APPLYING);
        failure.set(null);
        outcome.set(null);
        complete.set(false);
        output.reset(ctx.logDir().resolve("activation-" + System.currentTimeMillis() + ".log"));
        status.set(actionName(m).replace("_", "") + ": running switch-to-configuration " + m.name().toLowerCase()
                + "…");
        var op = ctx.client().run(id -> new SystemRequest.Apply(id, built.storePath(), null, m, null),
                SystemResult.Applied.class, e -> {
                    if (e instanceof Event.Log l) {
                        output.append(l.stream(), l.lines());
                        ctx.ui().execute(() -> ctx.session().activationLines(l.lines()));
                    } else if (e instanceof Event.Progress p) {
                        ctx.batcher().post(status, () -> status.set(p.message()));
                    }
                });
        applyId = op.id();
        op.result().whenComplete((a, err) -> ctx.ui().execute(() -> {
            output.flushFile();
            if (err != null) {
                Event.Failure f = Problems.of(err);
                busy.set(false);
                phase.set(Phase.FAILED);
                failure.set(f);
                status.set("");
                complete.set(true);
                ctx.session().applyEnded("Failed: " + f.message());
                return;
            }
            applied.set(a);
            ctx.session().applied(a);
            if (a.awaitingConfirm()) {
                deadline = a.confirmDeadline() == null ? null : Instant.parse(a.confirmDeadline());
                secondsLeft.set(a.confirmSeconds() == null ? -1 : a.confirmSeconds());
                tick(Instant.now());
                // The countdown runs: the operator stays here until they keep or revert (busy
                // holds the wizard on this screen; the countdown's own buttons stay live).
                phase.set(Phase.AWAITING_CONFIRM);
                status.set((a.mode() == Mode.TEST ? "Test activation of " : "Switched to generation "
                        + a.generationAfter() + ": ") + org.saferebuild.app.ui.Ui.storeName(a.storePath())
                        + " runs now. Keep it if the system works; otherwise it goes back to generation "
                        + a.generationBefore() + ".");
            } else {
                busy.set(false);
                phase.set(Phase.CONFIRMED);
                status.set("");
                outcome.set(new Outcome(a.mode() == Mode.BOOT ? "The new configuration is the boot default"
                        : "Applied", a.message(), true));
                ctx.session().applyEnded(a.message());
                complete.set(true);
            }
        }));
    }

    /** "Keep this configuration": stops the engine's revert timer. */
    public void keep() {
        if (phase.get() != Phase.AWAITING_CONFIRM || acting.get()) {
            return;
        }
        acting.set(true);
        ctx.client().run(SystemRequest.Confirm::new, SystemResult.Confirmed.class).result()
                .whenComplete((c, err) -> ctx.ui().execute(() -> {
                    acting.set(false);
                    if (err != null) {
                        failure.set(Problems.of(err));
                        return;
                    }
                    confirmed(c.message(), "by you");
                }));
    }

    /** "Revert now": goes back to the previous generation without waiting for the timer. */
    public void revertNow() {
        if (phase.get() != Phase.AWAITING_CONFIRM || acting.get()) {
            return;
        }
        acting.set(true);
        ctx.client().run(SystemRequest.Revert::new, SystemResult.Reverted.class).result()
                .whenComplete((r, err) -> ctx.ui().execute(() -> {
                    acting.set(false);
                    if (err != null) {
                        failure.set(Problems.of(err));
                        return;
                    }
                    reverted(r.message(), "Reverted by you");
                }));
    }

    /** Called once a second by the view while the countdown runs, between the engine's notices. */
    public void tick(Instant now) {
        if (deadline != null && (phase.get() == Phase.AWAITING_CONFIRM || phase.get() == Phase.APPLYING)) {
            long s = Math.max(0, (Duration.between(now, deadline).toMillis() + 999) / 1000);
            secondsLeft.set(s);
            deadlineText.set("Reverts at " + Times.clock(deadline) + " (in " + Times.duration(s) + ") unless you keep"
                    + " it.");
        }
    }

    private void onNotice(Event.Notice n) {
        // Only notices about this window's apply: a countdown from before it opened (apply 0 after an
        // engine restart, or another engine's) belongs to the pending-apply banner.
        boolean ours = applyId != 0 && (n.apply() == applyId
                || n.apply() == 0 && phase.get() == Phase.AWAITING_CONFIRM);
        if (!ours) {
            return;
        }
        switch (n.topic()) {
            case COUNTDOWN -> {
                if (n.deadline() != null) {
                    deadline = Instant.parse(n.deadline());
                }
                tick(Instant.now());
                if (n.secondsLeft() != null) {
                    secondsLeft.set(n.secondsLeft());
                }
            }
            case CONFIRMED -> confirmed(n.message(), "");
            case REVERTING -> status.set(n.message());
            case REVERTED -> reverted(n.message(), "Reverted: nobody kept it before the countdown ended");
            case REVERT_FAILED -> {
                busy.set(false);
                phase.set(Phase.FAILED);
                status.set("");
                secondsLeft.set(-1);
                outcome.set(new Outcome("The revert failed", n.message(), false));
                complete.set(true);
                ctx.session().applyEnded(n.message());
            }
        }
    }

    private void confirmed(String message, String how) {
        if (phase.get() != Phase.AWAITING_CONFIRM) {
            return;
        }
        busy.set(false);
        phase.set(Phase.CONFIRMED);
        secondsLeft.set(-1);
        deadlineText.set("");
        status.set("");
        SystemResult.Applied a = applied.get();
        String what = a == null ? "The new configuration" : a.mode() == Mode.TEST
                ? "The test activation" : "Generation " + a.generationAfter();
        outcome.set(new Outcome("Kept" + (how.isEmpty() ? "" : " " + how) + ": " + what + " runs", message, true));
        ctx.session().applyEnded("Kept" + (how.isEmpty() ? "" : " " + how) + ": " + message);
        complete.set(true);
    }

    private void reverted(String message, String title) {
        if (phase.get() != Phase.AWAITING_CONFIRM) {
            return;
        }
        busy.set(false);
        phase.set(Phase.REVERTED);
        secondsLeft.set(-1);
        deadlineText.set("");
        status.set("");
        SystemResult.Applied a = applied.get();
        outcome.set(new Outcome(title + (a == null || a.generationBefore() == null ? ""
                : "; generation " + a.generationBefore() + " runs again"), message, false));
        ctx.session().applyEnded(title + ": " + message);
        complete.set(true);
    }

    /** A new run: this screen starts again, unless a countdown is running (then nothing may drop it). */
    private void reset() {
        if (phase.get() == Phase.AWAITING_CONFIRM || phase.get() == Phase.APPLYING) {
            return;
        }
        phase.set(Phase.READY);
        applied.set(null);
        failure.set(null);
        outcome.set(null);
        status.set("");
        deadlineText.set("");
        secondsLeft.set(-1);
        deadline = null;
        applyId = 0;
        output.reset(null);
        complete.set(false);
    }
}
