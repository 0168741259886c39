package org.saferebuild.engine.bench;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.build.BuiltSystems;
import org.saferebuild.engine.inspect.ClosureQuery;
import org.saferebuild.engine.inspect.InspectService;
import org.saferebuild.engine.inspect.PackageDiff;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.testing.DiffClosures;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.SystemRef;

/**
 * Benchmark (not a test): the engine's closure comparison against {@code nix store diff-closures}
 * on the same two closures, built with real nix from {@code bench/closures.nix}: a large pair of
 * about 7,000 store paths each (version bumps, additions, removals, a package with two versions,
 * rebuilds) and a small pair of about 60.
 * <ul>
 *   <li>diff-closures: {@code nix store diff-closures --extra-experimental-features nix-command A B}</li>
 *   <li>engine, package diff: what diff-closures computes — both closures listed afresh (from the
 *       store's database, read-only; or, the fallback, from one {@code nix path-info --json -r A B}),
 *       grouped by name, versions and sizes compared; nothing cached</li>
 *   <li>engine, whole comparison: the above plus units, unit diffs and the reboot check, as the
 *       {@code compare} operation does it, with nothing cached (memory and state dir cleared)</li>
 *   <li>engine, closures from the state dir: the whole comparison by a fresh engine (as after a
 *       restart) that finds both closures in its state directory ({@code closures/}: a store
 *       path's closure never changes)</li>
 *   <li>engine, after inspect: the whole comparison when both closures are in memory, as in the
 *       wizard, where Inspect lists the built system's closure and prefetches the running one's</li>
 * </ul>
 * Each round runs every contender once, in rotating order; the first rounds warm up the JIT and
 * the page cache. The very first read of the database in this JVM (which loads SQLite's native
 * library, once per engine) is timed on its own and printed too. It also checks that the engine
 * and diff-closures found the same version changes and prints any difference.
 * Run: {@code script/bench closure-diff [rounds]}.
 */
public final class ClosureDiffBenchmark {
    private static final int WARMUP = 3;

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        Path base = EngineHarness.privateBase();
        Path nixFile = base.resolve("closures.nix");
        try (InputStream in = ClosureDiffBenchmark.class.getResourceAsStream("closures.nix")) {
            Files.write(nixFile, in.readAllBytes());
        }
        EngineConfig config = new EngineConfig(List.of(base.toString()), null, base.resolve("state").toString(),
                null, null, null, null, null, null, null, null, null, null, null, null, null);
        Files.createDirectories(config.state().resolve("home"));
        Tools tools = new Tools(config.toolDirs());
        NixEnv nixEnv = new NixEnv(config);
        System.out.println("building the closures with nix (cached after the first run)…");
        String a = build(tools, nixEnv, nixFile, "a", "large", base);
        String b = build(tools, nixEnv, nixFile, "b", "large", base);
        String sa = build(tools, nixEnv, nixFile, "a", "small", base);
        String sb = build(tools, nixEnv, nixFile, "b", "small", base);
        // Rooted as the build step roots what it built, so the engine accepts them as systems it
        // built: the comparison goes through the same checks as the protocol's.
        BuiltSystems built = new BuiltSystems(config, tools, nixEnv);
        for (String p : List.of(a, b, sa, sb)) {
            built.register(p);
        }

        long t0 = System.nanoTime();
        new InspectService(config, tools, nixEnv, built).diffClosures(sa, sb);
        double firstRead = (System.nanoTime() - t0) / 1e6;

        Pair large = measure("large", config, tools, nixEnv, built, a, b, rounds);
        Pair smallPair = measure("small", config, tools, nixEnv, built, sa, sb, rounds);
        System.out.printf(Locale.ROOT, "closure diff, %d rounds (+%d warm-up), median; %d cores, load average %s%n",
                rounds, WARMUP, Runtime.getRuntime().availableProcessors(),
                Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        large.print();
        smallPair.print();
        System.out.printf(Locale.ROOT, "  first database read in a fresh engine (loads SQLite's native library once)"
                + " %.1f ms%n", firstRead);
        EngineHarness.removeTree(base);
        if (!large.same || !smallPair.same) {
            System.exit(1);
        }
    }

    /** The figures of one pair of closures. */
    private record Pair(String label, int pathsA, int pathsB, double theirs, double store, double nix, double whole,
                        double disk, double cached, boolean same, String summary) {
        void print() {
            System.out.printf(Locale.ROOT, "%s pair: %d and %d store paths%n", label, pathsA, pathsB);
            System.out.printf(Locale.ROOT, "  nix store diff-closures                          %8.1f ms%n", theirs);
            System.out.printf(Locale.ROOT, "  engine package diff, nothing cached (store db)   %8.1f ms   ratio %.2f x"
                    + " diff-closures%n", store, store / theirs);
            System.out.printf(Locale.ROOT, "  engine package diff, nothing cached (one nix)    %8.1f ms   ratio %.2f x"
                    + "   (the fallback)%n", nix, nix / theirs);
            System.out.printf(Locale.ROOT, "  engine whole comparison, nothing cached          %8.1f ms   ratio %.2f x%n",
                    whole, whole / theirs);
            System.out.printf(Locale.ROOT, "  engine comparison, closures on disk              %8.1f ms   ratio %.2f x%n",
                    disk, disk / theirs);
            System.out.printf(Locale.ROOT, "  engine comparison after inspect                  %8.1f ms   ratio %.2f x%n",
                    cached, cached / theirs);
            System.out.println(summary);
        }
    }

