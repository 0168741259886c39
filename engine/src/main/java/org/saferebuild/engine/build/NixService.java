package org.saferebuild.engine.build;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.saferebuild.engine.ConfigDirs;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sys.DiskSpace;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.sandbox.Sandbox;
import org.saferebuild.engine.sandbox.SandboxManager;
import org.saferebuild.engine.sys.DaemonThreads;
import org.saferebuild.engine.sys.Posix;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.NixEvent;
import org.saferebuild.protocol.NixRequest;
import org.saferebuild.protocol.NixResult;
import org.saferebuild.protocol.PreflightReport.ConfigKind;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Values;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runbook steps 3 and 4, inside an open sandbox: validate (the hosts the flake declares,
 * evaluation, a dry build) and build (nix build in the sandbox, followed through
 * --log-format internal-json; the result becomes a GC root of the engine).
 *
 * <p>Nix runs as in nh: directly, the same way on NixOS and on a test machine. Flakes are
 * evaluated as {@code path:/etc/nixos#nixosConfigurations.<host>} (the configuration directory
 * is bound read-only at /etc/nixos); classic configurations as {@code <nixpkgs/nixos>} with
 * {@code nixos-config=/etc/nixos/configuration.nix} and the settings' NIX_PATH. With the network
 * isolated, nix runs offline and fails fast instead of waiting on substituters.
 */
public final class NixService {
    private static final Logger LOG = LoggerFactory.getLogger(NixService.class);
    /** The log stream of validate and build: nix's messages and every builder line. */
    public static final String STREAM = "build";
    private static final Duration EVAL_TIMEOUT = Duration.ofMinutes(30);
    private static final Duration BUILD_TIMEOUT = Duration.ofHours(24);
    private static final long PROGRESS_MILLIS = 100;
    private static final int MAX_CAPTURED_LINES = 200_000;
    private static final String APPLY = "c: { drvPath = c.system.build.toplevel.drvPath;"
            + " name = c.system.build.toplevel.name; host = c.networking.hostName or null; }";
    private static final Pattern NETWORK_TROUBLE = Pattern.compile(
            "unable to download|resolve host|Network is unreachable|Connection refused|Failed to connect"
                    + "|Timeout was reached|Could not connect");

    private final EngineConfig config;
    private final NixEnv nixEnv;
    private final SandboxManager sandboxes;
    private final BuiltSystems built;
    private final BuildHistory history;
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(
            DaemonThreads.named("build-progress"));

    public NixService(EngineConfig config, NixEnv nixEnv, SandboxManager sandboxes, BuiltSystems built,
                      BuildHistory history) {
        this.config = config;
        this.nixEnv = nixEnv;
        this.sandboxes = sandboxes;
        this.built = built;
        this.history = history;
    }

    /** What is evaluated and built, as seen inside the sandbox. */
    record Target(ConfigKind kind, Path configDir, String host, List<String> hosts) {
        /** Arguments naming the configuration's {@code config} (for evaluation). */
        List<String> configArgs() {
            return kind == ConfigKind.FLAKE
                    ? List.of("path:" + NixErrors.CONFIG_IN_SANDBOX + "#nixosConfigurations." + host + ".config")
                    : List.of("-f", "<nixpkgs/nixos>", "config", "-I", nixosConfig());
        }

        /** Arguments naming the system to build. */
        List<String> systemArgs() {
            return kind == ConfigKind.FLAKE
                    ? List.of("path:" + NixErrors.CONFIG_IN_SANDBOX + "#nixosConfigurations." + host
                            + ".config.system.build.toplevel")
                    : List.of("-f", "<nixpkgs/nixos>", "system", "-I", nixosConfig());
        }

        String display() {
            return kind == ConfigKind.FLAKE
                    ? NixErrors.CONFIG_IN_SANDBOX + "#nixosConfigurations." + host + ".config.system.build.toplevel"
                    : "<nixpkgs/nixos> system (" + nixosConfig() + ")";
        }

        private static String nixosConfig() {
            return "nixos-config=" + NixErrors.CONFIG_IN_SANDBOX + "/configuration.nix";
        }
    }

