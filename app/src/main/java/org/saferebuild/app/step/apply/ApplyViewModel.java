package org.saferebuild.app.step.apply;

import java.time.Duration;
import java.time.Instant;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.property.ReadOnlyLongProperty;
import javafx.beans.property.ReadOnlyLongWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import org.saferebuild.app.AppContext;
import org.saferebuild.app.client.Problems;
import org.saferebuild.app.log.LogModel;
import org.saferebuild.app.wizard.StepModel;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemResult;

/**
 * Apply (runbook step 6): activates the built system in the chosen mode, streams the activation
 * output, then runs the confirm-or-revert countdown the engine keeps (it reverts by itself if
 * nobody confirms, even when this app is gone).
 */
public final class ApplyViewModel extends StepModel {
    public enum Phase { READY, APPLYING, AWAITING_CONFIRM, CONFIRMED, REVERTED, FAILED }

    private final AppContext ctx;
    private final LogModel output = new LogModel(5_000);
    private final ReadOnlyObjectWrapper<Mode> mode = new ReadOnlyObjectWrapper<>(Mode.SWITCH);
    private final ReadOnlyObjectWrapper<Phase> phase = new ReadOnlyObjectWrapper<>(Phase.READY);
    private final ReadOnlyObjectWrapper<SystemResult.Applied> applied = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Event.Failure> failure = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper("");
    private final ReadOnlyLongWrapper secondsLeft = new ReadOnlyLongWrapper(-1);
    private final BooleanBinding canApply;
    private Instant deadline;
    private long applyId;

    public ApplyViewModel(AppContext ctx) {
        super("Apply", "Step 6: Apply to Live System");
        this.ctx = ctx;
        canApply = ctx.session().signedOffProperty().isNotNull().and(ctx.session().builtProperty().isNotNull())
                .and(busy.not()).and(phase.isNotEqualTo(Phase.AWAITING_CONFIRM));
        ctx.client().addUnsolicitedListener(e -> {
            if (e instanceof Event.Notice n) {
                ctx.batcher().post(n.topic() == Event.Notice.Topic.COUNTDOWN ? secondsLeft : n, () -> onNotice(n));
            }
        });
        ctx.session().signedOffProperty().addListener((o, a, b) -> {
            if (b == null && phase.get() != Phase.AWAITING_CONFIRM) {
                phase.set(Phase.READY);
                complete.set(false);
                status.set("");
            }
        });
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

    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }

    public ReadOnlyLongProperty secondsLeftProperty() {
        return secondsLeft.getReadOnlyProperty();
    }

    /** Apply is possible only after sign-off, with a built system, and not during a countdown. */
    public BooleanBinding canApplyProperty() {
        return canApply;
    }

    /** The button's name: the action it performs. */
    public static String actionName(Mode m) {
        return switch (m) {
            case TEST -> "Test the new configuration until reboot";
            case SWITCH -> "Switch to the new configuration";
            case BOOT -> "Make the new configuration the boot default";
        };
    }

    /** One sentence per mode, as the operator needs it. */
    public static String explain(Mode m) {
        return switch (m) {
            case TEST -> "Activates the new system now without adding a generation or changing the boot default: "
                    + "a reboot brings back the current one. You confirm it or it is reverted.";
            case SWITCH -> "Adds a generation, activates it now and makes it the boot default (the runbook's "
                    + "nixos-rebuild switch). You confirm it or it is reverted to the current generation.";
            case BOOT -> "Adds a generation and makes it the boot default; nothing changes until the next boot, "
                    + "so there is nothing to confirm now.";
        };
    }

    // Commands

    public void chooseMode(Mode m) {
        if (phase.get() != Phase.APPLYING && phase.get() != Phase.AWAITING_CONFIRM) {
            mode.set(m);
        }
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
        complete.set(false);
        output.reset(ctx.logDir().resolve("activation-" + System.currentTimeMillis() + ".log"));
        status.set(actionName(m) + ": running switch-to-configuration " + m.name().toLowerCase() + "…");
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
            busy.set(false);
            output.flushFile();
            if (err != null) {
                Event.Failure f = Problems.of(err);
                failure.set(f);
                phase.set(Phase.FAILED);
                status.set("The activation failed; the message says what state the system is in.");
                ctx.session().applyEnded("Failed: " + f.message());
                return;
            }
            applied.set(a);
            ctx.session().applied(a);
            if (a.awaitingConfirm()) {
                deadline = a.confirmDeadline() == null ? null : Instant.parse(a.confirmDeadline());
                secondsLeft.set(a.confirmSeconds() == null ? -1 : a.confirmSeconds());
                phase.set(Phase.AWAITING_CONFIRM);
                status.set(a.message());
            } else {
                phase.set(Phase.CONFIRMED);
                status.set(a.message());
                ctx.session().applyEnded(a.message());
                complete.set(true);
            }
        }));
    }

    /** "Keep this configuration": stops the engine's revert timer. */
    public void keep() {
        if (phase.get() != Phase.AWAITING_CONFIRM) {
            return;
        }
        busy.set(true);
        ctx.client().run(SystemRequest.Confirm::new, SystemResult.Confirmed.class).result()
                .whenComplete((c, err) -> ctx.ui().execute(() -> {
                    busy.set(false);
                    if (err != null) {
                        failure.set(Problems.of(err));
                        return;
                    }
                    confirmed(c.message());
                }));
    }

    /** "Revert now": goes back to the previous generation without waiting for the timer. */
    public void revertNow() {
        if (phase.get() != Phase.AWAITING_CONFIRM) {
            return;
        }
        busy.set(true);
        ctx.client().run(SystemRequest.Revert::new, SystemResult.Reverted.class).result()
                .whenComplete((r, err) -> ctx.ui().execute(() -> {
                    busy.set(false);
                    if (err != null) {
                        failure.set(Problems.of(err));
                        return;
                    }
                    reverted(r.message());
                }));
    }

    /** Called once a second by the view while the countdown runs, between the engine's notices. */
    public void tick(Instant now) {
        if (phase.get() == Phase.AWAITING_CONFIRM && deadline != null) {
            secondsLeft.set(Math.max(0, (Duration.between(now, deadline).toMillis() + 999) / 1000));
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
                if (n.secondsLeft() != null) {
                    secondsLeft.set(n.secondsLeft());
                }
                if (n.deadline() != null) {
                    deadline = Instant.parse(n.deadline());
                }
            }
            case CONFIRMED -> confirmed(n.message());
            case REVERTING -> status.set(n.message());
            case REVERTED -> reverted(n.message());
            case REVERT_FAILED -> {
                phase.set(Phase.FAILED);
                status.set(n.message());
                ctx.session().applyEnded(n.message());
            }
        }
    }

    private void confirmed(String message) {
        if (phase.get() == Phase.CONFIRMED) {
            return;
        }
        phase.set(Phase.CONFIRMED);
        secondsLeft.set(-1);
        status.set(message);
        ctx.session().applyEnded(message);
        complete.set(true);
    }

    private void reverted(String message) {
        if (phase.get() == Phase.REVERTED) {
            return;
        }
        phase.set(Phase.REVERTED);
        secondsLeft.set(-1);
        status.set(message);
        ctx.session().applyEnded(message);
        complete.set(false);
    }
}
