package org.saferebuild.engine.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sandbox.SandboxManager;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;

/**
 * Benchmark (not a test): isolation setup + teardown against its peers, in one run.
 * <ul>
 *   <li>bare: {@code unshare --mount --pid --fork --propagation private -- true}</li>
 *   <li>bare + mounts: the same unshare running one {@code mount --all} of the same binds (what a
 *       hand-written runbook script does; the kernel drops the mounts when it exits)</li>
 *   <li>engine: SandboxManager open (fresh private work dir and locks, holder, a tmpfs root with its
 *       skeleton and the mounts made in the holder's namespace, pivot_root, verification from
 *       mountinfo and by entering the namespace) + close (processes inside found, holder stopped,
 *       rmdir-style removal of the work directory)</li>
 * </ul>
 * Run: {@code script/bench isolation [runs]}. DESIGN.md's budget: the engine within a few
 * milliseconds of bare + mounts.
 */
public final class IsolationBenchmark {
    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 40;
        Path base = EngineHarness.privateBase();
        Path config = Files.createDirectories(base.resolve("config"));
        Files.writeString(config.resolve("configuration.nix"), "{ }\n");
        EngineConfig settings = new EngineConfig(List.of(config.toString()), List.of("debian-test"),
                base.resolve("state").toString(), null, null, null, null, null, null, 64L * 1024 * 1024,
                null, null, null, null, null, null);
        Tools tools = new Tools(settings.toolDirs());
        SandboxManager sandboxes = new SandboxManager(settings, tools);
        String unshare = tools.require("unshare").toString();
        String truePath = tools.require("true").toString();
        String mount = tools.require("mount").toString();

        // The peer's fstab: the same mounts the engine makes, as a runbook script would list them.
        SandboxResult.Opened probe = sandboxes.open(new SandboxRequest.Open(1, config.toString(), "debian-test",
                SandboxRequest.Network.ISOLATED), org.saferebuild.engine.OpContext.detached());
        int mountCount = probe.mounts().size();
        sandboxes.close(new SandboxRequest.Close(2, probe.sandbox(), false), org.saferebuild.engine.OpContext.detached());
        Path peerFstab = base.resolve("peer.fstab");
        List<String> peerLines = SandboxManager.fstab("debian-test", config.toString(), base.resolve("peer/root"));
        Files.write(peerFstab, peerLines);
        // The peer's mount points: made once, kept for the peer runs.
        for (String l : peerLines) {
            String[] f = l.split(" ");
            Path target = Path.of(f[1].replace("\\040", " "));
            if (f[2].equals("none") && Files.isRegularFile(Path.of(f[0]))) {
                Files.createDirectories(target.getParent());
                if (!Files.exists(target)) {
                    Files.createFile(target);
                }
            } else {
                Files.createDirectories(target);
            }
        }

        java.util.Map<String, List<Long>> phases = new java.util.LinkedHashMap<>();
        long[] bare = new long[runs];
        long[] bareMounts = new long[runs];
        long[] engine = new long[runs];
        for (int i = 0; i < runs + 5; i++) { // the first 5 rounds warm up the JIT and the page cache
            long t0 = System.nanoTime();
            run(unshare, "--mount", "--pid", "--fork", "--propagation", "private", "--", truePath);
            long t1 = System.nanoTime();
            run(unshare, "--mount", "--pid", "--fork", "--mount-proc", "--net", "--propagation", "private", "--",
                    mount, "--all", "--fstab", peerFstab.toString());
            long t2 = System.nanoTime();
            SandboxResult.Opened s = sandboxes.open(new SandboxRequest.Open(3, config.toString(), "debian-test",
                    SandboxRequest.Network.ISOLATED), org.saferebuild.engine.OpContext.detached());
            long tOpen = System.nanoTime();
            sandboxes.close(new SandboxRequest.Close(4, s.sandbox(), false), org.saferebuild.engine.OpContext.detached());
            long t3 = System.nanoTime();
            if (i >= 5) {
                phases.computeIfAbsent("open: (whole open)", k -> new ArrayList<>()).add((tOpen - t2) / 1000);
                phases.computeIfAbsent("close: (whole close)", k -> new ArrayList<>()).add((t3 - tOpen) / 1000);
            }
            if (i >= 5) {
                sandboxes.lastPhases().forEach((op, steps) -> steps.forEach((step, micros) ->
                        phases.computeIfAbsent(op + ": " + step, k -> new ArrayList<>()).add(micros)));
                bare[i - 5] = t1 - t0;
                bareMounts[i - 5] = t2 - t1;
                engine[i - 5] = t3 - t2;
            }
        }
        double b = median(bare);
        double bm = median(bareMounts);
        double e = median(engine);
        System.out.printf(Locale.ROOT, "isolation setup + teardown, %d runs, %d mounts, median:%n", runs, mountCount);
        System.out.printf(Locale.ROOT, "  bare unshare ... true          %7.2f ms%n", b);
        System.out.printf(Locale.ROOT, "  bare unshare + mount --all     %7.2f ms%n", bm);
        System.out.printf(Locale.ROOT, "  engine open + close            %7.2f ms%n", e);
        System.out.printf(Locale.ROOT, "  engine / (bare + mounts)       %7.2f x   (engine - peer: %+.2f ms)%n", e / bm, e - bm);
        // Where the engine's time goes (SandboxManager.lastPhases: each step's median; the steps of
        // one run add up to a little less than its total, the rest is the request and logging).
        System.out.printf(Locale.ROOT, "  where the engine's time goes (median of each step):%n");
        phases.forEach((step, micros) -> System.out.printf(Locale.ROOT, "    %-36s %7.2f ms%n", step,
                micros.stream().mapToLong(Long::longValue).sorted().toArray()[micros.size() / 2] / 1000.0));
        EngineHarness.removeTree(base);
    }

    private static void run(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", argv) + " failed: " + new String(out));
        }
    }

    private static double median(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s[s.length / 2] / 1e6;
    }

    private IsolationBenchmark() {
    }

    static {
        // Keep Problem referenced so a failed open prints its fix, not just a stack trace.
        Thread.setDefaultUncaughtExceptionHandler((t, ex) -> {
            if (ex instanceof Problem p) {
                System.err.println(p.code() + ": " + p.getMessage() + " " + p.fix());
            } else {
                ex.printStackTrace();
            }
            System.exit(1);
        });
    }
}