    record Evaluated(String drvPath, String systemName, String host, List<String> warnings, long millis) {
    }

    record Plan(DryRun dry, List<NixResult.Download> needsNetwork, long millis) {
    }

    // Operations

    /** Runbook step 3: evaluate inside the sandbox, then a dry build. */
    public NixResult.Validation validate(NixRequest.Validate request, OpContext ctx) throws Problem {
        Sandbox s = sandboxes.require(request.sandbox());
        Target t = resolve(s, request.host(), ctx);
        Evaluated ev = evaluate(s, t, ctx);
        Plan plan = plan(s, ev, ctx);
        List<String> warnings = new ArrayList<>(ev.warnings());
        if (t.kind() == ConfigKind.CLASSIC && request.host() != null && !request.host().equals(ev.host())) {
            warnings.add("A classic configuration has no host attribute: this one is for " + ev.host() + " (its"
                    + " networking.hostName), not " + request.host() + ".");
        }
        if (!plan.needsNetwork().isEmpty() && s.networkIsolated()) {
            warnings.add(networkIsolated(plan.needsNetwork()).getMessage() + " " + networkFix(plan.needsNetwork()));
        }
        if (!plan.dry().unknown().isEmpty()) {
            warnings.add("nix does not know how to build " + plan.dry().unknown().size() + " path(s), for example "
                    + plan.dry().unknown().get(0) + (s.networkIsolated()
                    ? "; they would have to be downloaded, and the network is isolated." : "."));
        }
        ctx.progress("validate", "Validated: " + plan.dry().toBuild().size() + " to build, "
                + plan.dry().toFetch().size() + " to fetch", null, null);
        return new NixResult.Validation(s.id(), s.configDir(), t.kind(), ev.host(), t.hosts(), t.display(),
                ev.drvPath(), ev.systemName(), items(plan.dry().toBuild()), items(plan.dry().toFetch()),
                plan.dry().downloadMiB(), plan.dry().unpackedMiB(), plan.needsNetwork(), s.networkIsolated(),
                warnings, ev.millis(), plan.millis());
    }

    /** Runbook step 4: build in the sandbox; the result becomes a GC root. */
    public NixResult.Built build(NixRequest.Build request, OpContext ctx) throws Problem {
        long started = System.nanoTime();
        Sandbox s = sandboxes.require(request.sandbox());
        try {
            NixResult.Built b = build(request, s, ctx, started);
            history.record(s.configDir(), new NixResult.LastBuild(b.host(), true, b.storePath(),
                    Instant.now().toString(), b.millis(), null));
            return b;
        } catch (Problem p) {
            if (p.code() != ProblemCode.CANCELLED) {
                String first = p.getMessage() == null ? p.code().name() : p.getMessage().lines().findFirst().orElse("");
                history.record(s.configDir(), new NixResult.LastBuild(request.host(), false, null,
                        Instant.now().toString(), (System.nanoTime() - started) / 1_000_000,
                        first.length() > 300 ? first.substring(0, 297) + "…" : first));
            }
            throw p;
        }
    }

