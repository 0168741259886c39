package org.saferebuild.engine.system;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.EventSink;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.audit.AuditLog;
import org.saferebuild.engine.audit.AuditTrail;
import org.saferebuild.engine.build.BuiltSystems;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.DaemonThreads;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runbook step 6 and "Emergency Rollback": apply (test, switch, boot), confirm-or-revert, and
 * rollback to a chosen generation, under one lock.
 *
 * <p>The lock is held from the start of an apply until it is confirmed or reverted, so a second
 * apply or a rollback in between is refused. It is both in memory and a file lock in the state
 * directory (two engines on one machine exclude each other too).
 *
 * <p>What an apply may have to undo is written to {@code <stateDir>/apply/pending.json} before the
 * system is touched. The confirm-or-revert timer runs in the engine, which outlives the app (its
 * stdin closing, SIGHUP, a broken or stalled output pipe: docs/apply.md); if the engine itself is
 * killed, the next engine start finds the file and reverts (or resumes the countdown).
 */
public final class ApplyService {
    private static final Logger LOG = LoggerFactory.getLogger(ApplyService.class);

    /** Where an apply is. Persisted: a restarted engine decides from it what to put back. */
    public enum Phase { ACTIVATING, AWAITING_CONFIRM, REVERTING }

    /**
     * Everything needed to put the system back as it was before an apply.
     *
     * @param applyId           the apply request's id (0 after a restart)
     * @param generationBefore  the profile's generation before
     * @param pathBefore        its store path
     * @param runningBefore     what the running-system link pointed at before (may differ after a test)
     * @param generationAfter   the profile's generation after nix-env --set (null until then)
     * @param createdGeneration whether nix-env --set made a new generation (it does not for the current path)
     * @param activationPid     the switch-to-configuration process while it runs
     */
    public record Pending(long applyId, Mode mode, String storePath, int generationBefore, String pathBefore,
                          String runningBefore, Integer generationAfter, boolean createdGeneration, Phase phase,
                          String deadline, Integer confirmSeconds, AuditRecord.Who who, long enginePid,
                          Long activationPid) {
        Pending with(Phase p) {
            return new Pending(applyId, mode, storePath, generationBefore, pathBefore, runningBefore, generationAfter,
                    createdGeneration, p, deadline, confirmSeconds, who, enginePid, activationPid);
        }

        Pending withProfile(Integer after, boolean created) {
            return new Pending(applyId, mode, storePath, generationBefore, pathBefore, runningBefore, after, created,
                    phase, deadline, confirmSeconds, who, enginePid, activationPid);
        }

        Pending withActivation(Long pid) {
            return new Pending(applyId, mode, storePath, generationBefore, pathBefore, runningBefore, generationAfter,
                    createdGeneration, phase, deadline, confirmSeconds, who, enginePid, pid);
        }

        Pending ownedBy(long pid) {
            return new Pending(applyId, mode, storePath, generationBefore, pathBefore, runningBefore, generationAfter,
                    createdGeneration, phase, deadline, confirmSeconds, who, pid, activationPid);
        }

        Pending awaiting(Instant until, int seconds) {
            return new Pending(applyId, mode, storePath, generationBefore, pathBefore, runningBefore, generationAfter,
                    createdGeneration, Phase.AWAITING_CONFIRM, until.toString(), seconds, who, enginePid, null);
        }

        /** The system that ran before: the running-system link, or the profile's if there was none. */
        String previousRunning() {
            return runningBefore != null ? runningBefore : pathBefore;
        }
    }

    /**
     * A confirm or revert asked through another engine (its app was opened after this engine's app
     * went away), left in {@code <stateDir>/apply/answer.json} for the engine that runs the countdown.
     */
    record Answer(String nonce, String action, AuditRecord.Who who, String at) {
    }

    /** What the countdown's engine did with an {@link Answer}: confirmed, reverted, revert-failed, too-late. */
    record Answered(String nonce, String outcome, String message, String runningSystem) {
    }

    /** How long an engine waits for the countdown's engine to pick up a forwarded answer (it looks every second). */
    static final Duration PICKUP = Duration.ofSeconds(10);

    /** The outcome of putting things back, in the words the operator reads. */
    record Recovery(boolean complete, String state) {
    }

