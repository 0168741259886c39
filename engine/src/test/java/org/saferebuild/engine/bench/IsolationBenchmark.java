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
 *       rmdir-style removal of the work directory), with the work directories on a tmpfs as the
 *       default runtime directory /run/safe-rebuild is on NixOS ({@code /dev/shm} stands in), and
 *       once more beside the state on its disk</li>
 * </ul>
 * The four run in an order that turns each round, so each follows each other one equally often:
 * the kernel ends a namespace partly in the background after its last process exits (a network
 * namespace's cleanup runs in a kernel worker), and that costs whatever runs next.
 * Run: {@code script/bench isolation [runs]}. DESIGN.md's budget: the engine within a few
 * milliseconds of bare + mounts.
 */
public final class IsolationBenchmark {
    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 40;
        Path base = EngineHarness.privateBase();
        Path config = Files.createDirectories(base.resolve("config"));
        Files.writeString(config.resolve("configuration.nix"), "{ }\n");
        // The work directories on a tmpfs, as the engine's default runtime directory /run/safe-rebuild
        // is on NixOS (this machine's /run may be on disk: /dev/shm stands in for it), and beside the
        // state on its disk, as where stateDir is set and runtimeDir is not.
        Path runtime = Files.createTempDirectory(Path.of("/dev/shm"), "safe-rebuild-bench-",
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        EngineConfig settings = new EngineConfig(List.of(config.toString()), List.of("debian-test"),
                base.resolve("state").toString(), null, null, null, null, null, null, 64L * 1024 * 1024,
                null, null, null, null, null, null, null, runtime.resolve("run").toString());
        EngineConfig onDisk = new EngineConfig(List.of(config.toString()), List.of("debian-test"),
                base.resolve("state").toString(), null, null, null, null, null, null, 64L * 1024 * 1024,
                null, null, null, null, null, null);
        Tools tools = new Tools(settings.toolDirs());
        SandboxManager sandboxes = new SandboxManager(settings, tools);
        SandboxManager sandboxesOnDisk = new SandboxManager(onDisk, tools);
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
        long[] engineOnDisk = new long[runs];
        for (int i = 0; i < runs + 5; i++) { // the first 5 rounds warm up the JIT and the page cache
            // The four are run in an order that turns each round: each one follows each other one
            // equally often (the kernel ends a namespace after its last process exits, partly in the
            // background, so what ran just before costs the next one something).
            long[] took = new long[4];
            long[] openMicros = new long[1];
            for (int k = 0; k < 4; k++) {
                int which = (i + k) % 4;
                long t = System.nanoTime();
                switch (which) {
                    case 0 -> run(unshare, "--mount", "--pid", "--fork", "--propagation", "private", "--", truePath);
                    case 1 -> run(unshare, "--mount", "--pid", "--fork", "--mount-proc", "--net", "--propagation",
                            "private", "--", mount, "--all", "--fstab", peerFstab.toString());
                    case 2 -> {
                        SandboxResult.Opened s = sandboxes.open(new SandboxRequest.Open(3, config.toString(),
                                "debian-test", SandboxRequest.Network.ISOLATED),
                                org.saferebuild.engine.OpContext.detached());
                        openMicros[0] = (System.nanoTime() - t) / 1000;
                        sandboxes.close(new SandboxRequest.Close(4, s.sandbox(), false),
                                org.saferebuild.engine.OpContext.detached());
                    }
                    default -> {
                        SandboxResult.Opened d = sandboxesOnDisk.open(new SandboxRequest.Open(5, config.toString(),
                                "debian-test", SandboxRequest.Network.ISOLATED),
                                org.saferebuild.engine.OpContext.detached());
                        sandboxesOnDisk.close(new SandboxRequest.Close(6, d.sandbox(), false),
                                org.saferebuild.engine.OpContext.detached());
                    }
                }
                took[which] = System.nanoTime() - t;
            }
            if (i >= 5) {
                phases.computeIfAbsent("open: (whole open)", k -> new ArrayList<>()).add(openMicros[0]);
                phases.computeIfAbsent("close: (whole close)", k -> new ArrayList<>()).add(took[2] / 1000 - openMicros[0]);
                sandboxes.lastPhases().forEach((op, steps) -> steps.forEach((step, micros) ->
                        phases.computeIfAbsent(op + ": " + step, k -> new ArrayList<>()).add(micros)));
                bare[i - 5] = took[0];
                bareMounts[i - 5] = took[1];
                engine[i - 5] = took[2];
                engineOnDisk[i - 5] = took[3];
            }
        }
        double b = median(bare);
        double bm = median(bareMounts);
        double e = median(engine);
        double ed = median(engineOnDisk);
        System.out.printf(Locale.ROOT, "isolation setup + teardown, %d runs, %d mounts, median:%n", runs, mountCount);
        System.out.printf(Locale.ROOT, "  bare unshare ... true          %7.2f ms%n", b);
        System.out.printf(Locale.ROOT, "  bare unshare + mount --all     %7.2f ms%n", bm);
        System.out.printf(Locale.ROOT, "  engine open + close            %7.2f ms   (work directories on %s, as /run on NixOS)%n", e,
                Files.getFileStore(runtime).type());
        System.out.printf(Locale.ROOT, "  engine / (bare + mounts)       %7.2f x   (engine - peer: %+.2f ms)%n", e / bm, e - bm);
        System.out.printf(Locale.ROOT, "  engine, work dirs on %-9s %7.2f ms   %.2f x   (beside the state: stateDir set, runtimeDir not)%n",
                Files.getFileStore(base).type(), ed, ed / bm);
        // Where the engine's time goes (SandboxManager.lastPhases: each step's median; the steps of
        // one run add up to a little less than its total, the rest is the request and logging).
        System.out.printf(Locale.ROOT, "  where the engine's time goes (median of each step):%n");
        phases.forEach((step, micros) -> System.out.printf(Locale.ROOT, "    %-36s %7.2f ms%n", step,
                micros.stream().mapToLong(Long::longValue).sorted().toArray()[micros.size() / 2] / 1000.0));
        EngineHarness.removeTree(base);
        EngineHarness.removeTree(runtime);
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