    private NixResult.Built build(NixRequest.Build request, Sandbox s, OpContext ctx, long started) throws Problem {
        Target t = resolve(s, request.host(), ctx);
        Evaluated ev = evaluate(s, t, ctx);
        Plan plan = plan(s, ev, ctx);
        if (s.networkIsolated() && !plan.needsNetwork().isEmpty()) {
            throw withFix(networkIsolated(plan.needsNetwork()), networkFix(plan.needsNetwork()));
        }
        if (s.networkIsolated() && !plan.dry().unknown().isEmpty()) {
            throw new Problem(ProblemCode.NETWORK_ISOLATED, "Building needs " + plan.dry().unknown().get(0)
                    + (plan.dry().unknown().size() > 1 ? " and " + (plan.dry().unknown().size() - 1) + " more paths" : "")
                    + ", which nix can only download, and this sandbox isolates the network.",
                    "Close this sandbox and open one with the network shared, then build again.");
        }
        ctx.checkCancelled();

        try (BuildLog log = BuildLog.create(config.state().resolve("logs"), safeName(ev.host()))) {
            log.line("# Safe Rebuild: build of " + t.display() + " (" + s.configDir() + ") in sandbox " + s.id()
                    + ", network " + s.network().name().toLowerCase() + ", " + Instant.now());
            List<String> argv = nix(s, "build", "--json", "--no-link", "--log-format", "internal-json");
            argv.addAll(t.kind() == ConfigKind.FLAKE ? NixEnv.lockArgs() : List.of());
            argv.addAll(offline(s));
            argv.addAll(t.systemArgs());
            log.line("# " + String.join(" ", argv.stream().map(NixService::shellQuoted).toList()));
            BuildMonitor monitor = new BuildMonitor(plan.dry().toBuild().size(), line -> {
                log.line(line);
                ctx.log(STREAM, line);
            });
            ctx.progress("build", "Building " + ev.systemName(), 0L, (long) plan.dry().toBuild().size());
            monitor.plan(plan.dry().toBuild(), plan.dry().toFetch());
            ctx.event(buildPlan(ctx.id(), ev.drvPath(), plan.dry()));
            ctx.event(monitor.snapshot(ctx.id()));

            StringBuilder stdout = new StringBuilder();
            Instant since = Instant.now();
            Exec.Running run;
            try {
                run = Exec.stream(inside(s, argv, BUILD_TIMEOUT), l -> {
                    synchronized (stdout) {
                        stdout.append(l).append('\n');
                    }
                }, monitor::accept);
            } catch (IOException e) {
                throw Problem.internal("Cannot start nix build in the sandbox: " + e.getMessage(), e);
            }
            ctx.onCancel(() -> stopTree(run, s, since));
            ScheduledFuture<?> tick = ticker.scheduleAtFixedRate(() -> {
                NixEvent.Derivations d = monitor.changedDerivations(ctx.id());
                if (d != null) {
                    ctx.event(d);
                }
                NixEvent.BuildProgress p = monitor.changed(ctx.id());
                if (p != null) {
                    ctx.event(p);
                }
            }, PROGRESS_MILLIS, PROGRESS_MILLIS, TimeUnit.MILLISECONDS);
            Exec.Outcome o;
            try {
                o = run.await();
            } catch (IOException e) {
                throw Problem.internal("Waiting for nix build failed: " + e.getMessage(), e);
            } finally {
                tick.cancel(false);
            }
            if (o.ok()) {
                monitor.succeeded();
            }
            NixEvent.Derivations last = monitor.changedDerivations(ctx.id());
            if (last != null) {
                ctx.event(last);
            }
            ctx.event(monitor.snapshot(ctx.id()));
            if (ctx.cancelled()) {
                log.line("# cancelled by the operator");
                throw new Problem(ProblemCode.CANCELLED, "The build was cancelled; nix and its builders were stopped."
                        + " The full log so far is in " + log.reference() + ".",
                        "The sandbox is still open and can be closed, or build again when ready.");
            }
            if (!o.ok()) {
                log.line("# nix build failed (exit code " + o.exitCode() + ")");
                throw failure(monitor, o, s, log.reference());
            }
            String out = outPath(stdout.toString());
            ctx.progress("build", "Registering " + NixResult.StoreItem.of(out).name() + " as a GC root", null, null);
            Path root = built.register(out);
            log.line("# built " + out + ", GC root " + root);
            long millis = (System.nanoTime() - started) / 1_000_000;
            LOG.info("built {} in sandbox {} ({} derivations, {} ms)", out, s.id(), monitor.built(), millis);
            return new NixResult.Built(s.id(), s.configDir(), t.kind(), ev.host(), out, ev.drvPath(), root.toString(),
                    log.path().toString(), log.problem(), monitor.built(), monitor.fetched(), millis);
        }
    }

