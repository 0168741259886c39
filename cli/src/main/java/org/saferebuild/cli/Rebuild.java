package org.saferebuild.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.saferebuild.app.client.EngineClient;
import org.saferebuild.app.client.RemoteTarget;
import org.saferebuild.app.launch.LaunchException;
import org.saferebuild.app.log.LogLine;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.InspectRequest;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.NixEvent;
import org.saferebuild.protocol.NixRequest;
import org.saferebuild.protocol.NixResult;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;
import org.saferebuild.protocol.Sizes;
import org.saferebuild.protocol.SystemRef;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * build, diff and switch/test/boot: the runbook's steps 1–7 as nh reads them, one named step per
 * line — preflight → sandbox → build → close → inspect → (copy to the target and adopt) → diff →
 * baseline → sign-off → apply → verify → confirm or revert. With several targets each machine
 * gets its own copy, sign-off, apply and confirm-or-revert (deploy-rs's magic rollback, per host),
 * one after another or --parallel N at once, and no new machine starts after one failed to verify.
 */
final class Rebuild {
    private final Cli cli;
    private final Io io;
    private final Args args;

    Rebuild(Cli cli) {
        this.cli = cli;
        this.io = cli.io();
        this.args = cli.args();
    }

    /** What was built for one flake host, with the checklist evidence the build gave. */
    record BuildOutcome(NixResult.Built built, long logLines, long errors, long warnings,
                        InspectResult.Inspection inspection) {
    }

    // build

    int build() throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
        EngineClient local = cli.local();
        Map<String, BuildOutcome> b = buildAll(local, java.util.Arrays.asList(args.get("--host")), null);
        BuildOutcome o = b.values().iterator().next();
        io.say(Render.built(o.built()));
        cli.printJson(o.built());
        return Cli.OK;
    }

    /**
     * Runbook steps 1–5: one sandbox, one build per distinct flake host, the sandbox closed
     * whatever happens. {@code checklist} (may be null) gets BUILDS and LOG_CLEAN.
     */
    private Map<String, BuildOutcome> buildAll(EngineClient local, List<String> hosts, Checklist checklist)
            throws Args.UsageException, EngineConnection.EngineFailure {
        String dir = cli.configDir(local);
        SandboxRequest.Network network = cli.network();
        io.progress("Opening the sandbox for " + dir + " (network " + network.name().toLowerCase() + ")");
        SandboxResult.Opened o = cli.call(local, id -> new SandboxRequest.Open(id, dir, cli.plan(), network),
                SandboxResult.Opened.class);
        io.note("Sandbox " + o.sandbox() + ": " + o.mounts().size() + " mounts in " + o.setupMillis()
                + " ms, none visible on the host (safe-rebuild isolate shows them)");
        Map<String, BuildOutcome> out = new LinkedHashMap<>();
        try {
            for (String host : hosts) {
                if (out.containsKey(host == null ? "" : host)) {
                    continue;
                }
                AtomicLong lines = new AtomicLong();
                AtomicLong errors = new AtomicLong();
                AtomicLong warnings = new AtomicLong();
                boolean printLogs = args.has("--print-build-logs");
                NixResult.Built built = cli.call(local, id -> new NixRequest.Build(id, o.sandbox(), host),
                        NixResult.Built.class, e -> {
                            if (e instanceof Event.Log l) {
                                for (String s : l.lines()) {
                                    lines.incrementAndGet();
                                    LogLine.Level level = LogLine.classify(s);
                                    if (level == LogLine.Level.ERROR) {
                                        errors.incrementAndGet();
                                    } else if (level == LogLine.Level.WARNING) {
                                        warnings.incrementAndGet();
                                    }
                                    if (printLogs) {
                                        io.note(s);
                                    }
                                }
                            } else if (e instanceof NixEvent.BuildProgress p) {
                                io.progress(Render.buildProgress(p));
                            } else if (e instanceof Event.Progress p) {
                                io.progress(p.message());
                            }
                        });
                io.note("Built " + built.storePath() + " (" + built.built() + " built, " + built.fetched()
                        + " fetched, " + String.format("%.1f", built.millis() / 1000.0) + " s)");
                InspectResult.Inspection inspection = cli.call(local, id -> new InspectRequest.Inspect(id,
                        SystemRef.path(built.storePath())), InspectResult.Inspection.class);
                out.put(host == null ? "" : host, new BuildOutcome(built, lines.get(), errors.get(), warnings.get(),
                        inspection));
            }
        } catch (EngineConnection.EngineFailure f) {
            if (checklist != null) {
                checklist.record(Checklist.Item.BUILDS, false, f.failure().message());
            }
            cli.closeQuietly(local, o.sandbox());
            throw f;
        }
        SandboxResult.Closed closed = cli.call(local, id -> new SandboxRequest.Close(id, o.sandbox(), false),
                SandboxResult.Closed.class);
        if (!closed.workDirRemoved()) {
            io.note("warning: the sandbox left " + closed.left());
        }
        return out;
    }

    // diff

    int diff() throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
        List<Cli.Target> targets = cli.targets();
        if (targets.size() > 1) {
            throw new Args.UsageException("diff compares with one machine; give one --target-host");
        }
        SystemRef to;
        String path = args.get("--system");
        Integer generation = args.integer("--generation", null, 1, Integer.MAX_VALUE);
        if (path != null && generation != null) {
            throw new Args.UsageException("give --system or --generation, not both");
        }
        if (generation != null) {
            to = SystemRef.generation(generation);
        } else {
            if (path == null) {
                EngineClient local = cli.local();
                String host = targets.isEmpty() ? args.get("--host") : targets.get(0).host();
                path = buildAll(local, java.util.Arrays.asList(host), null)
                        .values().iterator().next().built().storePath();
            }
            try {
                to = SystemRef.path(path);
            } catch (IllegalArgumentException e) {
                throw new Args.UsageException(e.getMessage());
            }
        }
        EngineClient machine;
        if (targets.isEmpty()) {
            machine = cli.local();
        } else {
            RemoteTarget rt = cli.connect(targets.get(0).ssh());
            if (to instanceof SystemRef.StorePath p) {
                rt.bring(List.of(p.path()), this::showCopy);
            }
            machine = rt.engine();
        }
        InspectResult.Comparison c = cli.compare(machine, to);
        io.say(Render.comparison(c));
        cli.printJson(c);
        return Cli.OK;
    }

    private void showCopy(Event e) {
        if (e instanceof Event.Progress p) {
            io.progress(p.message());
        } else if (e instanceof Event.Log l && !l.lines().isEmpty()) {
            io.progress(l.lines().get(l.lines().size() - 1));
        }
    }

    // switch, test, boot

    int apply(SystemRequest.Mode mode) throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
        List<Cli.Target> targets = cli.targets();
        boolean remote = !targets.isEmpty();
        if (!remote) {
            targets = List.of(new Cli.Target(args.get("--host"), null));
        }
        boolean auto = args.has("--auto-confirm");
        boolean noWait = args.has("--no-wait");
        if (auto && noWait) {
            throw new Args.UsageException("give --auto-confirm or --no-wait, not both");
        }
        if (mode != SystemRequest.Mode.BOOT && targets.size() > 1 && !auto && !noWait) {
            throw new Args.UsageException("with several targets each one needs its own confirmation: add"
                    + " --auto-confirm (confirm each after it verifies over a fresh connection) or --no-wait"
                    + " (confirm each yourself: safe-rebuild confirm --target-host …)");
        }
        Integer seconds = mode == SystemRequest.Mode.BOOT ? null
                : args.integer("--confirm-within", 120, SystemRequest.MIN_CONFIRM_SECONDS,
                SystemRequest.MAX_CONFIRM_SECONDS);
        int parallel = args.integer("--parallel", 1, 1, 64);
        Signer signer = new Signer();
        // What only a person can answer must be answerable before anything starts.
        if (!io.interactive && (!args.has("--maintenance-window") || args.get("--operator") == null)) {
            throw new Args.UsageException("the checklist needs a person and stdin is not a terminal, so nobody can be"
                    + " asked: give --maintenance-window (\"Off-hours or maintenance window if possible\") and"
                    + " --operator NAME (who signs it)");
        }

        // Runbook steps 1–5 on this machine: preflight (the disk item), sandbox, build, close.
        EngineClient local = cli.local();
        PreflightReport pre = cli.call(local, id -> new Request.Preflight(id, args.get("--config-dir")),
                PreflightReport.class);
        if (!pre.ready()) {
            io.say(Render.preflight(pre));
            cli.printJson(pre);
            return Cli.FAILED;
        }
        List<String> hosts = targets.stream().map(Cli.Target::host).toList();
        Map<String, BuildOutcome> builds = buildAll(local, hosts, null);

        List<HostRun> runs = new ArrayList<>();
        for (Cli.Target t : targets) {
            runs.add(new HostRun(t, builds.get(t.host() == null ? "" : t.host()), pre, mode, seconds, auto, noWait,
                    remote));
        }
        AtomicBoolean stop = new AtomicBoolean();
        if (parallel == 1 || runs.size() == 1) {
            for (HostRun r : runs) {
                if (stop.get()) {
                    r.outcome = "not started: an earlier machine did not verify";
                    continue;
                }
                r.run(local, signer, stop);
            }
        } else {
            ExecutorService pool = Executors.newFixedThreadPool(parallel);
            List<Future<?>> futures = new ArrayList<>();
            for (HostRun r : runs) {
                futures.add(pool.submit(() -> {
                    if (stop.get()) {
                        r.outcome = "not started: an earlier machine did not verify";
                        return;
                    }
                    r.run(local, signer, stop);
                }));
            }
            for (Future<?> f : futures) {
                try {
                    f.get();
                } catch (Exception e) {
                    // each run records its own failure
                }
            }
            pool.shutdown();
        }

        int exit = Cli.OK;
        ArrayNode hostsJson = Json.mapper().createArrayNode();
        for (HostRun r : runs) {
            exit = Math.max(exit, r.exit);
            hostsJson.add(r.json());
        }
        if (runs.size() > 1) {
            io.say("");
            for (HostRun r : runs) {
                io.say(String.format("%-28s %s", r.target.name(), r.outcome));
            }
        }
        ObjectNode j = Json.mapper().createObjectNode();
        j.put("command", args.command);
        j.set("hosts", hostsJson);
        j.put("exit", exit);
        cli.printJson(j);
        return exit;
    }

    /** The operator's part of the sign-off, asked once for all machines. */
    private final class Signer {
        private String operator;
        private Boolean window;

        synchronized Optional<String> operator(String osUser) throws Args.UsageException {
            if (operator == null) {
                String given = args.get("--operator");
                if (given != null) {
                    operator = given.strip();
                } else if (io.interactive) {
                    String suggested = osUser == null ? "" : osUser;
                    Optional<String> a = io.ask("Sign the checklist as" + (suggested.isEmpty() ? "" : " [" + suggested
                            + "]") + ": ");
                    operator = a.map(s -> s.isEmpty() ? suggested : s).orElse("");
                } else {
                    throw new Args.UsageException("the sign-off needs a person: give --operator NAME (stdin is not a"
                            + " terminal, so nobody can be asked)");
                }
            }
            return operator.isBlank() ? Optional.empty() : Optional.of(operator);
        }

        synchronized boolean window() throws Args.UsageException {
            if (window == null) {
                if (args.has("--maintenance-window")) {
                    window = true;
                } else if (io.interactive) {
                    Optional<String> a = io.ask("Off-hours or maintenance window: is this a good time to change"
                            + " the system? [y/N] ");
                    window = a.map(s -> s.equalsIgnoreCase("y") || s.equalsIgnoreCase("yes")).orElse(false);
                } else {
                    throw new Args.UsageException("the checklist's \"Off-hours or maintenance window\" needs a person:"
                            + " give --maintenance-window (stdin is not a terminal, so nobody can be asked)");
                }
            }
            return window;
        }
    }

    /** One machine's way from the built system to kept (or reverted). */
    private final class HostRun {
        final Cli.Target target;
        final BuildOutcome build;
        final PreflightReport pre;
        final SystemRequest.Mode mode;
        final Integer seconds;
        final boolean auto;
        final boolean noWait;
        final boolean remote;
        final Checklist checklist = new Checklist();
        volatile String outcome = "not started";
        volatile int exit = Cli.OK;
        InspectResult.Comparison diff;
        SystemResult.SignedOff signedOff;
        SystemResult.Applied applied;
        SystemResult.VerifyReport verified;
        Event.Failure failure;

        HostRun(Cli.Target target, BuildOutcome build, PreflightReport pre, SystemRequest.Mode mode, Integer seconds,
                boolean auto, boolean noWait, boolean remote) {
            this.target = target;
            this.build = build;
            this.pre = pre;
            this.mode = mode;
            this.seconds = seconds;
            this.auto = auto;
            this.noWait = noWait;
            this.remote = remote;
        }

        private String tag() {
            return remote ? "[" + target.ssh().destination() + "] " : "";
        }

        void run(EngineClient local, Signer signer, AtomicBoolean stop) {
            try {
                exit = steps(local, signer, stop);
            } catch (StopAfter e) {
                exit = e.exit;
                stop.set(true);
            } catch (Args.UsageException e) {
                failure = new Event.Failure(1, ProblemCode.INVALID_ARGUMENT, e.getMessage() + ".",
                        "See safe-rebuild --help.");
                outcome = "failed: " + e.getMessage();
                exit = Cli.USAGE;
            } catch (LaunchException e) {
                failure = new Event.Failure(1, ProblemCode.NOT_AUTHORIZED, e.getMessage(), e.fix());
                outcome = "failed: " + e.getMessage();
                exit = Cli.NO_ENGINE;
            } catch (EngineConnection.EngineFailure e) {
                failure = e.failure();
                outcome = "failed: " + e.failure().message();
                exit = Cli.FAILED;
            }
            if (failure != null) {
                io.note(tag() + Render.failure(failure));
                stop.set(true);
            }
        }

        private int steps(EngineClient local, Signer signer, AtomicBoolean stop)
                throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
            String path = build.built().storePath();
            EngineClient machine = local;
            if (remote) {
                RemoteTarget rt = cli.connect(target.ssh());
                io.progress(tag() + "Copying " + path + " (nix copy --to " + target.ssh().storeUri() + ")");
                rt.bring(List.of(path), e -> showCopy(e));
                io.note(tag() + "Copied and adopted " + path);
                machine = rt.engine();
            }
            recordBuildEvidence();
            EngineClient m = machine;
            diff = cli.compare(m, SystemRef.path(path));
            io.say(tag() + Render.comparison(diff).replace("\n", "\n" + tag()));

            // The evidence the sign-off needs from the machine being changed.
            SystemResult.Baseline b = cli.call(m, id -> new SystemRequest.Baseline(id, remote ? null
                    : args.get("--config-dir")), SystemResult.Baseline.class);
            SystemResult.Backup k = b.backup();
            checklist.record(Checklist.Item.BACKUP, k != null && k.files() > 0, k == null ? "No backup was made."
                    : k.files() + " files (" + Sizes.human(k.bytes()) + ") of " + k.configDir()
                    + " copied to the engine's state with their SHA-256; tree " + k.treeSha256());
            checklist.record(Checklist.Item.BASELINE, true, "Taken " + b.takenAt() + ": generation " + b.generation()
                    + ", " + b.logSizes().size() + " watched logs" + (b.notObserved().isEmpty() ? ""
                    : "; not observed here: " + b.notObserved().size() + " item(s)"));
            SystemResult.GenerationList g = cli.call(m, SystemRequest.Generations::new,
                    SystemResult.GenerationList.class);
            Optional<SystemResult.Generation> current = g.generations().stream()
                    .filter(SystemResult.Generation::current).findFirst();
            checklist.record(Checklist.Item.ROLLBACK, current.map(c -> c.onDisk() && c.closureComplete()).orElse(false),
                    current.map(c -> "Generation " + c.number() + " is " + (c.onDisk() && c.closureComplete()
                            ? "on disk with its complete closure" : "NOT complete on disk")
                            + "; safe-rebuild rollback --to " + c.number() + " returns to it").orElse(
                            "The system profile " + g.profile() + " has no current generation to roll back to."));
            boolean window = signer.window();
            checklist.record(Checklist.Item.WINDOW, window, window ? "Confirmed by the operator"
                    + (args.has("--maintenance-window") ? " (--maintenance-window)." : " on the terminal.")
                    : "The operator said this is not a good time.");
            io.say(tag() + "Safety checklist:\n" + String.join("\n", checklist.lines()));
            List<Checklist.Item> open = checklist.open();
            if (!open.isEmpty()) {
                throw new EngineConnection.EngineFailure(new Event.Failure(1, ProblemCode.INVALID_ARGUMENT,
                        "Not signed off: " + open.size() + " checklist item(s) are not green ("
                                + String.join("; ", open.stream().map(i -> i.runbookText).toList())
                                + "). Nothing was applied.",
                        "Fix what each item's evidence says, then run the command again."));
            }
            String osUser = remote ? local.welcome().operatorName() : m.welcome().operatorName();
            String name = signer.operator(osUser).orElseThrow(() -> new EngineConnection.EngineFailure(
                    new Event.Failure(1, ProblemCode.INVALID_ARGUMENT, "Not signed off: no name was given."
                            + " Nothing was applied.", "Type your name when asked, or give --operator NAME.")));
            signedOff = cli.call(m, id -> new SystemRequest.Signoff(id, name, checklist.answers()),
                    SystemResult.SignedOff.class);
            io.note(tag() + "Signed off by " + name + " (OS user " + signedOff.osUser() + "), audit line "
                    + signedOff.line());

            // Runbook step 6.
            applied = cli.call(m, id -> new SystemRequest.Apply(id, path, null, mode, seconds),
                    SystemResult.Applied.class, e -> {
                        if (e instanceof Event.Progress p) {
                            io.progress(tag() + p.message());
                        } else if (e instanceof Event.Log l && args.has("--print-build-logs")) {
                            l.lines().forEach(s -> io.note(tag() + s));
                        }
                    });
            io.say(tag() + Render.applied(applied));
            if (!applied.awaitingConfirm()) {
                outcome = mode == SystemRequest.Mode.BOOT ? "boot default is generation " + applied.generationAfter()
                        : "applied";
                return Cli.OK;
            }
            // Runbook step 7 and confirm-or-revert.
            if (noWait) {
                outcome = "awaiting confirmation until " + applied.confirmDeadline();
                io.say(tag() + "Left awaiting confirmation: it reverts by itself at " + applied.confirmDeadline()
                        + " unless you run safe-rebuild confirm" + where() + ".");
                return Cli.OK;
            }
            if (auto) {
                return autoConfirm(m);
            }
            if (!io.interactive) {
                outcome = "awaiting confirmation until " + applied.confirmDeadline();
                io.say(tag() + "stdin is not a terminal, so nobody can be asked: it reverts by itself at "
                        + applied.confirmDeadline() + " unless you run safe-rebuild confirm" + where()
                        + " (or give --auto-confirm).");
                return Cli.OK;
            }
            return askOperator(m);
        }

        private String where() {
            return remote ? " --target-host " + target.ssh().destination() : "";
        }

        private void recordBuildEvidence() {
            NixResult.Built b = build.built();
            checklist.record(Checklist.Item.BUILDS, true, "Built " + b.storePath() + " in the isolated environment ("
                    + b.built() + " derivations built, " + b.fetched() + " fetched); the engine keeps it as a GC root.");
            checklist.record(Checklist.Item.LOG_CLEAN, build.errors() == 0, String.format(
                    "Scanned all %,d lines of the build log: %,d error%s, %,d warning%s.", build.logLines(),
                    build.errors(), build.errors() == 1 ? "" : "s", build.warnings(), build.warnings() == 1 ? "" : "s"));
            List<InspectResult.WatchedService> watched = build.inspection().watched();
            boolean all = !watched.isEmpty() && watched.stream().allMatch(InspectResult.WatchedService::present);
            checklist.record(Checklist.Item.SERVICES, all, "In the built system: " + String.join("; ", watched.stream()
                    .map(w -> w.present() ? w.glob() + " → " + String.join(", ", w.units()) : w.glob() + " MISSING")
                    .toList()) + ".");
            boolean disk = !pre.disks().isEmpty() && pre.disks().stream().allMatch(PreflightReport.Disk::ok);
            checklist.record(Checklist.Item.DISK, disk, String.join("; ", pre.disks().stream()
                    .map(d -> Sizes.human(d.freeBytes()) + " free on the " + d.label()).toList())
                    + (pre.disks().isEmpty() ? "" : "; " + Sizes.human(pre.disks().get(0).thresholdBytes())
                    + " needed"));
        }

        /**
         * deploy-rs's magic rollback: a fresh connection to the machine (it still answers after the
         * switch), verify there, confirm unless a check failed (INCOMPLETE: some checks cannot run on
         * that machine, each says why); otherwise revert now.
         */
        private int autoConfirm(EngineClient m) throws LaunchException, EngineConnection.EngineFailure {
            EngineClient fresh = remote ? cli.connect(target.ssh()).engine() : m;
            io.progress(tag() + "Verifying over a new connection before confirming");
            verified = cli.call(fresh, SystemRequest.Verify::new, SystemResult.VerifyReport.class);
            io.say(tag() + Render.verify(verified).replace("\n", "\n" + tag()));
            // INCOMPLETE: nothing failed, some checks cannot run on this machine (they say which and why).
            if (verified.verdict() != SystemResult.Verdict.FAIL) {
                SystemResult.Confirmed c = cli.call(fresh, SystemRequest.Confirm::new, SystemResult.Confirmed.class);
                io.say(tag() + c.message());
                outcome = "confirmed: generation " + c.generation() + " kept";
                return Cli.OK;
            }
            SystemResult.Reverted r = cli.call(fresh, SystemRequest.Revert::new, SystemResult.Reverted.class);
            io.say(tag() + "Verify did not pass, so it was reverted: " + r.message());
            outcome = "reverted: verify " + verified.verdict();
            throw new StopAfter(Cli.REVERTED);
        }

        /** Verify, then ask on the terminal until the deadline: keep, revert, or let the engine revert. */
        private int askOperator(EngineClient m) throws EngineConnection.EngineFailure {
            verified = cli.call(m, SystemRequest.Verify::new, SystemResult.VerifyReport.class);
            io.say(tag() + Render.verify(verified));
            Instant deadline = Instant.parse(applied.confirmDeadline());
            while (true) {
                Duration left = Duration.between(Instant.now(), deadline);
                if (left.isNegative() || left.isZero()) {
                    break;
                }
                String what = mode == SystemRequest.Mode.TEST ? "the system under test (until the next boot)"
                        : "generation " + applied.generationAfter();
                Optional<String> a = io.ask(tag() + "Keep " + what + "? Type keep to keep it or revert to go back"
                        + " now; it reverts by itself in " + left.toSeconds() + " s: ", left,
                        () -> m.closed().isDone());
                if (m.closed().isDone()) {
                    // The "app died" case: the engine there goes on and reverts at the deadline unless confirmed.
                    outcome = "connection lost while awaiting confirmation";
                    throw new EngineConnection.EngineFailure(new Event.Failure(1, ProblemCode.INTERNAL,
                            "The connection to " + target.name() + " ended while it awaited confirmation ("
                                    + m.closed().getNow("") + "). Its engine reverts to generation "
                                    + applied.generationBefore() + " at " + applied.confirmDeadline()
                                    + " unless someone confirms.",
                            "To keep it, run safe-rebuild confirm" + where() + " before " + applied.confirmDeadline()
                                    + "; safe-rebuild status" + where() + " shows what happened."));
                }
                if (a.isEmpty()) {
                    break;
                }
                String answer = a.get().toLowerCase();
                if (answer.equals("keep") || answer.equals("confirm")) {
                    SystemResult.Confirmed c = cli.call(m, SystemRequest.Confirm::new, SystemResult.Confirmed.class);
                    io.say(tag() + c.message());
                    outcome = "confirmed: generation " + c.generation() + " kept";
                    return verified.verdict() == SystemResult.Verdict.FAIL ? Cli.NOT_VERIFIED : Cli.OK;
                }
                if (answer.equals("revert")) {
                    SystemResult.Reverted r = cli.call(m, SystemRequest.Revert::new, SystemResult.Reverted.class);
                    io.say(tag() + r.message());
                    outcome = "reverted by the operator";
                    return Cli.REVERTED;
                }
            }
            // No answer: the engine reverts at the deadline; wait for it to say so.
            io.progress(tag() + "No confirmation: waiting for the engine to revert");
            Event.Notice n = awaitRevert(m, Duration.between(Instant.now(), deadline).plusSeconds(120));
            io.say(tag() + (n == null ? "The engine did not report the revert; run safe-rebuild status" + where()
                    : n.message()));
            outcome = "reverted: not confirmed in time";
            return Cli.REVERTED;
        }

        private Event.Notice awaitRevert(EngineClient m, Duration within) {
            java.util.concurrent.CompletableFuture<Event.Notice> done = new java.util.concurrent.CompletableFuture<>();
            m.addUnsolicitedListener(e -> {
                if (e instanceof Event.Notice n && (n.topic() == Event.Notice.Topic.REVERTED
                        || n.topic() == Event.Notice.Topic.REVERT_FAILED)) {
                    done.complete(n);
                }
            });
            try {
                return done.get(within.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                return null;
            }
        }

        ObjectNode json() {
            ObjectNode j = Json.mapper().createObjectNode();
            j.put("host", target.host());
            j.put("target", remote ? target.ssh().destination() : null);
            j.put("storePath", build == null ? null : build.built().storePath());
            j.put("outcome", outcome);
            j.put("exit", exit);
            j.set("diff", Json.mapper().valueToTree(diff));
            j.set("signedOff", Json.mapper().valueToTree(signedOff));
            j.set("applied", Json.mapper().valueToTree(applied));
            j.set("verify", Json.mapper().valueToTree(verified));
            j.set("error", Json.mapper().valueToTree(failure));
            return j;
        }
    }

    /** A run that ended as planned but not well (reverted): its exit code, and no further machines. */
    private static final class StopAfter extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int exit;

        StopAfter(int exit) {
            super(null, null, false, false);
            this.exit = exit;
        }
    }
}
