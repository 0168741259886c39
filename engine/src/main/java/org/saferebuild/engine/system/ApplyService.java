package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Optional;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.EventSink;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.audit.AuditTrail;
import org.saferebuild.engine.build.BuiltSystems;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.system.EngineHandover.Answer;
import org.saferebuild.engine.system.EngineHandover.Answered;
import org.saferebuild.engine.system.PendingApply.Phase;
import org.saferebuild.engine.system.PutBack.Recovery;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runbook step 6 and "Emergency Rollback": the commands apply (test, switch, boot), confirm,
 * revert, rollback to a chosen generation, apply.status, and resume at engine start.
 *
 * <p>The parts, one class each (docs/apply.md, "Where it is in the code"): {@link ApplyTargets},
 * what may be applied; the {@link ApplyLock}, in the engine and on
 * {@code <stateDir>/locks/apply.lock}, also the monitor of {@link #current}; what to put back,
 * {@link PendingApplyStore} ({@code apply/pending.json}, written before the system is touched) and
 * {@link UntilRebootStore}; the confirm-or-revert {@link ConfirmDeadline}s: {@link ConfirmTimer} in the
 * engine, and where systemd runs also {@link SystemdRevertTimer}, which reverts with no engine alive;
 * {@link PutBack} and {@link Reverter}; the {@link EngineHandover} to and from another engine's
 * app; and {@link ApplyNotices} to the app connected now.
 */
public final class ApplyService {
    private static final Logger LOG = LoggerFactory.getLogger(ApplyService.class);

    private final EngineConfig config;
    private final SystemProfile profile;
    private final Activation activation;
    private final ApplyTargets targets;
    private final ApplyLock lock;
    private final PendingApplyStore store;
    private final UntilRebootStore untilReboot;
    private final ApplyNotices notices = new ApplyNotices();
    private final PutBack putBack;
    private final Reverter reverter;
    private final EngineHandover handover;
    private final ConfirmTimer timer = new ConfirmTimer(this::tick);
    private final SystemdRevertTimer systemdTimer;
    /** What systemd's timer did while no engine ran, found at start; apply.status says it. */
    private volatile String unattendedRevert;

    /** The apply this engine holds (activating, awaiting confirmation, reverting); guarded by {@link #lock}. */
    private PendingApply current;

    public ApplyService(EngineConfig config, SystemProfile profile, Closures closures, Activation activation,
                        BuiltSystems built, AuditTrail audit, Tools tools, NixEnv nixEnv) {
        this.config = config;
        this.profile = profile;
        this.activation = activation;
        this.targets = new ApplyTargets(profile, closures, activation, built);
        Path applyDir = config.state().resolve("apply");
        this.lock = new ApplyLock(config.state().resolve("locks").resolve("apply.lock"));
        this.store = new PendingApplyStore(applyDir.resolve("pending.json"));
        this.untilReboot = new UntilRebootStore(applyDir.resolve("until-reboot.json"), profile);
        this.putBack = new PutBack(config, profile, activation);
        this.reverter = new Reverter(putBack, store, notices, audit);
        this.handover = new EngineHandover(applyDir, store, lock);
        this.systemdTimer = new SystemdRevertTimer(config, tools, nixEnv, activation, profile);
    }

    /** Notices (countdown, confirmed, reverted) go to the app connected now. */
    public void attach(EventSink eventSink) {
        notices.attach(eventSink);
    }

    /** The app has gone: the timer keeps running; the reason for a revert will say so. */
    public void appDisconnected() {
        notices.appDisconnected();
    }

    /** Blocks until no apply, confirm window or revert is in progress (Engine.beforeExit). */
    public void awaitIdle() {
        lock.awaitFree();
    }

    public Optional<PendingApply> pending() {
        synchronized (lock) {
            return Optional.ofNullable(current);
        }
    }

    /** What runs until the next boot although the profile boots something else (see {@link UntilReboot}). */
    public Optional<UntilReboot> untilReboot() {
        return untilReboot.current();
    }

    // Commands

    public SystemResult.Applied apply(SystemRequest.Apply r, OpContext ctx) throws Problem {
        String action = r.mode().name().toLowerCase(Locale.ROOT);
        acquire("an apply (" + action + ") requested by " + describe(ctx.operator()));
        boolean handedToTimer = false;
        boolean touched = false;
        boolean activated = false;
        PendingApply p = null;
        try {
            ApplyTargets.Target chosen = targets.forApply(r);
            String target = chosen.storePath();
            int genBefore = profile.current().orElseThrow(() -> Problem.notFound("The system profile "
                    + profile.path() + " has no current generation, so there would be nothing to return to.",
                    "Check the engine's systemProfile setting; on NixOS it is /nix/var/nix/profiles/system."));
            String pathBefore = profile.currentPath().orElseThrow();
            String runningBefore = SystemLinks.readLink(config.currentSystem());
            p = new PendingApply(ctx.id(), r.mode(), target, genBefore, pathBefore, runningBefore, null, false,
                    Phase.ACTIVATING, null, null, ctx.operator(), ProcessHandle.current().pid(), null,
                    profile.numbers(), PendingApply.APPLY, false);
            // On disk before anything changes, so a restarted engine knows what to put back; written
            // while the closure is checked (after the audit intent), removed again if a check refuses.
            checkWhileSaving(chosen, p, ctx);
            touched = true;
            if (r.mode() != Mode.TEST) {
                ctx.progress("profile", "nix-env -p " + profile.path() + " --set " + target, null, null);
                int after = profile.set(target);
                // nix-env reuses the newest generation when it has this system: then the apply made none.
                p = p.withProfile(after, p.made(after));
            } else {
                p = p.withProfile(genBefore, false);
            }
            // Not written again before the activation: an engine that stops here is recovered from the
            // profile itself (PutBack reads the generation nix-env left, and generationsBefore says
            // whether the apply made it). The activation's pid, written as soon as it runs, carries it.
            ctx.progress("activate", "switch-to-configuration " + action, null, null);
            activated = true;
            final PendingApply activating = p;
            Activation.Result res = activation.run(target, action, line -> ctx.log("activation", line),
                    pid -> store.saveQuietly(activating.withActivation(pid)));
            if (!res.ok()) {
                ctx.progress("recover", "Activation failed; putting the previous system back", null, null);
                Recovery rec = putBack.undo(p, true, line -> ctx.log("recovery", line));
                touched = false;
                store.clear();
                throw new Problem(ProblemCode.ACTIVATION_FAILED, "switch-to-configuration " + action + " of "
                        + target + " failed (" + res.ended() + "). " + rec.state(),
                        rec.complete()
                                ? "The system is as it was before the apply. The activation's output says what"
                                        + " failed; fix the configuration, build it again and apply the new result."
                                : PutBack.stuckFix(p));
            }
            String running = SystemLinks.readLink(config.currentSystem());
            if (r.mode() == Mode.BOOT) {
                touched = false;
                store.clear();
                untilReboot.record(running, Mode.BOOT);
                return new SystemResult.Applied(r.mode(), target, genBefore, p.generationAfter(), running, false,
                        null, null, "Generation " + p.generationAfter() + " is the boot default from the next boot on;"
                        + " the running system is unchanged (" + running + ").");
            }
            int seconds = r.confirmSeconds() != null ? r.confirmSeconds() : config.confirmSeconds();
            Instant deadline = Instant.now().plusSeconds(seconds).truncatedTo(ChronoUnit.MILLIS);
            // One durable write for the deadline and, where systemd runs, that its timer may hold it too
            // (recorded before the timer is armed, so no engine ever misses that it may fire).
            p = p.awaiting(deadline, seconds).withSystemdTimer(systemdTimer.available());
            store.save(p);
            p = startCountdown(p, "an apply requested by " + describe(ctx.operator()));
            handedToTimer = true;
            String what = r.mode() == Mode.SWITCH ? "generation " + p.generationAfter() : target + " (test)";
            return new SystemResult.Applied(r.mode(), target, genBefore, p.generationAfter(), running, true,
                    deadline.toString(), seconds, "Activated " + what + ". Confirm within " + seconds
                    + " s to keep it; otherwise " + (p.systemdTimer() ? "systemd (" + SystemdRevertTimer.UNIT
                            + ".timer, even if no engine runs then)" : "the engine") + " goes back to generation "
                    + genBefore + " at " + deadline + ".");
        } catch (Problem | RuntimeException e) {
            if (!touched) {
                throw e;
            }
            // Failed after the system was touched but before the activation ended: put it back first.
            PendingApply undo = p.generationAfter() == null ? p.withProfile(profile.current().orElse(null), false) : p;
            Recovery rec = putBack.undo(undo, activated, line -> ctx.log("recovery", line));
            store.clear();
            Problem why = e instanceof Problem pr ? pr : Problem.internal("The apply failed unexpectedly: " + e, e);
            throw new Problem(why.code(), why.getMessage() + " " + rec.state(),
                    rec.complete() ? why.fix() : PutBack.stuckFix(p), e);
        } finally {
            if (!handedToTimer) {
                release();
            }
        }
    }

    public SystemResult.Confirmed confirm(SystemRequest.Confirm r, OpContext ctx) throws Problem {
        PendingApply p;
        synchronized (lock) {
            p = current;
            if (p != null) {
                confirmHeld(p, () -> { });
            }
        }
        if (p == null) {
            PendingApply o = handover.waitingElsewhere().orElseThrow(() -> Problem.notFound(
                    "Nothing is waiting for confirmation.",
                    "Confirm right after an apply in switch or test mode; a boot apply needs none."));
            Answered a = handover.forward(o, "confirm", ctx);
            if (!a.outcome().equals("confirmed")) {
                throw EngineHandover.tooLate(a);
            }
            return new SystemResult.Confirmed(o.mode(), o.storePath(), o.generationAfter(), a.message()
                    + " The countdown ran in engine pid " + o.enginePid() + ".");
        }
        String what = p.applied();
        notices.send(p, Event.Notice.Topic.CONFIRMED, "Confirmed: " + what + " stays.", p.generationAfter(), null);
        return new SystemResult.Confirmed(p.mode(), p.storePath(), p.generationAfter(), "Confirmed: " + what
                + " stays.");
    }

    /**
     * Confirms the apply this engine holds, under the lock's monitor; throws if it is no longer
     * waiting. {@code beforeRelease} runs when it is confirmed, just before the lock is freed.
     */
    private void confirmHeld(PendingApply p, Runnable beforeRelease) throws Problem {
        if (p.phase() != Phase.AWAITING_CONFIRM) {
            throw new Problem(ProblemCode.BUSY, "It is too late to confirm: the engine is already "
                    + (p.phase() == Phase.REVERTING ? "reverting" : "activating") + ".",
                    "Wait until it has finished, then look at the generations and apply again if wanted.");
        }
        stopCountdown();
        if (p.systemdTimer() && systemdTimer.fired()) {
            current = p.with(Phase.REVERTING);
            store.saveQuietly(current);
            PendingApply reverting = current;
            timer.execute(() -> finishSystemdRevert(reverting, deadlineReason(reverting), false));
            throw new Problem(ProblemCode.BUSY, "It is too late to confirm: the deadline passed and systemd's "
                    + SystemdRevertTimer.UNIT + ".timer is putting generation " + p.generationBefore() + " back.",
                    "Wait until it has finished, then look at the generations and apply again if wanted.");
        }
        clearSystemdTimer(p);
        if (p.mode() == Mode.TEST) {
            untilReboot.record(p.storePath(), Mode.TEST);
        }
        store.clear();
        beforeRelease.run();
        release();
    }

    public SystemResult.Reverted revert(SystemRequest.Revert r, OpContext ctx) throws Problem {
        PendingApply p = takeForRevert();
        if (p == null) {
            PendingApply o = handover.waitingElsewhere().orElseThrow(() -> Problem.notFound(
                    "There is no unconfirmed apply to revert.",
                    "To go back to an older generation, use rollback and choose the generation."));
            Answered a = handover.forward(o, "revert", ctx);
            switch (a.outcome()) {
                case "reverted":
                    return new SystemResult.Reverted(o.mode(), o.generationBefore(), a.runningSystem(),
                            "the operator asked to revert (" + describe(ctx.operator()) + ")", a.message());
                case "revert-failed":
                    throw new Problem(ProblemCode.ACTIVATION_FAILED, a.message(), PutBack.stuckFix(o));
                default:
                    throw EngineHandover.tooLate(a);
            }
        }
        String reason = "the operator asked to revert (" + describe(ctx.operator()) + ")";
        Recovery rec;
        try {
            rec = revertOrAwaitSystemd(p, reason, line -> ctx.log("revert", line));
            notices.reverted(p, reason, rec);
        } finally {
            release();
        }
        if (!rec.complete()) {
            throw new Problem(ProblemCode.ACTIVATION_FAILED, "Reverting did not complete. " + rec.state(),
                    PutBack.stuckFix(p));
        }
        return new SystemResult.Reverted(p.mode(), p.generationBefore(), SystemLinks.readLink(config.currentSystem()),
                reason, "Reverted: " + rec.state());
    }

    /**
     * "Emergency Rollback": generation N becomes current, now (switch) or from the next boot. Like an
     * apply, what to put back is in pending.json before anything changes, so an engine killed during
     * it is recovered from at the next start (put back as it was, and recorded), never forgotten.
     */
    public SystemResult.RolledBack rollback(SystemRequest.Rollback r, OpContext ctx) throws Problem {
        String action = r.mode().name().toLowerCase(Locale.ROOT);
        acquire("a rollback to generation " + r.generation() + " requested by " + describe(ctx.operator()));
        PendingApply p = null;
        boolean touched = false;
        boolean activated = false;
        try {
            ApplyTargets.Target target = targets.forRollback(r.generation());
            int genBefore = profile.current().orElseThrow(() -> Problem.notFound("The system profile "
                    + profile.path() + " has no current generation.", "Check the engine's systemProfile setting."));
            String pathBefore = profile.currentPath().orElseThrow();
            String runningBefore = SystemLinks.readLink(config.currentSystem());
            Mode mode = r.mode() == SystemRequest.RollbackMode.SWITCH ? Mode.SWITCH : Mode.BOOT;
            p = new PendingApply(ctx.id(), mode, target.storePath(), genBefore, pathBefore, runningBefore,
                    r.generation(), false, Phase.ACTIVATING, null, null, ctx.operator(),
                    ProcessHandle.current().pid(), null, profile.numbers(), PendingApply.ROLLBACK, false);
            checkWhileSaving(target, p, ctx);
            touched = true;
            ctx.progress("profile", "nix-env -p " + profile.path() + " --switch-generation " + r.generation(), null,
                    null);
            profile.switchTo(r.generation());
            ctx.progress("activate", "switch-to-configuration " + action, null, null);
            activated = true;
            final PendingApply activating = p;
            Activation.Result res = activation.run(target.storePath(), action, line -> ctx.log("activation", line),
                    pid -> store.saveQuietly(activating.withActivation(pid)));
            if (!res.ok()) {
                Recovery rec = putBack.undo(p, true, line -> ctx.log("recovery", line));
                touched = false;
                store.clear();
                throw new Problem(ProblemCode.ACTIVATION_FAILED, "switch-to-configuration " + action + " of generation "
                        + r.generation() + " failed (" + res.ended() + "). " + rec.state(),
                        rec.complete() ? "The system is as it was before. Choose another generation."
                                : PutBack.stuckFix(p));
            }
            touched = false;
            store.clear();
            String running = SystemLinks.readLink(config.currentSystem());
            if (mode == Mode.BOOT) {
                untilReboot.record(running, Mode.BOOT);
            }
            String message = mode == Mode.SWITCH
                    ? "Rolled back to generation " + r.generation() + "; it is running now (" + running
                            + ") and is the boot default."
                    : "Generation " + r.generation() + " is the boot default from the next boot on; the running system"
                            + " is unchanged (" + running + ").";
            return new SystemResult.RolledBack(r.mode(), genBefore, r.generation(), target.storePath(), running,
                    message);
        } catch (Problem | RuntimeException e) {
            if (!touched) {
                throw e;
            }
            Recovery rec = putBack.undo(p, activated, line -> ctx.log("recovery", line));
            store.clear();
            Problem why = e instanceof Problem pr ? pr : Problem.internal("The rollback failed unexpectedly: " + e, e);
            throw new Problem(why.code(), why.getMessage() + " " + rec.state(),
                    rec.complete() ? why.fix() : PutBack.stuckFix(p), e);
        } finally {
            release();
        }
    }

    /**
     * Checks {@code target} (ApplyTargets.check: the closure complete, its contents as nix recorded
     * them, a switch-to-configuration) while {@code p} is written to pending.json on another thread,
     * after the audit intent. Returns once both are done and the operation can no longer be
     * cancelled; if a check refuses, the request was cancelled or either write failed, pending.json is
     * removed again and the reason thrown: nothing was changed.
     */
    private void checkWhileSaving(ApplyTargets.Target target, PendingApply p, OpContext ctx) throws Problem {
        PendingApplyStore.Alongside saving = store.saveAlongside(p, ctx);
        try {
            targets.check(target, ctx);
            ctx.uncancellable();
            saving.await();
        } catch (Problem | RuntimeException | Error e) {
            saving.discard();
            throw e;
        }
    }

    /** apply.status: what waits for confirmation on this machine, in this engine or in another one. */
    public SystemResult.ApplyState status(SystemRequest.ApplyStatus r, OpContext ctx) {
        PendingApply p;
        synchronized (lock) {
            p = current;
        }
        boolean here = p != null;
        if (p == null) {
            p = handover.waitingElsewhere().orElse(null);
        }
        if (p == null) {
            String report = unattendedRevert;
            return new SystemResult.ApplyState(false, null, null, null, null, null, null, null,
                    "Nothing is waiting for confirmation." + (report == null ? "" : " " + report));
        }
        if (p.phase() != Phase.AWAITING_CONFIRM) {
            return new SystemResult.ApplyState(false, p.mode(), p.storePath(), p.generationAfter(),
                    p.generationBefore(), null, null, here ? ProcessHandle.current().pid() : p.enginePid(),
                    (p.isRollback() ? "The rollback to generation " + p.generationAfter() : "An apply of "
                            + p.applied()) + " is " + (p.phase() == Phase.REVERTING ? "being reverted"
                            : "activating") + "; wait until it has finished.");
        }
        long left = Math.max(0, (Duration.between(Instant.now(), Instant.parse(p.deadline())).toMillis() + 999) / 1000);
        return new SystemResult.ApplyState(true, p.mode(), p.storePath(), p.generationAfter(), p.generationBefore(),
                p.deadline(), left, here ? ProcessHandle.current().pid() : p.enginePid(),
                "Activated " + p.applied() + ". Confirm within " + left + " s to keep it; otherwise the engine"
                        + (here ? "" : " (pid " + p.enginePid() + ")") + " goes back to generation "
                        + p.generationBefore() + " at " + p.deadline() + ".");
    }

    /**
     * Called once at engine start: an apply that a killed engine left unconfirmed is reverted now,
     * or its countdown resumes if its deadline is still ahead.
     */
    public void resume() {
        PendingApply p;
        try {
            p = store.load();
        } catch (IOException e) {
            LOG.error("cannot read {}: {}; not resuming", store.file(), e.toString());
            return;
        }
        if (p == null) {
            return;
        }
        try {
            acquire("finishing an apply that a previous engine (pid " + p.enginePid() + ") left");
        } catch (Problem e) {
            LOG.info("another engine holds the apply lock; it finishes the pending apply");
            return;
        }
        Instant deadline = p.deadline() == null ? null : Instant.parse(p.deadline());
        SystemdRevertTimer.State held = SystemdRevertTimer.State.NONE;
        if (p.systemdTimer()) {
            systemdTimer.adopt();
            held = systemdTimer.outcome().state();
            if (held == SystemdRevertTimer.State.REVERTING || held == SystemdRevertTimer.State.DONE) {
                // The deadline passed while no engine ran, and systemd's timer put the system back.
                PendingApply reverting = p.with(Phase.REVERTING);
                synchronized (lock) {
                    current = reverting;
                }
                store.saveQuietly(reverting);
                String reason = "no confirmation came by " + p.deadline() + "; systemd's " + SystemdRevertTimer.UNIT
                        + ".timer reverted it while no engine was running (engine pid " + p.enginePid()
                        + " had stopped)";
                timer.execute(() -> finishSystemdRevert(reverting, reason, true));
                return;
            }
            if (held == SystemdRevertTimer.State.GONE) {
                // Lost (a reboot ends transient units): the engine decides below, as without systemd.
                systemdTimer.clear();
                p = p.withSystemdTimer(false);
            }
        }
        if (p.phase() == Phase.AWAITING_CONFIRM && deadline != null
                && (deadline.isAfter(Instant.now()) || held == SystemdRevertTimer.State.WAITING)) {
            LOG.info("resuming the confirm-or-revert countdown of generation {} until {}", p.generationAfter(),
                    deadline);
            PendingApply mine = p.ownedBy(ProcessHandle.current().pid());
            store.saveQuietly(mine);
            resumeCountdown(mine, "an apply resumed after the engine restarted");
            return;
        }
        final PendingApply left = p;
        synchronized (lock) {
            current = p.with(Phase.REVERTING);
        }
        String reason = p.isRollback()
                ? "the engine (pid " + p.enginePid() + ") stopped during the rollback to generation "
                        + p.generationAfter() + ", before it finished; roll back again if it is still wanted"
                : p.phase() == Phase.AWAITING_CONFIRM
                ? "the engine (pid " + p.enginePid() + ") stopped while waiting for confirmation and no confirmation"
                        + " came by " + p.deadline()
                : p.activationPid() == null
                ? "the engine (pid " + p.enginePid() + ") stopped before the activation was recorded as started (while"
                        + " checking the closure, setting the profile or starting the activation); the previous"
                        + " system is activated again in case it had started"
                : "the engine (pid " + p.enginePid() + ") stopped during the activation, before the operator could"
                        + " confirm";
        timer.execute(() -> {
            Reverter.awaitEarlierActivation(left);
            revertRecorded(left.with(Phase.REVERTING), reason);
        });
    }

    // The countdown

    /**
     * Starts both deadlines: the engine's own, and where systemd runs its transient timer, which is
     * recorded in pending.json before it is armed (so no engine ever misses that it may fire). Returns
     * {@code p} as it is now held.
     */
    private PendingApply startCountdown(PendingApply p, String origin) throws Problem {
        if (p.systemdTimer()) { // already in pending.json
            synchronized (lock) {
                systemdTimer.start(p);
            }
            if (!systemdTimer.armed()) {
                p = p.withSystemdTimer(false);
                store.save(p);
            }
        }
        resumeCountdown(p, origin);
        return p;
    }

    /** The engine's countdown (systemd's timer, if any, is already armed). */
    private void resumeCountdown(PendingApply p, String origin) {
        synchronized (lock) {
            current = p;
            timer.start(p);
        }
        LOG.info("waiting for confirmation of {} until {} ({}{})", p.applied(), p.deadline(), origin,
                p.systemdTimer() ? "; systemd holds the deadline too" : "");
    }

    /** Under the lock's monitor: neither deadline fires any more (a revert systemd already started goes on). */
    private void stopCountdown() {
        timer.stop();
        systemdTimer.stop();
    }

    /** Each second on the countdown's thread: an answer from another engine, the countdown, or the revert. */
    private void tick(PendingApply p, Instant deadline) {
        Answer asked = handover.take();
        if (asked != null) {
            answer(asked);
            return;
        }
        long left = Duration.between(Instant.now(), deadline).toMillis();
        if (left > 0) {
            notices.countdown(p, (left + 999) / 1000);
            return;
        }
        if (p.systemdTimer() && systemdTimer.outcome().state() == SystemdRevertTimer.State.WAITING
                && left > -SYSTEMD_GRACE.toMillis()) {
            return; // systemd's timer starts the revert at the deadline (within its accuracy)
        }
        PendingApply taken = takeForRevert();
        if (taken == null) {
            return; // confirmed or reverted in the meantime
        }
        String reason = "no confirmation within " + p.confirmSeconds() + " s" + notices.unattended();
        if (taken.systemdTimer() && systemdTimer.fired()) {
            finishSystemdRevert(taken, deadlineReason(taken), false);
        } else {
            clearSystemdTimer(taken);
            revertRecorded(taken, reason + (taken.systemdTimer() ? " (systemd's timer had not started the revert "
                    + SYSTEMD_GRACE.toSeconds() + " s after the deadline; the engine did)" : ""));
        }
    }

    /** How long after the deadline the engine waits for systemd's timer before it reverts itself. */
    static final Duration SYSTEMD_GRACE = Duration.ofSeconds(30);

    private String deadlineReason(PendingApply p) {
        return "no confirmation within " + p.confirmSeconds() + " s" + notices.unattended() + "; systemd's "
                + SystemdRevertTimer.UNIT + ".timer put it back at the deadline";
    }

    /**
     * A revert that systemd's timer started: waits for it, reads back what runs, records it in the
     * audit trail (via "engine", like the engine's own revert at the deadline), tells the app, clears
     * pending.json and the units, frees the lock.
     */
    private void finishSystemdRevert(PendingApply p, String reason, boolean unattended) {
        try {
            notices.reverting(p, reason);
            SystemdRevertTimer.Outcome o = systemdTimer.awaitDone();
            o.output().forEach(line -> LOG.info("{}: {}", SystemdRevertTimer.UNIT, line));
            Recovery rec = systemdTimer.recovery(o, p, putBack);
            reverter.recordSystemdRevert(p, reason, rec);
            notices.reverted(p, reason, rec);
            store.clear();
            systemdTimer.clear();
            if (unattended) {
                // said by apply.status from the moment nothing waits any more
                unattendedRevert = "The apply of " + p.applied() + " was reverted because " + reason + ". "
                        + rec.state();
            }
        } finally {
            release();
        }
    }

    /** The operator's revert: this engine puts the system back, unless systemd's timer already is. */
    private Recovery revertOrAwaitSystemd(PendingApply p, String reason, java.util.function.Consumer<String> lines) {
        if (p.systemdTimer() && systemdTimer.fired()) {
            notices.reverting(p, reason);
            SystemdRevertTimer.Outcome o = systemdTimer.awaitDone();
            o.output().forEach(lines);
            Recovery rec = systemdTimer.recovery(o, p, putBack);
            store.clear();
            systemdTimer.clear();
            return rec;
        }
        clearSystemdTimer(p);
        return reverter.revert(p, reason, lines);
    }

    /**
     * Removes systemd's timer and service units where this apply may have made them (pending.json
     * says it armed one, or this engine holds one): two systemctl processes cost 5–6 ms, which a
     * confirm paid on every machine, also where the timer was never armed (found by script/bench
     * apply). A timer that failed to arm is cleared by the next arm, which clears first.
     */
    private void clearSystemdTimer(PendingApply p) {
        if (p.systemdTimer() || systemdTimer.armed()) {
            systemdTimer.clear();
        }
    }

    /** Takes the pending apply for reverting (stops the countdown), or null if there is none to revert. */
    private PendingApply takeForRevert() {
        synchronized (lock) {
            if (current == null || current.phase() != Phase.AWAITING_CONFIRM) {
                return null;
            }
            stopCountdown();
            current = current.with(Phase.REVERTING);
            store.saveQuietly(current);
            return current;
        }
    }

    /** A revert the engine does on its own (recorded by the {@link Reverter}), then the lock is free. */
    private void revertRecorded(PendingApply p, String reason) {
        try {
            reverter.revertAndRecord(p, reason);
        } finally {
            release();
        }
    }

    /** The countdown's engine does what another engine's operator asked, and says what it did. */
    private void answer(Answer a) {
        String by = describe(a.who());
        LOG.info("{} asked through another engine to {}", by, a.action());
        if (a.action().equals("confirm")) {
            PendingApply p;
            String msg;
            synchronized (lock) {
                p = current;
                if (p == null || p.phase() != Phase.AWAITING_CONFIRM) {
                    handover.reply(new Answered(a.nonce(), "too-late", "the apply was no longer waiting for"
                            + " confirmation.", SystemLinks.readLink(config.currentSystem())));
                    return;
                }
                msg = "Confirmed: " + p.applied() + " stays.";
                try {
                    // Answered before the lock is released: an engine whose app is gone exits as soon as it is free.
                    confirmHeld(p, () -> handover.reply(new Answered(a.nonce(), "confirmed", msg,
                            SystemLinks.readLink(config.currentSystem()))));
                } catch (Problem e) {
                    // the phase was checked under the same monitor: only systemd's timer can have fired
                    handover.reply(new Answered(a.nonce(), "too-late", e.getMessage(),
                            SystemLinks.readLink(config.currentSystem())));
                    return;
                }
            }
            notices.send(p, Event.Notice.Topic.CONFIRMED, msg + " (confirmed by " + by + " from another window)",
                    p.generationAfter(), null);
            return;
        }
        PendingApply p = takeForRevert();
        if (p == null) {
            handover.reply(new Answered(a.nonce(), "too-late", "the apply was no longer waiting to be reverted.",
                    SystemLinks.readLink(config.currentSystem())));
            return;
        }
        String reason = "the operator asked to revert (" + by + ", from another window)";
        try {
            Recovery rec = revertOrAwaitSystemd(p, reason, line -> LOG.info("revert: {}", line));
            notices.reverted(p, reason, rec);
            // Written before the lock is released: an engine whose app is gone exits as soon as it is free.
            handover.reply(new Answered(a.nonce(), rec.complete() ? "reverted" : "revert-failed",
                    (rec.complete() ? "Reverted: " : "Reverting did not complete. ") + rec.state(),
                    SystemLinks.readLink(config.currentSystem())));
        } finally {
            release();
        }
    }

    // The lock

    private void acquire(String what) throws Problem {
        lock.acquire(what, this::busyProblem);
    }

    /** Why this engine refuses a second apply or rollback; called under the lock's monitor. */
    private Problem busyProblem(String holder) {
        PendingApply p = current;
        if (p != null && p.phase() == Phase.AWAITING_CONFIRM) {
            return new Problem(ProblemCode.BUSY, "The apply of " + p.applied()
                    + " is waiting for confirmation until " + p.deadline() + ".",
                    "Confirm it or revert it first; a second apply or a rollback would lose track of what to go"
                            + " back to.");
        }
        return new Problem(ProblemCode.BUSY, "The engine is busy with " + holder + ".",
                "Wait until it has finished; one apply or rollback runs at a time.");
    }

    /** Ends what this engine holds: the countdown stops, nothing is current, the lock is free. */
    private void release() {
        synchronized (lock) {
            stopCountdown();
            current = null;
            lock.release();
        }
    }

    static String describe(AuditRecord.Who who) {
        if (who == null) {
            return "the engine";
        }
        return (who.name() != null ? who.name() : "uid " + who.uid()) + " via " + who.via();
    }
}