    /**
     * The build tree: every planned derivation with the planned ones it needs (from its .drv file,
     * as nix-output-monitor reads them), rooted at the system's derivation.
     */
    static NixEvent.BuildPlan buildPlan(long id, String root, DryRun dry) {
        java.util.Set<String> planned = new java.util.HashSet<>(dry.toBuild());
        List<NixEvent.PlannedDerivation> drvs = new ArrayList<>();
        for (String d : dry.toBuild()) {
            List<String> inputs = List.of();
            try {
                inputs = DrvFile.read(d).inputDrvs().stream().filter(planned::contains).toList();
            } catch (IOException | RuntimeException e) {
                LOG.warn("cannot read the inputs of {}: {}", d, e.toString());
            }
            drvs.add(new NixEvent.PlannedDerivation(d, BuildMonitor.name(d), inputs));
        }
        return new NixEvent.BuildPlan(id, planned.contains(root) ? root : null, drvs, dry.toFetch());
    }

    // Steps

    /** Flake or classic, and for a flake the host, checked against what the flake declares. */
    Target resolve(Sandbox s, String requested, OpContext ctx) throws Problem {
        ConfigDirs.check(config, s.configDir()); // the one rule for configuration directories (issue 11)
        Path dir = Path.of(s.configDir());
        if (Files.isRegularFile(dir.resolve("flake.nix"))) {
            ctx.progress("validate", "Listing the hosts of " + dir + "/flake.nix", null, null);
            List<String> hosts = hosts(s, dir, ctx);
            if (hosts.isEmpty()) {
                throw Problem.notFound("The flake in " + dir + " declares no hosts (nixosConfigurations is empty).",
                        "Declare the system in flake.nix: nixosConfigurations.<host> = nixpkgs.lib.nixosSystem { … };");
            }
            String host = requested;
            if (host == null) {
                if (hosts.size() > 1) {
                    throw Problem.invalid("This flake declares several hosts (" + String.join(", ", hosts)
                            + "); name the one to build.");
                }
                host = hosts.get(0);
            }
            if (!hosts.contains(host)) {
                String near = nearest(host, hosts);
                throw new Problem(ProblemCode.NOT_FOUND, "no host " + host + "; this flake declares: "
                        + String.join(", ", hosts) + " (" + dir + "/flake.nix).",
                        (near != null ? "Did you mean " + near + "? " : "")
                                + "Choose one of the declared hosts, or add nixosConfigurations." + host
                                + " to flake.nix.");
            }
            return new Target(ConfigKind.FLAKE, dir, host, hosts);
        }
        if (Files.isRegularFile(dir.resolve("configuration.nix"))) {
            return new Target(ConfigKind.CLASSIC, dir, null, List.of());
        }
        throw new Problem(ProblemCode.SOURCE_MISSING, dir + " has neither flake.nix nor configuration.nix.",
                "Point the engine at your NixOS configuration directory (usually /etc/nixos).");
    }

    private List<String> hosts(Sandbox s, Path dir, OpContext ctx) throws Problem {
        List<String> argv = nix(s, "eval", "--json");
        argv.addAll(NixEnv.lockArgs());
        argv.addAll(offline(s));
        argv.addAll(List.of("path:" + NixErrors.CONFIG_IN_SANDBOX + "#nixosConfigurations", "--apply",
                "builtins.attrNames"));
        Captured c = run(s, argv, EVAL_TIMEOUT, ctx, false);
        if (!c.outcome().ok()) {
            throw killed(c.outcome(), c.stderrText()).orElseGet(() -> NixErrors.evaluation(c.stderrText(), dir));
        }
        try {
            String[] names = Json.mapper().readValue(c.stdout(), String[].class);
            return List.of(names).stream().filter(Values::isHostName).sorted().toList();
        } catch (IOException e) {
            throw Problem.internal("nix eval gave unexpected output for the hosts: " + Values.abbreviate(c.stdout()), e);
        }
    }

