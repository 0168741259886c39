package org.saferebuild.engine.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.engine.audit.AuditLog;
import org.saferebuild.engine.system.PromisedWork;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Nix;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * Benchmark (not a test): what apply, rollback and the audit trail cost against their peers, in
 * one run on one demo system.
 * <ul>
 *   <li>switch: the engine's apply SWITCH + confirm over the protocol (closure check, content check,
 *       pending file, nix-env --set, switch-to-configuration, audit records) against nixos-rebuild's
 *       own last two steps run by hand: {@code nix-env -p … --set} and {@code switch-to-configuration
 *       switch}</li>
 *   <li>rollback: the engine's rollback SWITCH against {@code nix-env --switch-generation} +
 *       {@code switch-to-configuration switch}</li>
 *   <li>the promised work alone ({@link PromisedWork}): switch + confirm without the engine, its
 *       protocol or its threads, in this process: what keeping the same promises costs at least; and
 *       the same with two durable writes after the activation (not a promise the engine keeps: what
 *       relaxing the confirm's records would be worth)</li>
 *   <li>audit: one record appended with the SHA-256 chain, its MAC, the end checked against the head,
 *       space reserved, fdatasync, and the head written in place, against a bare append + fsync of a
 *       line of the same size</li>
 * </ul>
 * The machine is shared: engine and peer runs alternate (which goes first alternates too), so a
 * change of load hits both; the load average is printed before and after. Where the engine's time
 * goes is read from its own timing line per request (EngineServer: intent, each progress phase,
 * outcome). Run: {@code script/bench apply [runs]}.
 */
public final class ApplyBenchmark {
    private static final String LOCALE_ARCHIVE = "/run/current-system/sw/lib/locale/locale-archive";
    private static final Pattern WALKED = Pattern.compile("(\\d+) files walked in ([0-9.]+) ms");
    private static final Pattern TOOK = Pattern.compile("request \\d+ \\((apply|confirm|rollback)\\) took ([0-9.]+)"
            + " ms: (.*)$");

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        String loadBefore = load();
        Path base = EngineHarness.privateBase();
        DemoSystem demo = DemoSystem.install(base.resolve("demo"));
        String gen1 = demo.generation1();
        String update = demo.buildOnHost(DemoSystem.Variant.UPDATE);
        Nix.run("/usr/bin/nix-store", "--realise", "--add-root",
                demo.buildRoots().resolve(Path.of(update).getFileName()).toString(), update);
        String profile = demo.systemProfile().toString();

        EngineHarness.Builder b = EngineHarness.builder().base(base).env("SUDO_UID", "0");
        for (Map.Entry<String, Object> e : demo.settings().entrySet()) {
            b.set(e.getKey(), e.getValue());
        }
        long[] peerSwitch = new long[runs];
        long[] peerRollback = new long[runs];
        long[][] peerSteps = new long[4][runs];
        long[] engineSwitch = new long[runs];
        long[] engineRollback = new long[runs];
        int warmUp = 2;
        List<Double> walks = new ArrayList<>();
        long[] roundTrip = new long[runs];
        String walkSample = null;
        long[] promised = new long[runs];
        long[][] promisedParts = new long[3][runs]; // before nix-env, the first write after, all five after
        long[] twoWrites = new long[runs];
        try (EngineHarness engine = b.start()) {
            engine.handshake();
            // The promised work alone runs with state and an audit trail of its own, never the engine's.
            ObjectNode settings = (ObjectNode) Json.mapper().readTree(Files.readString(base.resolve("engine.json")));
            settings.put("stateDir", base.resolve("promised/state").toString());
            settings.put("auditLog", base.resolve("promised/audit/audit.jsonl").toString());
            Path promisedSettings = Files.writeString(Files.createDirectories(base.resolve("promised"))
                    .resolve("engine.json"), settings.toString());
            try (PromisedWork work = new PromisedWork(promisedSettings)) {
                for (int i = -warmUp; i < runs; i++) {
                    long[] peer = null;
                    long[] eng = null;
                    long alone = 0;
                    long two = 0;
                    // The order rotates: none of the four always runs right after another.
                    for (int slot = 0; slot < 4; slot++) {
                        switch (Math.floorMod(slot + i, 4)) {
                            case 0 -> peer = peerRound(profile, update, gen1);
                            case 1 -> eng = engineRound(engine, profile, update);
                            case 2 -> alone = promisedRound(work, false, profile, update, gen1,
                                    i >= 0 ? i : null, promisedParts);
                            default -> two = promisedRound(work, true, profile, update, gen1, null, null);
                        }
                    }
                    if (i >= 0) {
                        long t = System.nanoTime(); // a request that only reads: the protocol's own cost
                        engine.call(id -> new SystemRequest.ApplyStatus(id), SystemResult.ApplyState.class);
                        roundTrip[i] = System.nanoTime() - t;
                        peerSwitch[i] = peer[0];
                        peerRollback[i] = peer[1];
                        for (int k = 0; k < 4; k++) {
                            peerSteps[k][i] = peer[2 + k];
                        }
                        engineSwitch[i] = eng[0];
                        engineRollback[i] = eng[1];
                        promised[i] = alone;
                        twoWrites[i] = two;
                    }
                }
            }
            // The content check's own line: how many files it walked and how long that took.
            for (org.saferebuild.protocol.Event e : engine.events()) {
                if (e instanceof org.saferebuild.protocol.Event.Log l && l.stream().equals("check")) {
                    for (String line : l.lines()) {
                        Matcher m = WALKED.matcher(line);
                        if (m.find()) {
                            walks.add(Double.parseDouble(m.group(2)));
                            walkSample = line;
                        }
                    }
                }
            }
        }
        Map<String, Map<String, List<Double>>> phases = phases(Files.readString(base.resolve("engine.log")),
                warmUp); // one apply, confirm and rollback per round

        int lines = runs * 100;
        AuditLog log = new AuditLog(base.resolve("bench-audit/audit.jsonl"), base.resolve("bench-audit"));
        AuditRecord.Who who = new AuditRecord.Who(1000, "bear", "pkexec");
        String sample = Json.encode(log.append(entry(who, update)).record());
        byte[] line = (sample + "\n").getBytes(StandardCharsets.UTF_8);
        Path bareFile = base.resolve("bench-audit/bare.jsonl");
        long[] chained = new long[lines];
        long[] bare = new long[lines];
        for (int i = 0; i < lines; i += 10) { // blocks of ten, alternating
            for (int k = i; k < i + 10; k++) {
                long t = System.nanoTime();
                log.append(entry(who, update));
                chained[k] = System.nanoTime() - t;
            }
            for (int k = i; k < i + 10; k++) {
                long t = System.nanoTime();
                try (FileChannel ch = FileChannel.open(bareFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.APPEND)) {
                    ch.write(ByteBuffer.wrap(line));
                    ch.force(true);
                }
                bare[k] = System.nanoTime() - t;
            }
        }

        System.out.printf(Locale.ROOT, "apply benchmark: %d runs (after %d warm-up rounds) on the demo system (%s)%n",
                runs, warmUp, demo.root());
        System.out.printf(Locale.ROOT, "  load average before: %s   after: %s   (%d cores)%n", loadBefore, load(),
                Runtime.getRuntime().availableProcessors());
        row("switch (+confirm)", engineSwitch, "nix-env --set + switch-to-configuration", peerSwitch);
        row("  promised work alone", promised, "the same peer round", peerSwitch);
        row("  with 2 writes after", twoWrites, "the same peer round", peerSwitch);
        row("rollback", engineRollback, "nix-env --switch-generation + switch", peerRollback);
        row("audit record (" + line.length + " B)", chained, "append + fsync", bare);
        System.out.println("  where the engine's time goes (medians, ms; from its log, one line per request):");
        for (Map.Entry<String, Map<String, List<Double>>> op : phases.entrySet()) {
            StringBuilder s = new StringBuilder();
            for (Map.Entry<String, List<Double>> p : op.getValue().entrySet()) {
                s.append(String.format(Locale.ROOT, "%s%s %.1f", s.length() == 0 ? "" : ", ", p.getKey(),
                        medianMillis(p.getValue())));
            }
            System.out.printf(Locale.ROOT, "    %-9s %s%n", op.getKey(), s);
        }
        System.out.printf(Locale.ROOT, "    peer      switch: nix-env --set %.1f, switch-to-configuration %.1f;"
                + " rollback: nix-env --switch-generation %.1f, switch-to-configuration %.1f%n", median(peerSteps[0]),
                median(peerSteps[1]), median(peerSteps[2]), median(peerSteps[3]));
        System.out.printf(Locale.ROOT, "  one request's round trip (apply.status, nothing recorded): %.2f ms%n",
                median(roundTrip));
        if (!walks.isEmpty()) {
            System.out.printf(Locale.ROOT, "  content check (in verify): median walk %.1f ms; last: %s%n",
                    medianMillis(walks.subList(Math.min(walks.size() - 1, warmUp * 2), walks.size())), walkSample);
        }
        System.out.printf(Locale.ROOT, "    promised  before nix-env %.1f (checks alongside intent and pending.json); after the"
                + " activation %.1f, of which the first durable write %.1f (medians, ms)%n", median(promisedParts[0]),
                median(promisedParts[2]), median(promisedParts[1]));
        System.out.println("  promised work alone: the same switch + confirm without the engine, in this process (the"
                + " intent and pending.json alongside the closure's and contents' check, nix-env, the activation, then"
                + " the deadline, the outcome, the confirm's intent, pending.json removed, its outcome): the least an"
                + " engine keeping these promises adds. with 2 writes after: the same with only the outcome and one"
                + " confirm record after the activation (a confirm without its own intent: not what is promised)");
        System.out.println("  note: the engine's figures include the protocol round trips, the audit records (intent"
                + " and outcome of each request), the closure's check and pending.json; the peer does none of these");
    }

    /**
     * nixos-rebuild's last two steps by hand, there and back: [switch, rollback, and each one's
     * nix-env and switch-to-configuration] in ns.
     */
    private static long[] peerRound(String profile, String update, String gen1) throws Exception {
        long t = System.nanoTime();
        nixEnv("-p", profile, "--set", update);
        long t1 = System.nanoTime();
        activate(update);
        long t2 = System.nanoTime();
        nixEnv("-p", profile, "--switch-generation", "1");
        long t3 = System.nanoTime();
        activate(gen1);
        long t4 = System.nanoTime();
        Nix.run("/usr/bin/nix-env", "-p", profile, "--delete-generations", "old");
        return new long[] {t2 - t, t4 - t2, t1 - t, t2 - t1, t3 - t2, t4 - t3};
    }

    /**
     * The peer's nix-env, as a shell script would run it: its output discarded, nothing read, no
     * thread of ours (the engine captures nix-env's output through pipes; the peer pays for none).
     */
    private static void nixEnv(String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of("/usr/bin/nix-env"));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().put("HOME", System.getProperty("java.io.tmpdir"));
        runQuietly(pb);
    }

    /**
     * {@code switch-to-configuration switch} as nixos-rebuild runs it where systemd-run is not used:
     * {@code env -i LOCALE_ARCHIVE=… NIXOS_INSTALL_BOOTLOADER= …} (the engine's direct path too).
     */
    private static void activate(String system) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(system + "/bin/switch-to-configuration", "switch");
        pb.environment().clear();
        if (Files.exists(Path.of(LOCALE_ARCHIVE))) {
            pb.environment().put("LOCALE_ARCHIVE", LOCALE_ARCHIVE);
        }
        pb.environment().put("NIXOS_INSTALL_BOOTLOADER", "");
        runQuietly(pb);
    }

    /** Runs a peer's step to its end with its output discarded; fails the benchmark if it fails. */
    private static void runQuietly(ProcessBuilder pb) throws Exception {
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        p.getOutputStream().close();
        if (p.waitFor() != 0) {
            throw new AssertionError(String.join(" ", pb.command()) + " failed");
        }
    }

    /**
     * Switch + confirm without the engine (PromisedWork), then back to generation 1 untimed; ns.
     * {@code twoWrites}: only two durable writes after the activation, not what is promised; otherwise
     * the parts' times go to {@code parts} at {@code round}, when given.
     */
    private static long promisedRound(PromisedWork work, boolean twoWrites, String profile, String update,
                                      String gen1, Integer round, long[][] parts) throws Exception {
        long t = System.nanoTime();
        long before = work.before(update);
        nixEnv("-p", profile, "--set", update);
        activate(update);
        if (twoWrites) {
            work.afterWithTwoWrites();
        } else {
            long[] after = work.after();
            if (round != null) {
                parts[0][round] = before;
                parts[1][round] = after[0];
                parts[2][round] = after[1];
            }
        }
        long took = System.nanoTime() - t;
        nixEnv("-p", profile, "--switch-generation", "1");
        activate(gen1);
        Nix.run("/usr/bin/nix-env", "-p", profile, "--delete-generations", "old");
        return took;
    }

    /** The engine's apply SWITCH + confirm, then its rollback to generation 1: [switch, rollback] in ns. */
    private static long[] engineRound(EngineHarness engine, String profile, String update) throws Exception {
        long t = System.nanoTime();
        SystemResult.Applied a = engine.call(id -> new SystemRequest.Apply(id, update, null,
                SystemRequest.Mode.SWITCH, 120), SystemResult.Applied.class);
        engine.call(id -> new SystemRequest.Confirm(id), SystemResult.Confirmed.class);
        long sw = System.nanoTime() - t;
        t = System.nanoTime();
        engine.call(id -> new SystemRequest.Rollback(id, 1, SystemRequest.RollbackMode.SWITCH),
                SystemResult.RolledBack.class);
        long rb = System.nanoTime() - t;
        Nix.run("/usr/bin/nix-env", "-p", profile, "--delete-generations", Integer.toString(a.generationAfter()));
        return new long[] {sw, rb};
    }

    private static AuditLog.Entry entry(AuditRecord.Who who, String update) {
        return new AuditLog.Entry(who, "apply", Json.mapper().createObjectNode().put("storePath", update)
                .put("mode", "SWITCH"), 1, 2, "ok", null, "Activated generation 2.");
    }

    /** op → phase → times (ms), from the engine's "request N (op) took …" lines, after the warm-up's. */
    private static Map<String, Map<String, List<Double>>> phases(String engineLog, int skipPerOp) {
        Map<String, Map<String, List<Double>>> out = new LinkedHashMap<>();
        Map<String, Integer> seen = new LinkedHashMap<>();
        for (String l : engineLog.split("\n")) {
            Matcher m = TOOK.matcher(l);
            if (!m.find()) {
                continue;
            }
            String op = m.group(1);
            if (seen.merge(op, 1, Integer::sum) <= skipPerOp) {
                continue;
            }
            Map<String, List<Double>> p = out.computeIfAbsent(op, k -> new LinkedHashMap<>());
            p.computeIfAbsent("total", k -> new ArrayList<>()).add(Double.parseDouble(m.group(2)));
            for (String part : m.group(3).split(", ")) {
                int sp = part.lastIndexOf(' ');
                p.computeIfAbsent(part.substring(0, sp), k -> new ArrayList<>())
                        .add(Double.parseDouble(part.substring(sp + 1)));
            }
        }
        return out;
    }

    private static String load() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }

    /**
     * The medians side by side and their ratio; then the ratio of each round's pair (engine and peer
     * run one right after the other), whose median and middle half do not move with what the
     * machine does between rounds (the peer itself takes 90–180 ms here from one minute to the next).
     */
    private static void row(String what, long[] engine, String peerName, long[] peer) {
        double e = median(engine);
        double p = median(peer);
        double[] pairs = new double[engine.length];
        for (int i = 0; i < engine.length; i++) {
            pairs[i] = (double) engine[i] / peer[i];
        }
        Arrays.sort(pairs);
        System.out.printf(Locale.ROOT, "  %-24s engine %8.2f ms   %-40s %8.2f ms   ratio %.2f"
                + "   (round by round: median %.2f, middle half %.2f–%.2f)%n", what, e, peerName, p, e / p,
                pairs[pairs.length / 2], pairs[pairs.length / 4], pairs[pairs.length * 3 / 4]);
    }

    private static double median(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s[s.length / 2] / 1e6;
    }

    private static double medianMillis(List<Double> ms) {
        double[] s = ms.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s[s.length / 2];
    }
}