    private static Pair measure(String label, EngineConfig config, Tools tools, NixEnv nixEnv, BuiltSystems built,
                                String a, String b, int rounds) throws Exception {
        Command diffClosures = Command.of(tools.require("nix"))
                .args("store", "diff-closures", "--extra-experimental-features", "nix-command", a, b)
                .env(nixEnv.hostEnv()).timeout(Duration.ofMinutes(2)).build();
        SystemRef ra = SystemRef.path(a);
        SystemRef rb = SystemRef.path(b);
        InspectService warm = new InspectService(config, tools, nixEnv, built);
        warm.closures().of(List.of(a, b));
        InspectService viaNix = new InspectService(config, tools, nixEnv, built);
        viaNix.closures().source(ClosureQuery.Source.NIX);

        int contenders = 6;
        long[][] t = new long[contenders][rounds];
        InspectService cold = new InspectService(config, tools, nixEnv, built);
        String theirOutput = null;
        InspectResult.Packages ourPackages = null;
        InspectResult.Packages nixPackages = null;
        InspectResult.Comparison comparison = null;
        for (int r = 0; r < rounds + WARMUP; r++) {
            for (int k = 0; k < contenders; k++) {
                int which = (k + r) % contenders; // rotate the order so that no contender always goes first
                long t0 = System.nanoTime();
                switch (which) {
                    case 0 -> {
                        Exec.Outcome out = Exec.run(diffClosures);
                        if (!out.ok()) {
                            throw new IllegalStateException("diff-closures failed: " + out.stderr());
                        }
                        theirOutput = out.stdout();
                    }
                    case 1 -> ourPackages = new InspectService(config, tools, nixEnv, built).diffClosures(a, b);
                    case 2 -> nixPackages = viaNix.diffClosures(a, b);
                    case 3 -> {
                        cold.closures().forget();
                        t0 = System.nanoTime();
                        comparison = cold.compare(ra, rb, OpContext.detached());
                    }
                    case 4 -> new InspectService(config, tools, nixEnv, built).compare(ra, rb, OpContext.detached());
                    default -> warm.compare(ra, rb, OpContext.detached());
                }
                long took = System.nanoTime() - t0;
                if (r >= WARMUP) {
                    t[which][r - WARMUP] = took;
                }
            }
        }
        Map<String, List<List<String>>> mine = PackageDiff.versionChanges(ourPackages);
        Map<String, List<List<String>>> viaNixChanges = PackageDiff.versionChanges(nixPackages);
        Map<String, List<List<String>>> nix = new TreeMap<>();
        DiffClosures.parse(theirOutput).forEach((name, line) -> {
            if (line.versionsChanged()) {
                nix.put(name, List.of(line.gone(), line.come()));
            }
        });
        StringBuilder summary = new StringBuilder();
        boolean same = mine.equals(nix) && viaNixChanges.equals(mine);
        summary.append(String.format(Locale.ROOT, "  version changes: engine %d (the same through nix: %s),"
                + " diff-closures %d: %s%n", mine.size(), viaNixChanges.equals(mine) ? "yes" : "NO", nix.size(),
                mine.equals(nix) ? "the same" : "DIFFERENT"));
        for (String name : union(mine, nix)) {
            if (!java.util.Objects.equals(mine.get(name), nix.get(name))) {
                summary.append(String.format(Locale.ROOT, "    %s: engine %s, diff-closures %s%n", name,
                        mine.get(name), nix.get(name)));
            }
        }
        summary.append(String.format(Locale.ROOT, "  packages: %d added, %d removed, %d changed, %d resized;"
                        + " closure size %+d bytes", ourPackages.added().size(), ourPackages.removed().size(),
                ourPackages.changed().size(), ourPackages.resized().size(), comparison.bytesDelta()));
        return new Pair(label, comparison.closureFrom().paths(), comparison.closureTo().paths(), median(t[0]),
                median(t[1]), median(t[2]), median(t[3]), median(t[4]), median(t[5]), same, summary.toString());
    }

    private static String build(Tools tools, NixEnv nixEnv, Path nixFile, String variant, String size, Path base)
            throws Exception {
        Command c = Command.of(tools.require("nix-build"))
                .args(nixFile.toString(), "--argstr", "variant", variant, "--argstr", "size", size, "-o",
                        base.resolve("result-" + size + "-" + variant).toString())
                .args(org.saferebuild.engine.testing.Nix.DEMO_OPTIONS)
                .env(nixEnv.hostEnv()).timeout(Duration.ofMinutes(10)).build();
        Exec.Outcome out = Exec.run(c);
        if (!out.ok()) {
            throw new IllegalStateException("nix-build failed: " + out.stderr());
        }
        return out.stdout().strip();
    }

    private static List<String> union(Map<String, ?> x, Map<String, ?> y) {
        TreeMap<String, Boolean> all = new TreeMap<>();
        x.keySet().forEach(k -> all.put(k, true));
        y.keySet().forEach(k -> all.put(k, true));
        return new ArrayList<>(all.keySet());
    }

    private static double median(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s[s.length / 2] / 1e6;
    }

    private ClosureDiffBenchmark() {
    }
}