    Evaluated evaluate(Sandbox s, Target t, OpContext ctx) throws Problem {
        ctx.progress("validate", "Evaluating " + t.display(), null, null);
        long started = System.nanoTime();
        List<String> argv = nix(s, "eval", "--json");
        argv.addAll(t.kind() == ConfigKind.FLAKE ? NixEnv.lockArgs() : List.of());
        argv.addAll(offline(s));
        argv.addAll(t.configArgs());
        argv.addAll(List.of("--apply", APPLY));
        Captured c = run(s, argv, EVAL_TIMEOUT, ctx, true);
        if (!c.outcome().ok()) {
            throw killed(c.outcome(), c.stderrText())
                    .orElseGet(() -> NixErrors.evaluation(c.stderrText(), t.configDir()));
        }
        JsonNode n;
        try {
            n = Json.mapper().readTree(c.stdout());
        } catch (IOException e) {
            throw Problem.internal("nix eval gave unexpected output: " + Values.abbreviate(c.stdout()), e);
        }
        String drv = n.path("drvPath").asText("");
        if (!Values.isStorePath(drv) || !drv.endsWith(".drv")) {
            throw new Problem(ProblemCode.EVALUATION_FAILED, "The configuration's system.build.toplevel is not a"
                    + " derivation (nix gave " + Values.abbreviate(c.stdout()) + ").",
                    "Check that the configuration is a NixOS system (nixpkgs.lib.nixosSystem for a flake).");
        }
        String host = n.path("host").isTextual() ? n.path("host").asText() : t.host();
        List<String> warnings = new ArrayList<>();
        for (String line : c.stderr()) {
            String clean = NixEnv.stripAnsi(line).strip();
            if (clean.startsWith("warning:") && !clean.contains("--add-root")) {
                warnings.add(clean);
            }
        }
        return new Evaluated(drv, n.path("name").asText(NixResult.StoreItem.of(drv).name()),
                host == null ? "nixos" : host, warnings, (System.nanoTime() - started) / 1_000_000);
    }

    Plan plan(Sandbox s, Evaluated ev, OpContext ctx) throws Problem {
        ctx.progress("validate", "Dry build: what would be built and fetched", null, null);
        long started = System.nanoTime();
        List<String> argv = new ArrayList<>(List.of(s.toolInside("nix-store"), "--realise", "--dry-run"));
        argv.addAll(nixEnv.optionArgs());
        if (s.networkIsolated()) {
            argv.addAll(List.of("--option", "substituters", "", "--option", "connect-timeout", "1"));
        }
        argv.add(ev.drvPath());
        Captured c = run(s, argv, EVAL_TIMEOUT, ctx, false);
        if (!c.outcome().ok()) {
            throw new Problem(ProblemCode.BUILD_FAILED, "The dry build failed: " + NixEnv.firstError(c.stderrText()),
                    "Check that the Nix store is healthy (nix-store --verify) and try again.");
        }
        DryRun dry = DryRun.parse(c.stderr());
        List<NixResult.Download> downloads = new ArrayList<>();
        for (String d : dry.toBuild()) {
            try {
                DrvFile drv = DrvFile.read(d);
                if (drv.fixedOutput()) {
                    downloads.add(new NixResult.Download(d, BuildMonitor.name(d), drv.url()));
                }
            } catch (IOException e) {
                LOG.warn("cannot read {}: {}", d, e.toString());
            }
        }
        return new Plan(dry, downloads, (System.nanoTime() - started) / 1_000_000);
    }

    // Failures

    /** What the kernel's ENOSPC reads like in a build log (coreutils, nix, gcc all say it so). */
    private static final String NO_SPACE = "No space left on device";

    /**
     * The runbook's "No space left on device": which build hit it, its lines, and the free space
     * found now on the filesystems a rebuild writes, with what to free.
     */
    private Problem outOfSpace(String what, List<String> lines, String logFile) {
        return outOfSpace(what, lines, logFile,
                DiskSpace.measure("Nix store", Path.of("/nix/store"), config.minFreeBytes()),
                DiskSpace.measure("work directory", config.state(), config.minFreeBytes()));
    }