    private final EngineConfig config;
    private final SystemProfile profile;
    private final Closures closures;
    private final Activation activation;
    private final BuiltSystems built;
    private final AuditTrail audit;
    private final Path stateFile;
    /**
     * The running system differs from the profile on purpose until the next boot: a confirmed test
     * activation, or a boot-mode apply or rollback that left the running system as it was.
     */
    private final Path untilRebootFile;
    private final Path lockFile;
    private final Path answerFile;
    private final Path answeredFile;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            DaemonThreads.named("confirm-or-revert"));

    private final Object monitor = new Object();
    /** What holds the lock, in words ("an apply of … requested by bear"); null when free. */
    private String busy;
    private Pending current;
    private ScheduledFuture<?> tick;
    private FileChannel lockChannel;
    private FileLock fileLock;
    private volatile EventSink sink;
    private volatile Instant appGoneAt;

    public ApplyService(EngineConfig config, SystemProfile profile, Closures closures, Activation activation,
                        BuiltSystems built, AuditTrail audit) {
        this.config = config;
        this.profile = profile;
        this.closures = closures;
        this.activation = activation;
        this.built = built;
        this.audit = audit;
        this.stateFile = config.state().resolve("apply").resolve("pending.json");
        this.untilRebootFile = config.state().resolve("apply").resolve("until-reboot.json");
        this.lockFile = config.state().resolve("locks").resolve("apply.lock");
        this.answerFile = config.state().resolve("apply").resolve("answer.json");
        this.answeredFile = config.state().resolve("apply").resolve("answered.json");
    }

    /** Notices (countdown, confirmed, reverted) go to the app connected now. */
    public void attach(EventSink eventSink) {
        this.sink = eventSink;
        this.appGoneAt = null;
    }

    /** The app has gone: the timer keeps running; the reason for a revert will say so. */
    public void appDisconnected() {
        this.appGoneAt = Instant.now();
    }

    /** Blocks until no apply, confirm window or revert is in progress (Engine.beforeExit). */
    public void awaitIdle() {
        synchronized (monitor) {
            while (busy != null) {
                try {
                    monitor.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    public Optional<Pending> pending() {
        synchronized (monitor) {
            return Optional.ofNullable(current);
        }
    }

    // Commands

    public SystemResult.Applied apply(SystemRequest.Apply r, OpContext ctx) throws Problem {
        String action = r.mode().name().toLowerCase(Locale.ROOT);
        acquire("an apply (" + action + ") requested by " + describe(ctx.operator()));
        boolean handedToTimer = false;
        boolean touched = false;
        boolean activated = false;
        Pending p = null;
        try {
            String target = resolveTarget(r, ctx);
            int genBefore = profile.current().orElseThrow(() -> Problem.notFound("The system profile "
                    + profile.path() + " has no current generation, so there would be nothing to return to.",
                    "Check the engine's systemProfile setting; on NixOS it is /nix/var/nix/profiles/system."));
            String pathBefore = profile.currentPath().orElseThrow();
            String runningBefore = readLink(config.currentSystem());
            ctx.uncancellable();
            p = new Pending(ctx.id(), r.mode(), target, genBefore, pathBefore, runningBefore, null, false,
                    Phase.ACTIVATING, null, null, ctx.operator(), ProcessHandle.current().pid(), null);
            // Written before anything changes: a restarted engine knows what to put back.
            persist(p);
            touched = true;
            if (r.mode() != Mode.TEST) {
                ctx.progress("profile", "nix-env -p " + profile.path() + " --set " + target, null, null);
                int after = profile.set(target);
                p = p.withProfile(after, after != genBefore);
            } else {
                p = p.withProfile(genBefore, false);
            }
            persist(p);
            ctx.progress("activate", "switch-to-configuration " + action, null, null);
            activated = true;
            final Pending activating = p;
            Activation.Result res = activation.run(target, action, line -> ctx.log("activation", line),
                    pid -> persistQuietly(activating.withActivation(pid)));
            if (!res.ok()) {
                ctx.progress("recover", "Activation failed; putting the previous system back", null, null);
                Recovery rec = putBack(p, true, line -> ctx.log("recovery", line));
                touched = false;
                clearPersisted();
                throw new Problem(ProblemCode.ACTIVATION_FAILED, "switch-to-configuration " + action + " of "
                        + target + " failed (" + ended(res) + "). " + rec.state(),
                        rec.complete()
                                ? "The system is as it was before the apply. The activation's output says what"
                                        + " failed; fix the configuration, build it again and apply the new result."
                                : stuckFix(p));
            }
            String running = readLink(config.currentSystem());
            if (r.mode() == Mode.BOOT) {
                touched = false;
                clearPersisted();
                recordUntilReboot(running, Mode.BOOT);
                return new SystemResult.Applied(r.mode(), target, genBefore, p.generationAfter(), running, false,
                        null, null, "Generation " + p.generationAfter() + " is the boot default from the next boot on;"
                        + " the running system is unchanged (" + running + ").");
            }
            int seconds = r.confirmSeconds() != null ? r.confirmSeconds() : config.confirmSeconds();
            Instant deadline = Instant.now().plusSeconds(seconds).truncatedTo(ChronoUnit.MILLIS);
            p = p.awaiting(deadline, seconds);
            persist(p);
            startTimer(p, "an apply requested by " + describe(ctx.operator()));
            handedToTimer = true;
            String what = r.mode() == Mode.SWITCH ? "generation " + p.generationAfter() : target + " (test)";
            return new SystemResult.Applied(r.mode(), target, genBefore, p.generationAfter(), running, true,
                    deadline.toString(), seconds, "Activated " + what + ". Confirm within " + seconds
                    + " s to keep it; otherwise the engine goes back to generation " + genBefore + " at " + deadline
                    + ".");
        } catch (Problem | RuntimeException e) {
            if (!touched) {
                throw e;
            }
            // Failed after the system was touched but before the activation ended: put it back first.
            Pending undo = p.generationAfter() == null ? p.withProfile(profile.current().orElse(null), true) : p;
            Recovery rec = putBack(undo, activated, line -> ctx.log("recovery", line));
            clearPersisted();
            Problem why = e instanceof Problem pr ? pr : Problem.internal("The apply failed unexpectedly: " + e, e);
            throw new Problem(why.code(), why.getMessage() + " " + rec.state(),
                    rec.complete() ? why.fix() : stuckFix(p), e);
        } finally {
            if (!handedToTimer) {
                release();
            }
        }
    }

    public SystemResult.Confirmed confirm(SystemRequest.Confirm r, OpContext ctx) throws Problem {
        Pending p;
        synchronized (monitor) {
            p = current;
            if (p != null) {
                confirmHeld(p);
            }
        }
        if (p == null) {
            Pending o = waitingElsewhere().orElseThrow(() -> Problem.notFound("Nothing is waiting for confirmation.",
                    "Confirm right after an apply in switch or test mode; a boot apply needs none."));
            Answered a = forward(o, "confirm", ctx);
            if (!a.outcome().equals("confirmed")) {
                throw tooLate(a);
            }
            return new SystemResult.Confirmed(o.mode(), o.storePath(), o.generationAfter(), a.message()
                    + " The countdown ran in engine pid " + o.enginePid() + ".");
        }
        String what = describeApplied(p);
        notice(p, Event.Notice.Topic.CONFIRMED, "Confirmed: " + what + " stays.", p.generationAfter(), null);
        return new SystemResult.Confirmed(p.mode(), p.storePath(), p.generationAfter(), "Confirmed: " + what
                + " stays.");
    }

    /** Confirms the apply this engine holds, under the monitor; throws if it is no longer waiting. */
    private void confirmHeld(Pending p) throws Problem {
        if (p.phase() != Phase.AWAITING_CONFIRM) {
            throw new Problem(ProblemCode.BUSY, "It is too late to confirm: the engine is already "
                    + (p.phase() == Phase.REVERTING ? "reverting" : "activating") + ".",
                    "Wait until it has finished, then look at the generations and apply again if wanted.");
        }
        stopTimer();
        if (p.mode() == Mode.TEST) {
            recordUntilReboot(p.storePath(), Mode.TEST);
        }
        clearPersisted();
        releaseLocked();
    }

    public SystemResult.Reverted revert(SystemRequest.Revert r, OpContext ctx) throws Problem {
        Pending p = takeForRevert();
        if (p == null) {
            Pending o = waitingElsewhere().orElseThrow(() -> Problem.notFound("There is no unconfirmed apply to"
                    + " revert.", "To go back to an older generation, use rollback and choose the generation."));
            Answered a = forward(o, "revert", ctx);
            switch (a.outcome()) {
                case "reverted":
                    return new SystemResult.Reverted(o.mode(), o.generationBefore(), a.runningSystem(),
                            "the operator asked to revert (" + describe(ctx.operator()) + ")", a.message());
                case "revert-failed":
                    throw new Problem(ProblemCode.ACTIVATION_FAILED, a.message(), stuckFix(o));
                default:
                    throw tooLate(a);
            }
        }
        String reason = "the operator asked to revert (" + describe(ctx.operator()) + ")";
        Recovery rec;
        try {
            rec = revertNow(p, reason, line -> ctx.log("revert", line));
            revertedNotice(p, reason, rec);
        } finally {
            release();
        }
        if (!rec.complete()) {
            throw new Problem(ProblemCode.ACTIVATION_FAILED, "Reverting did not complete. " + rec.state(), stuckFix(p));
        }
        return new SystemResult.Reverted(p.mode(), p.generationBefore(), readLink(config.currentSystem()), reason,
                "Reverted: " + rec.state());
    }

    /** "Emergency Rollback": generation N becomes current, now (switch) or from the next boot. */
    public SystemResult.RolledBack rollback(SystemRequest.Rollback r, OpContext ctx) throws Problem {
        String action = r.mode().name().toLowerCase(Locale.ROOT);
        acquire("a rollback to generation " + r.generation() + " requested by " + describe(ctx.operator()));
        Pending p = null;
        boolean activated = false;
        try {
            SystemProfile.Link target = profile.require(r.generation());
            closures.requireComplete(target.storePath(), "generation " + r.generation());
            activation.switchScript(target.storePath());
            int genBefore = profile.current().orElseThrow(() -> Problem.notFound("The system profile "
                    + profile.path() + " has no current generation.", "Check the engine's systemProfile setting."));
            String pathBefore = profile.currentPath().orElseThrow();
            String runningBefore = readLink(config.currentSystem());
            ctx.uncancellable();
            Mode mode = r.mode() == SystemRequest.RollbackMode.SWITCH ? Mode.SWITCH : Mode.BOOT;
            p = new Pending(ctx.id(), mode, target.storePath(), genBefore, pathBefore, runningBefore,
                    r.generation(), false, Phase.ACTIVATING, null, null, ctx.operator(),
                    ProcessHandle.current().pid(), null);
            ctx.progress("profile", "nix-env -p " + profile.path() + " --switch-generation " + r.generation(), null,
                    null);
            profile.switchTo(r.generation());
            ctx.progress("activate", "switch-to-configuration " + action, null, null);
            activated = true;
            Activation.Result res = activation.run(target.storePath(), action, line -> ctx.log("activation", line),
                    pid -> { });
            if (!res.ok()) {
                Recovery rec = putBack(p, true, line -> ctx.log("recovery", line));
                p = null;
                throw new Problem(ProblemCode.ACTIVATION_FAILED, "switch-to-configuration " + action + " of generation "
                        + r.generation() + " failed (" + ended(res) + "). " + rec.state(),
                        rec.complete() ? "The system is as it was before. Choose another generation."
                                : stuckFix(new Pending(0, mode, target.storePath(), genBefore, pathBefore, runningBefore,
                                        r.generation(), false, Phase.ACTIVATING, null, null, null, 0, null)));
            }
            String running = readLink(config.currentSystem());
            if (mode == Mode.BOOT) {
                recordUntilReboot(running, Mode.BOOT);
            }
            String message = mode == Mode.SWITCH
                    ? "Rolled back to generation " + r.generation() + "; it is running now (" + running
                            + ") and is the boot default."
                    : "Generation " + r.generation() + " is the boot default from the next boot on; the running system"
                            + " is unchanged (" + running + ").";
            return new SystemResult.RolledBack(r.mode(), genBefore, r.generation(), target.storePath(), running,
                    message);
        } catch (Problem | RuntimeException e) {
            if (p == null) {
                throw e;
            }
            Recovery rec = putBack(p, activated, line -> ctx.log("recovery", line));
            Problem why = e instanceof Problem pr ? pr : Problem.internal("The rollback failed unexpectedly: " + e, e);
            throw new Problem(why.code(), why.getMessage() + " " + rec.state(),
                    rec.complete() ? why.fix() : stuckFix(p), e);
        } finally {
            release();
        }
    }

    /**
     * Called once at engine start: an apply that a killed engine left unconfirmed is reverted now,
     * or its countdown resumes if its deadline is still ahead.
     */
    public void resume() {
        Pending p;
        try {
            p = readPersisted();
        } catch (IOException e) {
            LOG.error("cannot read {}: {}; not resuming", stateFile, e.toString());
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
        if (p.phase() == Phase.AWAITING_CONFIRM && deadline != null && deadline.isAfter(Instant.now())) {
            LOG.info("resuming the confirm-or-revert countdown of generation {} until {}", p.generationAfter(),
                    deadline);
            Pending mine = p.ownedBy(ProcessHandle.current().pid());
            persistQuietly(mine);
            startTimer(mine, "an apply resumed after the engine restarted");
            return;
        }
        synchronized (monitor) {
            current = p.with(Phase.REVERTING);
        }
        String reason = p.phase() == Phase.AWAITING_CONFIRM
                ? "the engine (pid " + p.enginePid() + ") stopped while waiting for confirmation and no confirmation"
                        + " came by " + p.deadline()
                : "the engine (pid " + p.enginePid() + ") stopped during the activation, before the operator could"
                        + " confirm";
        timer.execute(() -> {
            awaitActivation(p);
            revertRecorded(p.with(Phase.REVERTING), reason);
        });
    }

    // The confirm-or-revert timer

    private void startTimer(Pending p, String origin) {
        synchronized (monitor) {
            current = p;
            Instant deadline = Instant.parse(p.deadline());
            tick = timer.scheduleAtFixedRate(() -> tick(p, deadline), 1, 1, TimeUnit.SECONDS);
        }
        LOG.info("waiting for confirmation of {} until {} ({})", describeApplied(p), p.deadline(), origin);
    }

    private void tick(Pending p, Instant deadline) {
        Answer asked = takeAnswer();
        if (asked != null) {
            answer(asked);
            return;
        }
        long left = Duration.between(Instant.now(), deadline).toMillis();
        if (left > 0) {
            notice(p, Event.Notice.Topic.COUNTDOWN, "Reverting to generation " + p.generationBefore() + " in "
                    + ((left + 999) / 1000) + " s unless confirmed.", p.generationAfter(), (left + 999) / 1000);
            return;
        }
        Pending taken = takeForRevert();
        if (taken == null) {
            return; // confirmed or reverted in the meantime
        }
        Instant gone = appGoneAt;
        String reason = "no confirmation within " + p.confirmSeconds() + " s"
                + (gone != null ? " (the app disconnected at " + gone.truncatedTo(ChronoUnit.SECONDS) + ")"
                        : sink == null || !sink.connected() ? " (no app was connected)" : "");
        revertRecorded(taken, reason);
    }

    /** Takes the pending apply for reverting (stops the countdown), or null if there is none to revert. */
    private Pending takeForRevert() {
        synchronized (monitor) {
            if (current == null || current.phase() != Phase.AWAITING_CONFIRM) {
                return null;
            }
            stopTimer();
            current = current.with(Phase.REVERTING);
            persistQuietly(current);
            return current;
        }
    }

    /**
     * A revert the engine does on its own: it writes its own audit line (no request records it),
     * before the lock is released, since an engine whose app is gone exits as soon as it is free.
     */
    private void revertRecorded(Pending p, String reason) {
        try {
            Integer before = audit.generation();
            Recovery rec = revertNow(p, reason, line -> LOG.info("revert: {}", line));
            ObjectNode args = Json.mapper().createObjectNode();
            args.put("reason", reason);
            args.put("mode", p.mode().name());
            args.put("storePath", p.storePath());
            args.put("toGeneration", p.generationBefore());
            AuditRecord.Who who = p.who() == null ? new AuditRecord.Who(0, "root", "engine")
                    : new AuditRecord.Who(p.who().uid(), p.who().name(), "engine");
            try {
                audit.record(new AuditLog.Entry(who, "revert", args, before, audit.generation(),
                        rec.complete() ? "ok" : "failed", rec.complete() ? null : ProblemCode.ACTIVATION_FAILED.name(),
                        "Reverted because " + reason + ". " + rec.state()));
            } catch (Problem e) {
                LOG.error("the revert could not be recorded in the audit trail: {}", e.getMessage());
            }
            revertedNotice(p, reason, rec);
        } catch (RuntimeException e) {
            LOG.error("reverting failed unexpectedly", e);
        } finally {
            release();
        }
    }

    /** Puts the system back; the caller sends the final notice and releases the lock. */
    private Recovery revertNow(Pending p, String reason, Consumer<String> lines) {
        LOG.info("reverting {}: {}", describeApplied(p), reason);
        notice(p, Event.Notice.Topic.REVERTING, "Reverting " + describeApplied(p) + " because " + reason + ".",
                p.generationBefore(), null);
        Recovery rec;
        try {
            rec = putBack(p, true, lines);
        } finally {
            clearPersisted();
        }
        return rec;
    }

    private void revertedNotice(Pending p, String reason, Recovery rec) {
        notice(p, rec.complete() ? Event.Notice.Topic.REVERTED : Event.Notice.Topic.REVERT_FAILED,
                (rec.complete() ? "Reverted because " + reason + ". " : "Reverting did not complete. ") + rec.state(),
                p.generationBefore(), null);
    }

    // Putting things back

    /**
     * Undoes an apply or rollback as far as it got: the profile goes back to its generation (a
     * generation the apply made is removed), then the previous system is activated again; what is
     * running afterwards is read back from the running-system link, never assumed.
     */
    Recovery putBack(Pending p, boolean reactivate, Consumer<String> lines) {
        List<String> said = new ArrayList<>();
        boolean complete = true;
        Integer after = p.generationAfter();
        if (p.mode() != Mode.TEST && after != null && after != p.generationBefore()) {
            try {
                profile.switchTo(p.generationBefore());
                said.add("The system profile is back at generation " + p.generationBefore() + ".");
                if (p.createdGeneration()) {
                    profile.delete(after);
                    said.add("Generation " + after + ", which the apply made, was removed.");
                }
            } catch (Problem e) {
                complete = false;
                said.add("The system profile could NOT be put back to generation " + p.generationBefore() + ": "
                        + e.getMessage() + " It is at generation " + profile.current().map(String::valueOf).orElse("?")
                        + ".");
            }
        } else if (p.mode() != Mode.TEST) {
            said.add("The system profile is at generation " + p.generationBefore() + ", as before.");
        }
        String prevRunning = p.previousRunning();
        List<String[]> steps = new ArrayList<>();
        switch (p.mode()) {
            case SWITCH -> {
                if (prevRunning.equals(p.pathBefore())) {
                    steps.add(new String[] {p.pathBefore(), "switch"});
                } else {
                    steps.add(new String[] {p.pathBefore(), "boot"});
                    steps.add(new String[] {prevRunning, "test"});
                }
            }
            case TEST -> steps.add(new String[] {prevRunning, "test"});
            case BOOT -> steps.add(new String[] {p.pathBefore(), "boot"});
        }
        for (String[] step : reactivate ? steps : List.<String[]>of()) {
            try {
                Activation.Result res = activation.run(step[0], step[1], lines);
                if (res.ok()) {
                    said.add("The previous system's switch-to-configuration " + step[1] + " succeeded.");
                } else {
                    complete = false;
                    said.add("The previous system's switch-to-configuration " + step[1] + " FAILED (" + ended(res)
                            + ").");
                }
            } catch (Problem e) {
                complete = false;
                said.add("The previous system could not be activated again: " + e.getMessage());
            }
        }
        String running = readLink(config.currentSystem());
        if (p.mode() != Mode.BOOT) {
            if (running != null && running.equals(prevRunning)) {
                said.add("The running system is " + running + ", as before the change.");
            } else {
                complete = false;
                said.add("The running system is " + (running == null ? "unknown (" + config.currentSystem()
                        + " is missing)" : running) + ", NOT the one that ran before (" + prevRunning + ").");
            }
        } else {
            said.add("The running system is " + running + " (a boot apply does not change it).");
        }
        return new Recovery(complete, String.join(" ", said));
    }

    private String stuckFix(Pending p) {
        return "The system may be half-activated. To fix this, use rollback to generation " + p.generationBefore()
                + " (or reboot and choose generation " + p.generationBefore() + " in the boot menu); the activation"
                + " output above says what failed.";
    }

    // Checks

    private String resolveTarget(SystemRequest.Apply r, OpContext ctx) throws Problem {
        String target;
        String what;
        if (r.generation() != null) {
            target = profile.require(r.generation()).storePath();
            what = "generation " + r.generation();
        } else {
            target = r.storePath();
            what = target;
            if (!built.isBuilt(target)) {
                throw Problem.invalid(target + " was not built by this engine (there is no GC root for it under "
                        + built.rootsDir() + "). The engine applies only systems it built or existing generations.");
            }
        }
        ctx.progress("check", "Checking that the closure of " + what + " is complete", null, null);
        closures.requireComplete(target, what);
        Optional<String> changed = closures.contentsChanged(target);
        if (changed.isPresent()) {
            throw new Problem(ProblemCode.CLOSURE_INCOMPLETE, "The contents of " + target + " no longer match what"
                    + " nix recorded: " + changed.get() + ". Nothing was changed.",
                    "Rebuild the configuration (the store path may have been modified on disk); run"
                            + " nix-store --verify --check-contents to find other damage.");
        }
        activation.switchScript(target);
        ctx.checkCancelled();
        return target;
    }

    // The lock

    private void acquire(String what) throws Problem {
        synchronized (monitor) {
            if (busy != null) {
                throw busyProblem();
            }
            try {
                WorkDirs.ensurePrivateDir(lockFile.getParent());
                lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                fileLock = lockChannel.tryLock();
            } catch (IOException | OverlappingFileLockException e) {
                fileLock = null;
            }
            if (fileLock == null) {
                closeLockChannel();
                throw new Problem(ProblemCode.BUSY, "Another Safe Rebuild engine is applying or rolling back on this"
                        + " machine (it holds " + lockFile + ").",
                        "Wait for it to finish (its confirm-or-revert window ends by itself), then try again.");
            }
            busy = what;
        }
    }

    private Problem busyProblem() {
        Pending p = current;
        if (p != null && p.phase() == Phase.AWAITING_CONFIRM) {
            return new Problem(ProblemCode.BUSY, "The apply of " + describeApplied(p)
                    + " is waiting for confirmation until " + p.deadline() + ".",
                    "Confirm it or revert it first; a second apply or a rollback would lose track of what to go"
                            + " back to.");
        }
        return new Problem(ProblemCode.BUSY, "The engine is busy with " + busy + ".",
                "Wait until it has finished; one apply or rollback runs at a time.");
    }

    private void release() {
        synchronized (monitor) {
            releaseLocked();
        }
    }

    private void releaseLocked() {
        stopTimer();
        busy = null;
        current = null;
        try {
            if (fileLock != null) {
                fileLock.release();
            }
        } catch (IOException e) {
            LOG.warn("releasing {}: {}", lockFile, e.toString());
        }
        fileLock = null;
        closeLockChannel();
        monitor.notifyAll();
    }

    private void stopTimer() {
        if (tick != null) {
            tick.cancel(false);
            tick = null;
        }
    }

    private void closeLockChannel() {
        if (lockChannel != null) {
            try {
                lockChannel.close();
            } catch (IOException e) {
                LOG.debug("closing {}: {}", lockFile, e.toString());
            }
            lockChannel = null;
        }
    }

    // Persisted state

    /** Replaces {@code file} (in the root-only state directory) atomically, its content synced first. */
    private static void writeDurably(Path file, String text) throws IOException {
        try {
            WorkDirs.ensurePrivateDir(file.getParent());
        } catch (Problem e) {
            throw new IOException(e.getMessage(), e);
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS)) {
            ch.write(java.nio.ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private void persist(Pending p) throws Problem {
        try {
            writeDurably(stateFile, Json.encode(p));
        } catch (IOException e) {
            if (e.getCause() instanceof Problem pr) {
                throw pr;
            }
            throw Problem.internal("Cannot write " + stateFile + ": " + e.getMessage() + ". Nothing was changed"
                    + " after this point.", e);
        }
    }

    private void persistQuietly(Pending p) {
        try {
            persist(p);
        } catch (Problem e) {
            LOG.error("{}", e.getMessage());
        }
    }

    private Pending readPersisted() throws IOException {
        try {
            return Json.mapper().readValue(Files.readString(stateFile), Pending.class);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** What runs until the next boot although the profile boots something else, and why. */
    public record UntilReboot(String storePath, String profilePath, Mode mode) {
    }

    private void recordUntilReboot(String running, Mode mode) {
        if (running == null) {
            return;
        }
        try {
            Files.writeString(untilRebootFile, Json.encode(new UntilReboot(running, profile.currentPath().orElse(""),
                    mode)));
        } catch (IOException e) {
            LOG.warn("cannot record what runs until the next boot: {}", e.toString());
        }
    }

    /**
     * The record of what should run until the next boot, only while the profile still points where
     * it did when it was written (a later switch, rollback or new generation makes it stale).
     */
    public Optional<UntilReboot> untilReboot() {
        try {
            UntilReboot u = Json.mapper().readValue(Files.readString(untilRebootFile), UntilReboot.class);
            return u.profilePath().equals(profile.currentPath().orElse(null)) ? Optional.of(u) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private void clearPersisted() {
        try {
            Files.deleteIfExists(stateFile);
        } catch (IOException e) {
            LOG.error("cannot remove {}: {}", stateFile, e.toString());
        }
    }

    /** After a restart: if the old engine's switch-to-configuration is still running, let it finish first. */
    private static void awaitActivation(Pending p) {
        if (p.activationPid() == null) {
            return;
        }
        ProcessHandle.of(p.activationPid()).ifPresent(h -> {
            String cmd = h.info().commandLine().orElse("");
            if (cmd.contains("switch-to-configuration")) {
                LOG.info("waiting for the activation the previous engine started (pid {})", h.pid());
                h.onExit().join();
            }
        });
    }

    // Another engine's app: status, and confirm or revert handed to the engine that runs the countdown

    /** apply.status: what waits for confirmation on this machine, in this engine or in another one. */
    public SystemResult.ApplyState status(SystemRequest.ApplyStatus r, OpContext ctx) {
        Pending p;
        synchronized (monitor) {
            p = current;
        }
        boolean here = p != null;
        if (p == null) {
            p = waitingElsewhere().orElse(null);
        }
        if (p == null) {
            return new SystemResult.ApplyState(false, null, null, null, null, null, null, null,
                    "Nothing is waiting for confirmation.");
        }
        if (p.phase() != Phase.AWAITING_CONFIRM) {
            return new SystemResult.ApplyState(false, p.mode(), p.storePath(), p.generationAfter(),
                    p.generationBefore(), null, null, here ? ProcessHandle.current().pid() : p.enginePid(),
                    "An apply of " + describeApplied(p) + " is " + (p.phase() == Phase.REVERTING ? "being reverted"
                            : "activating") + "; wait until it has finished.");
        }
        long left = Math.max(0, (Duration.between(Instant.now(), Instant.parse(p.deadline())).toMillis() + 999) / 1000);
        return new SystemResult.ApplyState(true, p.mode(), p.storePath(), p.generationAfter(), p.generationBefore(),
                p.deadline(), left, here ? ProcessHandle.current().pid() : p.enginePid(),
                "Activated " + describeApplied(p) + ". Confirm within " + left + " s to keep it; otherwise the engine"
                        + (here ? "" : " (pid " + p.enginePid() + ")") + " goes back to generation "
                        + p.generationBefore() + " at " + p.deadline() + ".");
    }

    /**
     * The apply another engine left waiting for confirmation (its app went away; it keeps the
     * countdown), if that engine still holds the apply lock. A pending apply without a live owner
     * is not offered: the next engine start reverts it ({@link #resume()}).
     */
    private Optional<Pending> waitingElsewhere() {
        Pending p;
        try {
            p = readPersisted();
        } catch (IOException e) {
            LOG.warn("cannot read {}: {}", stateFile, e.toString());
            return Optional.empty();
        }
        if (p == null || p.enginePid() == ProcessHandle.current().pid()
                || !alive(p.enginePid())
                || !lockHeldElsewhere()) {
            return Optional.empty();
        }
        return Optional.of(p);
    }

    /** Whether another process holds the apply lock (this engine does not). */
    private boolean lockHeldElsewhere() {
        synchronized (monitor) {
            if (fileLock != null) {
                return false;
            }
            try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
                FileLock l = ch.tryLock();
                if (l == null) {
                    return true;
                }
                l.release();
                return false;
            } catch (IOException | OverlappingFileLockException e) {
                return false;
            }
        }
    }

    /**
     * Hands a confirm or revert to the engine that runs the countdown: it looks for
     * {@code answer.json} every second and writes what it did to {@code answered.json}. This
     * engine's dispatcher records the operation in the audit trail, with this app's operator.
     */
    private Answered forward(Pending owner, String action, OpContext ctx) throws Problem {
        if (owner.phase() != Phase.AWAITING_CONFIRM) {
            throw new Problem(ProblemCode.BUSY, "The apply of " + describeApplied(owner) + " is no longer waiting:"
                    + " engine pid " + owner.enginePid() + " is " + (owner.phase() == Phase.REVERTING ? "reverting"
                            : "activating") + " it.",
                    "Wait until it has finished, then look at the generations.");
        }
        String nonce = java.util.UUID.randomUUID().toString();
        try {
            Files.deleteIfExists(answeredFile);
            writeDurably(answerFile, Json.encode(new Answer(nonce, action, ctx.operator(), Instant.now().toString())));
        } catch (IOException e) {
            throw Problem.internal("Cannot hand the " + action + " to engine pid " + owner.enginePid() + " through "
                    + answerFile + ": " + e.getMessage(), e);
        }
        ctx.progress("forward", "Asking engine pid " + owner.enginePid() + ", which runs the countdown, to " + action,
                null, null);
        long pickupBy = System.nanoTime() + PICKUP.toNanos();
        while (true) {
            Answered a = readJson(answeredFile, Answered.class);
            if (a != null && nonce.equals(a.nonce())) {
                deleteQuietly(answeredFile);
                awaitSettled(owner);
                return a;
            }
            Answer waiting = readJson(answerFile, Answer.class);
            boolean pending = waiting != null && nonce.equals(waiting.nonce());
            if (pending && System.nanoTime() > pickupBy) {
                deleteQuietly(answerFile);
                throw new Problem(ProblemCode.BUSY, "Engine pid " + owner.enginePid() + ", which runs the countdown of "
                        + describeApplied(owner) + ", did not take the " + action + " within " + PICKUP.toSeconds()
                        + " s.", "Without a confirmation it goes back to generation " + owner.generationBefore()
                        + " at " + owner.deadline() + " by itself; try again, or wait for that.");
            }
            if (!alive(owner.enginePid())) {
                throw new Problem(ProblemCode.BUSY, "Engine pid " + owner.enginePid() + ", which ran the countdown of "
                        + describeApplied(owner) + ", stopped before answering.",
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
    private void awaitSettled(Pending owner) throws Problem {
        long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        try {
            while (System.nanoTime() < until && Files.exists(stateFile)
                    && alive(owner.enginePid())) {
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Problem.internal("Interrupted while waiting for engine pid " + owner.enginePid(), e);
        }
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private static Problem tooLate(Answered a) {
        return new Problem(ProblemCode.NOT_FOUND, "Too late: " + a.message(),
                "Look at the generations to see what runs now; roll back or apply again if needed.");
    }

    /** The countdown's engine: an answer another engine left for it, taken (removed) so it is done once. */
    private Answer takeAnswer() {
        Answer a = readJson(answerFile, Answer.class);
        if (a != null) {
            deleteQuietly(answerFile);
        }
        return a;
    }

    /** The countdown's engine does what another engine's operator asked, and says what it did. */
    private void answer(Answer a) {
        String by = describe(a.who());
        LOG.info("{} asked through another engine to {}", by, a.action());
        if (a.action().equals("confirm")) {
            Pending p;
            String msg;
            synchronized (monitor) {
                p = current;
                if (p == null || p.phase() != Phase.AWAITING_CONFIRM) {
                    writeAnswered(new Answered(a.nonce(), "too-late", "the apply was no longer waiting for"
                            + " confirmation.", readLink(config.currentSystem())));
                    return;
                }
                msg = "Confirmed: " + describeApplied(p) + " stays.";
                // Answered before the lock is released: an engine whose app is gone exits as soon as it is free.
                writeAnswered(new Answered(a.nonce(), "confirmed", msg, readLink(config.currentSystem())));
                try {
                    confirmHeld(p);
                } catch (Problem e) {
                    throw new IllegalStateException(e); // the phase was checked under the same monitor
                }
            }
            notice(p, Event.Notice.Topic.CONFIRMED, msg + " (confirmed by " + by + " from another window)",
                    p.generationAfter(), null);
            return;
        }
        Pending p = takeForRevert();
        if (p == null) {
            writeAnswered(new Answered(a.nonce(), "too-late", "the apply was no longer waiting to be reverted.",
                    readLink(config.currentSystem())));
            return;
        }
        String reason = "the operator asked to revert (" + by + ", from another window)";
        try {
            Recovery rec = revertNow(p, reason, line -> LOG.info("revert: {}", line));
            revertedNotice(p, reason, rec);
            // Written before the lock is released: an engine whose app is gone exits as soon as it is free.
            writeAnswered(new Answered(a.nonce(), rec.complete() ? "reverted" : "revert-failed",
                    (rec.complete() ? "Reverted: " : "Reverting did not complete. ") + rec.state(),
                    readLink(config.currentSystem())));
        } finally {
            release();
        }
    }

    private void writeAnswered(Answered a) {
        try {
            writeDurably(answeredFile, Json.encode(a));
        } catch (IOException e) {
            LOG.error("cannot write {}: {}", answeredFile, e.toString());
        }
    }

    private static <T> T readJson(Path file, Class<T> type) {
        try {
            return Json.mapper().readValue(Files.readString(file), type);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring unreadable {}: {}", file, e.toString());
            return null;
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("cannot remove {}: {}", file, e.toString());
        }
    }

    // Words

    private void notice(Pending p, Event.Notice.Topic topic, String message, Integer generation, Long secondsLeft) {
        EventSink s = sink;
        if (s != null) {
            s.send(new Event.Notice(0, p.applyId(), topic, message, generation, secondsLeft,
                    topic == Event.Notice.Topic.COUNTDOWN ? p.deadline() : null));
        }
    }

    private static String describeApplied(Pending p) {
        return p.mode() == Mode.TEST ? p.storePath() + " (test)" : "generation " + p.generationAfter() + " ("
                + p.storePath() + ")";
    }

    static String describe(AuditRecord.Who who) {
        if (who == null) {
            return "the engine";
        }
        return (who.name() != null ? who.name() : "uid " + who.uid()) + " via " + who.via();
    }

    private static String ended(Activation.Result res) {
        String how = res.timedOut() ? "it did not finish in time and was stopped" : "exit code " + res.exitCode();
        if (!res.lastLines().isEmpty()) {
            how += "; last output: " + res.lastLines().get(res.lastLines().size() - 1);
        }
        return how;
    }

    /** Where a link points, made absolute (the demo's links may be relative); null if it is not a link. */
    static String readLink(String link) {
        try {
            Path l = Path.of(link);
            Path target = Files.readSymbolicLink(l);
            return (target.isAbsolute() ? target : l.resolveSibling(target)).normalize().toString();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }
}
