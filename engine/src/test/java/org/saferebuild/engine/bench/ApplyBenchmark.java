package org.saferebuild.engine.bench;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.engine.audit.AuditLog;
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
 *   <li>switch: the engine's apply SWITCH + confirm over the protocol (closure check, verify-path,
 *       pending file, nix-env --set, switch-to-configuration, audit lines) against nixos-rebuild's
 *       own last two steps run by hand: {@code nix-env -p … --set} and {@code switch-to-configuration
 *       switch}</li>
 *   <li>rollback: the engine's rollback SWITCH against {@code nix-env --switch-generation} +
 *       {@code switch-to-configuration switch}</li>
 *   <li>audit: one record appended with the SHA-256 chain, its MAC, the end checked against the head,
 *       space reserved, fsync, and the head written in place and synced, against a bare
 *       append + fsync of a line of the same size</li>
 * </ul>
 * Run: {@code script/bench apply [runs]}.
 */
public final class ApplyBenchmark {
    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        Path base = EngineHarness.privateBase();
        DemoSystem demo = DemoSystem.install(base.resolve("demo"));
        String gen1 = demo.generation1();
        String update = demo.buildOnHost(DemoSystem.Variant.UPDATE);
        Nix.run("/usr/bin/nix-store", "--realise", "--add-root",
                demo.buildRoots().resolve(Path.of(update).getFileName()).toString(), update);
        String profile = demo.systemProfile().toString();

        // Peer: the same two steps by hand (then back to generation 1 the same way, not timed).
        long[] peerSwitch = new long[runs];
        long[] peerRollback = new long[runs];
        for (int i = 0; i < runs; i++) {
            long t = System.nanoTime();
            Nix.run("/usr/bin/nix-env", "-p", profile, "--set", update);
            Nix.run(update + "/bin/switch-to-configuration", "switch");
            peerSwitch[i] = System.nanoTime() - t;
            t = System.nanoTime();
            Nix.run("/usr/bin/nix-env", "-p", profile, "--switch-generation", "1");
            Nix.run(gen1 + "/bin/switch-to-configuration", "switch");
            peerRollback[i] = System.nanoTime() - t;
            Nix.run("/usr/bin/nix-env", "-p", profile, "--delete-generations", "old");
        }

        EngineHarness.Builder b = EngineHarness.builder().base(base).env("SUDO_UID", "0");
        for (Map.Entry<String, Object> e : demo.settings().entrySet()) {
            b.set(e.getKey(), e.getValue());
        }
        long[] engineSwitch = new long[runs];
        long[] engineRollback = new long[runs];
        try (EngineHarness engine = b.start()) {
            engine.handshake();
            for (int i = 0; i < runs; i++) {
                long t = System.nanoTime();
                SystemResult.Applied a = engine.call(id -> new SystemRequest.Apply(id, update, null,
                        SystemRequest.Mode.SWITCH, 120), SystemResult.Applied.class);
                engine.call(id -> new SystemRequest.Confirm(id), SystemResult.Confirmed.class);
                engineSwitch[i] = System.nanoTime() - t;
                int first = 1;
                t = System.nanoTime();
                engine.call(id -> new SystemRequest.Rollback(id, first, SystemRequest.RollbackMode.SWITCH),
                        SystemResult.RolledBack.class);
                engineRollback[i] = System.nanoTime() - t;
                Nix.run("/usr/bin/nix-env", "-p", profile, "--delete-generations", Integer.toString(
                        a.generationAfter()));
            }
        }

        int lines = runs * 100;
        AuditLog log = new AuditLog(base.resolve("bench-audit/audit.jsonl"), base.resolve("bench-audit"));
        AuditRecord.Who who = new AuditRecord.Who(1000, "bear", "pkexec");
        long[] chained = new long[lines];
        String sample = null;
        for (int i = 0; i < lines; i++) {
            long t = System.nanoTime();
            AuditLog.Appended a = log.append(new AuditLog.Entry(who, "apply",
                    Json.mapper().createObjectNode().put("storePath", update).put("mode", "SWITCH"), 1, 2, "ok", null,
                    "Activated generation 2."));
            chained[i] = System.nanoTime() - t;
            sample = Json.encode(a.record());
        }
        long[] bare = new long[lines];
        byte[] line = (sample + "\n").getBytes(StandardCharsets.UTF_8);
        Path bareFile = base.resolve("bench-audit/bare.jsonl");
        for (int i = 0; i < lines; i++) {
            long t = System.nanoTime();
            try (FileChannel ch = FileChannel.open(bareFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND)) {
                ch.write(ByteBuffer.wrap(line));
                ch.force(true);
            }
            bare[i] = System.nanoTime() - t;
        }

        System.out.printf(Locale.ROOT, "apply benchmark: %d runs on the demo system (%s)%n", runs,
                demo.root());
        row("switch (+confirm)", engineSwitch, "nix-env --set + switch-to-configuration", peerSwitch);
        row("rollback", engineRollback, "nix-env --switch-generation + switch", peerRollback);
        row("audit line (" + line.length + " B)", chained, "append + fsync", bare);
        List<String> notes = new ArrayList<>();
        notes.add("engine figures include the protocol round trips and the audit records of each request (an"
                + " intent before and an outcome after each), and nix-store --verify-path of the whole closure");
        notes.forEach(n -> System.out.println("  note: " + n));
    }

    private static void row(String what, long[] engine, String peerName, long[] peer) {
        double e = median(engine);
        double p = median(peer);
        System.out.printf(Locale.ROOT, "  %-24s engine %8.2f ms   %-40s %8.2f ms   ratio %.2f%n", what, e, peerName, p,
                e / p);
    }

    private static double median(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s[s.length / 2] / 1e6;
    }
}