    static Problem outOfSpace(String what, List<String> lines, String logFile, PreflightReport.Disk store,
                              PreflightReport.Disk work) {
        List<String> shown = lines.subList(Math.max(0, lines.size() - 5), lines.size());
        if (store.ok() && work.ok()) {
            // Space is there where a rebuild writes: what filled up is elsewhere (a device or a small
            // file system the builder wrote to). Telling the operator to collect garbage would be wrong.
            return new Problem(ProblemCode.NO_SPACE, "The build of " + what + " hit \"" + NO_SPACE + "\", but "
                    + DiskSpace.human(store.freeBytes()) + " are free on the Nix store (" + store.path() + ") and "
                    + DiskSpace.human(work.freeBytes()) + " on the work directory (" + work.path() + "): what filled up"
                    + " is a device or a small file system its builder wrote to. Its last lines:\n  "
                    + String.join("\n  ", shown) + "\nThe whole log is in " + logFile + ".",
                    "Find the path the builder wrote to in the lines above and free space there, or build in a larger"
                            + " TMPDIR; nothing needs to be freed in the Nix store. Then build again; the sandbox"
                            + " stays open and can be closed.");
        }
        return new Problem(ProblemCode.NO_SPACE, "The build of " + what + " ran out of disk space (\"" + NO_SPACE
                + "\"). Its last lines:\n  " + String.join("\n  ", shown) + "\nFree now: " + DiskSpace.human(
                        store.freeBytes()) + " on the Nix store (" + store.path() + "), " + DiskSpace.human(
                        work.freeBytes()) + " on the work directory (" + work.path() + "). The whole log is in "
                + logFile + ".", DiskSpace.FIX + " Then build again; the sandbox stays open and can be closed.");
    }

    private Problem failure(BuildMonitor monitor, Exec.Outcome o, Sandbox s, String logFile) {
        if (!s.holderAlive()) {
            return Problem.notFound("The sandbox " + s.id() + " was closed while building; the build stopped with it."
                    + " The log is in " + logFile + ".", "Open a sandbox and build again.");
        }
        String errors = String.join("\n", monitor.errors());
        if (errors.isBlank()) {
            errors = o.stderr();
        }
        Optional<Problem> killed = killed(o, errors);
        if (killed.isPresent()) {
            return killed.get();
        }
        Optional<Map.Entry<String, Integer>> first = monitor.firstFailure();
        if (first.isPresent()) {
            String drv = first.get().getKey();
            Optional<DrvFile> info = readDrv(drv);
            if (s.networkIsolated() && (info.map(DrvFile::fixedOutput).orElse(false)
                    || NETWORK_TROUBLE.matcher(errors).find())) {
                List<NixResult.Download> d = List.of(new NixResult.Download(drv, BuildMonitor.name(drv),
                        info.map(DrvFile::url).orElse(null)));
                return withFix(networkIsolated(d), networkFix(d));
            }
            List<String> tail = monitor.tail(drv);
            if (tail.isEmpty()) {
                tail = errors.lines().filter(l -> l.strip().startsWith(">"))
                        .map(l -> l.strip().substring(1).strip()).toList();
            }
            List<String> last = tail.subList(Math.max(0, tail.size() - 10), tail.size());
            String name = BuildMonitor.name(drv);
            Integer code = first.get().getValue();
            if (last.stream().anyMatch(l -> l.contains(NO_SPACE)) || errors.contains(NO_SPACE)) {
                return outOfSpace(name, last, logFile);
            }
            return new Problem(ProblemCode.BUILD_FAILED, "The derivation " + name + " failed to build"
                    + (code != null ? " (exit code " + code + ")" : "") + ": " + drv + ". Its last lines:\n  "
                    + String.join("\n  ", last),
                    "Fix what makes " + name + " fail (the lines above; the whole log is in " + logFile
                            + "), then build again. If you did not change it, its version in this nixpkgs may be"
                            + " broken: pin or override an earlier one.");
        }
        if (errors.contains(NO_SPACE)) {
            return outOfSpace("nix", errors.lines().filter(l -> l.contains(NO_SPACE)).toList(), logFile);
        }
        if (s.networkIsolated() && NETWORK_TROUBLE.matcher(errors).find()) {
            return new Problem(ProblemCode.NETWORK_ISOLATED, "The build needed the network, which this sandbox"
                    + " isolates: " + NixErrors.summary(errors),
                    "Close this sandbox and open one with the network shared, then build again.");
        }
        if (errors.contains("error:") && POSITION_IN.matcher(errors).find()) {
            return NixErrors.evaluation(errors, Path.of(s.configDir()));
        }
        return new Problem(ProblemCode.BUILD_FAILED, "nix build failed (exit code " + o.exitCode() + "): "
                + NixErrors.summary(errors), "Read the log (" + logFile + ") for what nix reported, fix it and build"
                + " again.");
    }

