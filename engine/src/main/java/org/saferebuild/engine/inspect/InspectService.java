package org.saferebuild.engine.inspect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Pattern;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.build.BuiltSystems;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sys.DaemonThreads;
import org.saferebuild.protocol.InspectRequest;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.InspectResult.Closure;
import org.saferebuild.protocol.InspectResult.Comparison;
import org.saferebuild.protocol.InspectResult.Inspection;
import org.saferebuild.protocol.InspectResult.Unit;
import org.saferebuild.protocol.InspectResult.WatchedService;
import org.saferebuild.protocol.SystemRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runbook step 4, "Inspect what was built", and what nvd and nh add to it: inspect a system
 * (units, watched services, configuration search, closure) and compare two (packages, closure
 * size, unit actions with diffs, session-critical units, reboot advice).
 *
 * <p>Other engine code (apply, rollback preview) calls {@link #compare(SystemRef, SystemRef, OpContext)}.
 */
public final class InspectService {
    private static final Logger LOG = LoggerFactory.getLogger(InspectService.class);
    private static final Duration DRY_ACTIVATE_TIMEOUT = Duration.ofMinutes(2);

    private final EngineConfig config;
    private final NixEnv nixEnv;
    private final Systems systems;
    private final ClosureQuery closures;
    /** Closure listing runs beside the unit scan and dry-activate. */
    private final ExecutorService pool = Executors.newCachedThreadPool(DaemonThreads.named("inspect"));

    public InspectService(EngineConfig config, Tools tools, NixEnv nixEnv, BuiltSystems built) {
        this.config = config;
        this.nixEnv = nixEnv;
        this.systems = new Systems(config, built);
        this.closures = new ClosureQuery(tools, nixEnv, config.state().resolve("closures"));
    }

    /**
     * Gets the closure listing ready in the background (the engine calls it once it has started),
     * so that the first comparison costs what later ones do.
     */
    public void prepareInBackground() {
        pool.submit(closures::prepare);
    }

    public Systems systems() {
        return systems;
    }

    public ClosureQuery closures() {
        return closures;
    }

    // Operations

    public Inspection inspect(InspectRequest.Inspect request, OpContext ctx) throws Problem {
        List<Pattern> patterns = ConfigSearcher.compile(config.configSearch());
        Systems.Resolved sys = systems.resolve(request.system());
        Future<ClosureQuery.Closure> closure = pool.submit(() -> closures.of(sys.path()));
        // Compare usually follows (built system vs running system): list the running system's
        // closure now, while the operator reads this report, so that compare finds both cached.
        systems.running().filter(p -> !p.equals(sys.path())).ifPresent(p -> pool.submit(() -> closures.of(p)));
        progress(ctx, "units", "Reading the units of " + sys.label());
        UnitScan.Units units = scan(sys);
        List<Unit> unitList = new ArrayList<>();
        for (String name : units.names()) {
            unitList.add(unit(units, name));
        }
        List<WatchedService> watched = new ArrayList<>();
        for (String glob : config.watchedServices()) {
            Pattern p = Globs.compile(glob);
            List<String> matches = units.names().stream().filter(n -> p.matcher(n).matches()).toList();
            watched.add(new WatchedService(glob, !matches.isEmpty(), matches));
        }
        checkCancelled(ctx);
        progress(ctx, "search", "Searching etc/ for " + String.join(", ", config.configSearch()));
        InspectResult.ConfigSearch search;
        try {
            search = ConfigSearcher.search(sys.root(), config.configSearch(), patterns);
        } catch (IOException e) {
            throw Problem.internal("Searching " + sys.path() + "/etc failed: " + e.getMessage(), e);
        }
        checkCancelled(ctx);
        progress(ctx, "closure", "Measuring the closure of " + sys.label());
        ClosureQuery.Closure c = join(closure);
        List<String> notes = new ArrayList<>(units.notes());
        if (search.truncated()) {
            notes.add("The configuration search stopped at its limit (" + ConfigSearcher.MAX_HITS + " hits or "
                    + ConfigSearcher.MAX_FILES + " files); the hits shown are the first ones.");
        }
        return new Inspection(sys.info(), unitList, watched, search, new Closure(c.size(), c.totalBytes()), notes);
    }

    public Comparison compare(InspectRequest.Compare request, OpContext ctx) throws Problem {
        return compare(request.from(), request.to(), ctx);
    }

    /**
     * What activating {@code to} changes compared with {@code from} (both resolved and checked
     * as for the protocol). {@code ctx} may be null when there is nobody to report progress to.
     */
    public Comparison compare(SystemRef from, SystemRef to, OpContext ctx) throws Problem {
        return compare(systems.resolve(from), systems.resolve(to), ctx);
    }

    /** As above, for systems resolved (and so checked) by {@link #systems()}. */
    private Comparison compare(Systems.Resolved from, Systems.Resolved to, OpContext ctx) throws Problem {
        long started = System.nanoTime();
        // Both closures in one read of the store's database (or one nix call), beside the unit scan.
        Future<List<ClosureQuery.Closure>> bothClosures = pool.submit(() -> closures.of(List.of(from.path(),
                to.path())));
        progress(ctx, "units", "Comparing the units of " + from.label() + " and " + to.label());
        UnitScan.Units unitsFrom = scan(from);
        UnitScan.Units unitsTo = scan(to);
        ActivationPlan.Sides sides = new ActivationPlan.Sides(from.path(), to.path());
        ActivationPlan.Plan plan = plan(from, to, unitsFrom, unitsTo, sides, ctx);
        Systems.Resolved base = from;
        String baseLabel = from.phrase();
        if (from.running()) {
            // The running kernel is the booted system's, which differs from the running one after a
            // switch without reboot: compare with what actually runs.
            Optional<String> booted = systems.booted();
            if (booted.isPresent() && !booted.get().equals(from.path())) {
                base = new Systems.Resolved(SystemRef.path(booted.get()), booted.get(), "booted system", null, false,
                        true);
                baseLabel = "the booted system";
            }
        }
        InspectResult.Reboot reboot = RebootCheck.check(base.root(), baseLabel, to.root());
        checkCancelled(ctx);
        progress(ctx, "closure", "Comparing the closures (" + from.label() + " → " + to.label() + ")");
        List<ClosureQuery.Closure> both = join(bothClosures);
        ClosureQuery.Closure a = both.get(0);
        ClosureQuery.Closure b = both.get(1);
        InspectResult.Packages packages = PackageDiff.diff(a, b);
        List<String> notes = new ArrayList<>(plan.notes());
        unitsFrom.notes().forEach(n -> notes.add(from.label() + ": " + n));
        unitsTo.notes().forEach(n -> notes.add(to.label() + ": " + n));
        long millis = (System.nanoTime() - started) / 1_000_000;
        return new Comparison(from.info(), to.info(), packages, new Closure(a.size(), a.totalBytes()),
                new Closure(b.size(), b.totalBytes()), b.totalBytes() - a.totalBytes(), plan.source(), plan.method(),
                plan.actions(), reboot, notes, millis);
    }

    // Steps

    private ActivationPlan.Plan plan(Systems.Resolved from, Systems.Resolved to, UnitScan.Units unitsFrom,
                                     UnitScan.Units unitsTo, ActivationPlan.Sides sides, OpContext ctx) throws Problem {
        if (from.path().equals(to.path())) {
            return ActivationPlan.computed(unitsFrom, unitsTo, sides, "both sides are the same system");
        }
        if (!from.running()) {
            return ActivationPlan.computed(unitsFrom, unitsTo, sides,
                    "dry-activate only describes a switch from the running system, and " + from.phrase() + " is not");
        }
        Path stc = to.root().resolve("bin/switch-to-configuration");
        Optional<Path> real = StoreFiles.real(stc);
        if (real.isEmpty() || !Files.isRegularFile(real.get()) || !Files.isExecutable(real.get())) {
            return ActivationPlan.computed(unitsFrom, unitsTo, sides,
                    to.phrase() + " has no bin/switch-to-configuration to ask");
        }
        progress(ctx, "dry-activate", "Asking " + to.label() + "'s switch-to-configuration dry-activate");
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        Command cmd = Command.of(stc.toString(), "dry-activate")
                .env("PATH", String.join(":", config.toolDirs()))
                .env("HOME", nixEnv.home().toString())
                .env("LANG", "C.UTF-8")
                .timeout(DRY_ACTIVATE_TIMEOUT)
                .build();
        Exec.Outcome out;
        try {
            Exec.Running running = Exec.stream(cmd, line -> collect(lines, ctx, line), line -> collect(lines, ctx, line));
            if (ctx != null) {
                ctx.onCancel(running::kill);
            }
            out = running.await();
        } catch (IOException e) {
            throw Problem.internal("Could not run " + stc + " dry-activate: " + e.getMessage(), e);
        }
        if (ctx != null) {
            ctx.flush();
            ctx.checkCancelled();
        }
        if (!out.ok()) {
            LOG.warn("dry-activate of {} failed with {}", to.path(), out.exitCode());
            String tail = String.join(" / ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
            return ActivationPlan.computed(unitsFrom, unitsTo, sides, "its dry-activate failed"
                    + (out.timedOut() ? " (timed out)" : " with exit code " + out.exitCode())
                    + (tail.isEmpty() ? "" : ": " + tail));
        }
        return ActivationPlan.fromDryActivate(List.copyOf(lines), unitsFrom, unitsTo, sides);
    }

    private static void collect(List<String> lines, OpContext ctx, String line) {
        lines.add(line);
        if (ctx != null) {
            ctx.log("dry-activate", line);
        }
    }

    private static UnitScan.Units scan(Systems.Resolved sys) throws Problem {
        try {
            return UnitScan.scan(sys.root());
        } catch (IOException e) {
            throw Problem.internal("Reading the units of " + sys.path() + " failed: " + e.getMessage(), e);
        }
    }

    private static Unit unit(UnitScan.Units units, String name) {
        UnitScan.UnitFile f = units.file(name).orElseThrow();
        boolean service = name.endsWith(".service");
        return new Unit(name, UnitScan.typeOf(name), units.wantedBy().getOrDefault(name, List.of()),
                units.requiredBy().getOrDefault(name, List.of()),
                service ? f.ini().all("Service", "ExecStart") : List.of(),
                f.ini().last("Unit", "Description"), f.aliasOf(), f.masked(), f.file(), SessionUnits.why(name));
    }

    private static <T> T join(Future<T> f) throws Problem {
        return Problem.await(f, "inspecting");
    }

    private static void checkCancelled(OpContext ctx) throws Problem {
        if (ctx != null) {
            ctx.checkCancelled();
        }
    }

    private static void progress(OpContext ctx, String phase, String message) {
        if (ctx != null) {
            ctx.progress(phase, message, null, null);
        }
    }

    /**
     * For the benchmark and tests: the package diff of two store paths' closures, listed afresh
     * each time (never from the cache), from the store's database or nix as {@link ClosureQuery#source} says.
     */
    public InspectResult.Packages diffClosures(String fromPath, String toPath) throws Problem {
        var listed = closures.list(List.of(fromPath, toPath));
        return PackageDiff.diff(listed.get(fromPath), listed.get(toPath));
    }

}
