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
import org.saferebuild.engine.inspect.InspectService;
import org.saferebuild.engine.inspect.PackageDiff;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.SystemRef;

/**
 * Benchmark (not a test): the engine's closure comparison against {@code nix store diff-closures}
 * on the same two closures of about 7,000 store paths each, built with real nix from
 * {@code bench/closures.nix} (version bumps, additions, removals, a package with two versions).
 * <ul>
 *   <li>diff-closures: {@code nix store diff-closures --extra-experimental-features nix-command A B}</li>
 *   <li>engine, package diff: what diff-closures computes — both closures (one
 *       {@code nix path-info -r -s} per closure, the two in parallel), grouped by name, versions and
 *       sizes compared; nothing cached</li>
 *   <li>engine, whole comparison: the above plus units, unit diffs and the reboot check, as the
 *       {@code compare} operation does it, with nothing cached (memory and state dir cleared)</li>
 *   <li>engine, closures from the state dir: the whole comparison by a fresh engine (as after a
 *       restart) that finds both closures in its state directory ({@code closures/}: a store
 *       path's closure never changes)</li>
 *   <li>engine, after inspect: the whole comparison when both closures are in memory, as in the
 *       wizard, where Inspect lists the built system's closure and prefetches the running one's</li>
 * </ul>
 * Each round runs every contender once, in rotating order; the first rounds warm up the JIT and
 * the page cache. It also checks that the engine and diff-closures found the same version
 * changes and prints any difference.
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
        System.out.println("building the two closures with nix (cached after the first run)…");
        String a = build(tools, nixEnv, nixFile, "a", base);
        String b = build(tools, nixEnv, nixFile, "b", base);

        Command diffClosures = Command.of(tools.require("nix"))
                .args("store", "diff-closures", "--extra-experimental-features", "nix-command", a, b)
                .env(nixEnv.hostEnv()).timeout(Duration.ofMinutes(2)).build();
        // Rooted as the build step roots what it built, so the engine accepts both as systems it
        // built: the comparison goes through the same checks as the protocol's.
        BuiltSystems built = new BuiltSystems(config, tools, nixEnv);
        built.register(a);
        built.register(b);
        SystemRef ra = SystemRef.path(a);
        SystemRef rb = SystemRef.path(b);
        InspectService warm = new InspectService(config, tools, nixEnv, built);
        warm.closures().of(a);
        warm.closures().of(b);

        long[] theirs = new long[rounds];
        long[] ours = new long[rounds];
        long[] whole = new long[rounds];
        long[] disk = new long[rounds];
        long[] cached = new long[rounds];
        InspectService cold = new InspectService(config, tools, nixEnv, built);
        String theirOutput = null;
        InspectResult.Packages ourPackages = null;
        InspectResult.Comparison comparison = null;
        for (int r = 0; r < rounds + WARMUP; r++) {
            long[] t = new long[5];
            for (int k = 0; k < 5; k++) {
                int which = (k + r) % 5; // rotate the order so that no contender always goes first
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
                    case 2 -> {
                        cold.closures().forget();
                        t0 = System.nanoTime();
                        comparison = cold.compare(ra, rb, OpContext.detached());
                    }
                    case 3 -> new InspectService(config, tools, nixEnv, built).compare(ra, rb, OpContext.detached());
                    default -> warm.compare(ra, rb, OpContext.detached());
                }
                t[which] = System.nanoTime() - t0;
            }
            if (r >= WARMUP) {
                theirs[r - WARMUP] = t[0];
                ours[r - WARMUP] = t[1];
                whole[r - WARMUP] = t[2];
                disk[r - WARMUP] = t[3];
                cached[r - WARMUP] = t[4];
            }
        }

        Map<String, List<List<String>>> mine = PackageDiff.versionChanges(ourPackages);
        Map<String, List<List<String>>> nix = parseDiffClosures(theirOutput);
        double th = median(theirs);
        double o = median(ours);
        double w = median(whole);
        double d = median(disk);
        double c = median(cached);
        System.out.printf(Locale.ROOT, "closure diff: %d and %d store paths, %d rounds (+%d warm-up), median;"
                + " %d cores, load average %s%n", comparison.closureFrom().paths(), comparison.closureTo().paths(),
                rounds, WARMUP, Runtime.getRuntime().availableProcessors(),
                Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        System.out.printf(Locale.ROOT, "  nix store diff-closures                 %8.1f ms%n", th);
        System.out.printf(Locale.ROOT, "  engine package diff, nothing cached     %8.1f ms   ratio %.2f x diff-closures%n",
                o, o / th);
        System.out.printf(Locale.ROOT, "  engine whole comparison, nothing cached %8.1f ms   ratio %.2f x%n", w, w / th);
        System.out.printf(Locale.ROOT, "  engine comparison, closures on disk     %8.1f ms   ratio %.2f x%n", d, d / th);
        System.out.printf(Locale.ROOT, "  engine comparison after inspect         %8.1f ms   ratio %.2f x%n", c, c / th);
        System.out.printf(Locale.ROOT, "  version changes: engine %d, diff-closures %d: %s%n", mine.size(), nix.size(),
                mine.equals(nix) ? "the same" : "DIFFERENT");
        if (!mine.equals(nix)) {
            for (String name : union(mine, nix)) {
                if (!java.util.Objects.equals(mine.get(name), nix.get(name))) {
                    System.out.printf(Locale.ROOT, "    %s: engine %s, diff-closures %s%n", name, mine.get(name),
                            nix.get(name));
                }
            }
        }
        System.out.printf(Locale.ROOT, "  packages: %d added, %d removed, %d changed; closure size %+d bytes%n",
                ourPackages.added().size(), ourPackages.removed().size(), ourPackages.changed().size(),
                comparison.bytesDelta());
        EngineHarness.removeTree(base);
        if (!mine.equals(nix)) {
            System.exit(1);
        }
    }

    private static String build(Tools tools, NixEnv nixEnv, Path nixFile, String variant, Path base) throws Exception {
        Command c = Command.of(tools.require("nix-build"))
                .args(nixFile.toString(), "--argstr", "variant", variant, "-o",
                        base.resolve("result-" + variant).toString())
                .args(org.saferebuild.engine.testing.Nix.DEMO_OPTIONS)
                .env(nixEnv.hostEnv()).timeout(Duration.ofMinutes(10)).build();
        Exec.Outcome out = Exec.run(c);
        if (!out.ok()) {
            throw new IllegalStateException("nix-build failed: " + out.stderr());
        }
        return out.stdout().strip();
    }

    /**
     * diff-closures lines: "name: OLD, OLD → NEW, NEW[, ±x.y KiB]" with ∅ for none and ε for the
     * empty version; lines without "→" only report a size change.
     */
    static Map<String, List<List<String>>> parseDiffClosures(String text) {
        Map<String, List<List<String>>> out = new TreeMap<>();
        for (String raw : text.split("\n")) {
            String line = NixEnv.stripAnsi(raw).strip();
            int colon = line.indexOf(": ");
            int arrow = line.indexOf(" → ");
            if (colon < 0 || arrow < 0) {
                continue;
            }
            String name = line.substring(0, colon);
            String before = line.substring(colon + 2, arrow);
            String after = line.substring(arrow + 3).replaceFirst(", [+-]?[0-9.]+ KiB$", "");
            out.put(name, List.of(versions(before), versions(after)));
        }
        return out;
    }

    private static List<String> versions(String s) {
        if (s.equals("∅")) {
            return List.of();
        }
        List<String> v = new ArrayList<>();
        for (String x : s.split(", ")) {
            v.add(x.equals("ε") ? "" : x);
        }
        return v;
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