    /**
     * nix ended by a signal before saying anything (exit status 128 + signal): it was killed from
     * outside (the kernel's out-of-memory killer, an administrator), not by the configuration.
     */
    static Optional<Problem> killed(Exec.Outcome o, String stderr) {
        if (o.exitCode() <= 128 || o.exitCode() > 128 + 64 || NixEnv.stripAnsi(stderr).contains("error:")) {
            return Optional.empty();
        }
        int signal = o.exitCode() - 128;
        return Optional.of(new Problem(ProblemCode.INTERNAL, "nix was stopped by signal " + signal
                + (signal == 9 ? " (SIGKILL)" : signal == 15 ? " (SIGTERM)" : "")
                + " before it reported anything: something outside Safe Rebuild ended it.",
                "Run the step again. If it happens again, look in the kernel log (dmesg) for the out-of-memory"
                        + " killer, and check that nothing else on the machine stops nix processes."));
    }

    private static final Pattern POSITION_IN = Pattern.compile("\\bat /[^\\s:]+:\\d+:\\d+");

    private static Problem networkIsolated(List<NixResult.Download> downloads) {
        NixResult.Download d = downloads.get(0);
        String more = downloads.size() > 1 ? " (and " + (downloads.size() - 1) + " more downloads)" : "";
        return new Problem(ProblemCode.NETWORK_ISOLATED, "Building needs the network, which this sandbox isolates: "
                + d.name() + " must be downloaded" + (d.url() != null ? " from " + d.url() : "") + more
                + " (fixed-output derivation " + d.drvPath() + ").", "");
    }

    private static String networkFix(List<NixResult.Download> downloads) {
        return "Close this sandbox and open a new one with the network shared, then build again; or download it"
                + " on the host first (nix-store --realise " + downloads.get(0).drvPath()
                + ") and build again with the network isolated.";
    }

    private static Problem withFix(Problem p, String fix) {
        return new Problem(p.code(), p.getMessage(), fix);
    }

    // Processes

    private record Captured(Exec.Outcome outcome, String stdout, List<String> stderr) {
        String stderrText() {
            return String.join("\n", stderr);
        }
    }

    /** nix's argv inside the sandbox: the tool, the feature flags, the subcommand and its flags. */
    private List<String> nix(Sandbox s, String subcommand, String... flags) throws Problem {
        List<String> argv = new ArrayList<>();
        argv.add(s.toolInside("nix"));
        argv.addAll(nixEnv.flakeArgs());
        argv.add(subcommand);
        argv.addAll(List.of(flags));
        return argv;
    }

    private static List<String> offline(Sandbox s) {
        return s.networkIsolated() ? NixEnv.offlineArgs() : List.of();
    }

    private Command inside(Sandbox s, List<String> argv, Duration timeout) {
        return s.command(argv, Map.of("NIX_PATH", nixEnv.nixPath()), timeout).build();
    }

    /**
     * Runs a short nix command in the sandbox; its stderr goes to the log stream when
     * {@code logStderr} (evaluation messages the operator should see). Cancel stops it.
     */
    private Captured run(Sandbox s, List<String> argv, Duration timeout, OpContext ctx, boolean logStderr)
            throws Problem {
        ctx.checkCancelled();
        List<String> err = Collections.synchronizedList(new ArrayList<>());
        StringBuilder out = new StringBuilder();
        Consumer<String> errLine = l -> {
            if (err.size() < MAX_CAPTURED_LINES) {
                err.add(l);
            }
            if (logStderr) {
                ctx.log(STREAM, NixEnv.stripAnsi(l));
            }
        };
        Instant since = Instant.now();
        try {
            Exec.Running r = Exec.stream(inside(s, argv, timeout), l -> {
                synchronized (out) {
                    out.append(l).append('\n');
                }
            }, errLine);
            ctx.onCancel(() -> stopTree(r, s, since));
            Exec.Outcome o = r.await();
            ctx.checkCancelled();
            synchronized (out) {
                return new Captured(o, out.toString(), List.copyOf(err));
            }
        } catch (IOException e) {
            throw Problem.internal("Cannot run nix in the sandbox: " + e.getMessage(), e);
        }
    }

    /**
     * Stops a command and everything it started in the sandbox: SIGTERM to the tree first (nix
     * then stops its builders and releases its locks), SIGKILL after two seconds, and also any
     * builder that was orphaned to the sandbox's init since the command started. The holder
     * stays, so the sandbox remains open and closable.
     */
    static void stopTree(Exec.Running run, Sandbox s, Instant since) {
        run.handle().descendants().forEach(ProcessHandle::destroy);
        try {
            run.handle().onExit().get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            // still running: killed below
        }
        for (int round = 0; round < 10; round++) {
            List<ProcessHandle> left = new ArrayList<>(run.handle().descendants().filter(h -> !zombie(h.pid()))
                    .toList());
            // The PID namespace, not the mount namespace: nix may unshare a mount namespace of
            // its own (to remount the store writable), but it cannot leave the sandbox's PIDs.
            for (long pid : Posix.namespace(s.holderPid(), "pid").map(ns -> Posix.processesIn("pid", ns))
                    .orElse(List.of())) {
                if (pid == s.holderPid()) {
                    continue;
                }
                if (zombie(pid)) {
                    continue; // already dead; the holder reaps nothing, the kernel drops it at close
                }
                ProcessHandle.of(pid).ifPresent(h -> {
                    boolean orphan = h.parent().map(p -> p.pid() == s.holderPid()).orElse(false);
                    boolean ours = h.info().startInstant().map(t -> !t.isBefore(since.minusMillis(10)))
                            .orElse(false);
                    if (orphan && ours) {
                        left.add(h);
                    }
                });
            }
            if (left.isEmpty() && !run.alive()) {
                return;
            }
            left.forEach(ProcessHandle::destroyForcibly);
            run.kill();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        LOG.warn("processes of a stopped command are still in sandbox {}", s.id());
    }

    // Helpers

    /** State Z in /proc/&lt;pid&gt;/stat: exited, waiting to be reaped; it holds no files or mounts. */
    static boolean zombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            int close = stat.lastIndexOf(')');
            return close > 0 && stat.length() > close + 2 && stat.charAt(close + 2) == 'Z';
        } catch (IOException e) {
            return true; // gone
        }
    }

    private static String outPath(String stdout) throws Problem {
        try {
            JsonNode n = Json.mapper().readTree(stdout);
            String out = n.path(0).path("outputs").path("out").asText("");
            if (!Values.isStorePath(out)) {
                throw Problem.internal("nix build --json gave no output path: " + Values.abbreviate(stdout), null);
            }
            return out;
        } catch (IOException e) {
            throw Problem.internal("nix build --json gave unexpected output: " + Values.abbreviate(stdout), e);
        }
    }

    private static Optional<DrvFile> readDrv(String drv) {
        try {
            return drv.endsWith(".drv") ? Optional.of(DrvFile.read(drv)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static List<NixResult.StoreItem> items(List<String> paths) {
        return paths.stream().map(NixResult.StoreItem::of).sorted(Comparator.comparing(NixResult.StoreItem::name))
                .toList();
    }

    /** For the log's record of the command (it is never run through a shell). */
    static String shellQuoted(String arg) {
        return arg.matches("[A-Za-z0-9_./:#=+@%^,-]+") ? arg : "'" + arg.replace("'", "'\\''") + "'";
    }

    private static String safeName(String host) {
        return host.replaceAll("[^A-Za-z0-9_-]", "_");
    }

    /** The declared host closest to a typo (edit distance at most 3), or null. */
    static String nearest(String typo, List<String> hosts) {
        String best = null;
        int bestDistance = 4;
        for (String h : hosts) {
            int d = distance(typo.toLowerCase(), h.toLowerCase());
            if (d < bestDistance) {
                best = h;
                bestDistance = d;
            }
        }
        return best;
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
