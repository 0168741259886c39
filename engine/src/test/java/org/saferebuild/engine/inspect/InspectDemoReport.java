package org.saferebuild.engine.inspect;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.demo.DemoSystem.Variant;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.InspectRequest;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.InspectResult.Comparison;
import org.saferebuild.protocol.InspectResult.Inspection;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.SystemRef;

/**
 * Shows what inspect and compare report, for real: installs a fresh demo system in a private
 * directory, builds its update and kernel variants with nix, roots them where the engine's build
 * step would, starts the real engine and prints its answers as text (and, with --json DIR, writes
 * the JSON results there). Not a test. Run: {@code script/inspect-demo [--json DIR]}.
 */
public final class InspectDemoReport {
    public static void main(String[] args) throws Exception {
        Path jsonDir = args.length == 2 && args[0].equals("--json") ? Path.of(args[1]) : null;
        Path base = EngineHarness.privateBase();
        DemoSystem demo = DemoSystem.install(base.resolve("demo"));
        String update = rooted(demo, Variant.UPDATE);
        String kernel = rooted(demo, Variant.KERNEL);
        EngineHarness.Builder b = EngineHarness.builder().base(base);
        demo.settings().forEach(b::set);
        try (EngineHarness engine = b.start()) {
            engine.handshake();
            Inspection i = engine.call(id -> new InspectRequest.Inspect(id, SystemRef.current()), Inspection.class);
            Comparison u = engine.call(id -> new InspectRequest.Compare(id, SystemRef.current(), SystemRef.path(update)),
                    Comparison.class);
            Comparison k = engine.call(id -> new InspectRequest.Compare(id, SystemRef.current(), SystemRef.path(kernel)),
                    Comparison.class);
            System.out.println("$ inspect {\"type\":\"current\"}");
            print(i);
            System.out.println();
            System.out.println("$ compare {\"type\":\"current\"} → update");
            print(u);
            System.out.println();
            System.out.println("$ compare {\"type\":\"current\"} → kernel");
            print(k);
            if (jsonDir != null) {
                Files.createDirectories(jsonDir);
                var w = Json.mapper().writerWithDefaultPrettyPrinter();
                Files.writeString(jsonDir.resolve("inspection.json"), w.writeValueAsString(i) + "\n");
                Files.writeString(jsonDir.resolve("comparison-update.json"), w.writeValueAsString(u) + "\n");
                Files.writeString(jsonDir.resolve("comparison-kernel.json"), w.writeValueAsString(k) + "\n");
            }
        }
        EngineHarness.removeTree(base);
    }

    private static String rooted(DemoSystem demo, Variant v) throws Exception {
        String path = demo.buildOnHost(v);
        ShapedSystems.run(List.of("nix-store", "--realise", "--add-root",
                demo.buildRoots().resolve(Path.of(path).getFileName()).toString(), path));
        return path;
    }

    static void print(Inspection r) {
        InspectResult.SystemInfo s = r.system();
        System.out.printf("%s  %s%n  nixos-version %s; closure %d paths, %s%n", s.label(), s.path(), s.nixosVersion(),
                r.closure().paths(), size(r.closure().bytes()));
        System.out.printf("units (%d):%n", r.units().size());
        for (InspectResult.Unit u : r.units()) {
            String by = String.join(", ", u.wantedBy().stream().map(t -> "wanted by " + t).toList());
            System.out.printf("  %-28s %-8s %s%s%n", u.name(), u.type(), by.isEmpty() ? "(not enabled)" : by,
                    u.sessionCritical() != null ? "  [session]" : "");
            u.execStart().forEach(e -> System.out.printf("      ExecStart=%s%n", e));
        }
        System.out.println("watched services:");
        for (InspectResult.WatchedService w : r.watched()) {
            System.out.printf("  %-28s %s%n", w.glob(), w.present() ? "present: " + String.join(", ", w.units())
                    : "MISSING");
        }
        System.out.printf("configuration search %s: %d hits in %d files searched%s%n", r.configSearch().patterns(),
                r.configSearch().hits().size(), r.configSearch().filesSearched(),
                r.configSearch().truncated() ? " (stopped at the limit)" : "");
        for (InspectResult.ConfigHit h : r.configSearch().hits()) {
            System.out.printf("  %s:%d: %s%n", h.file(), h.line(), h.text());
        }
    }

    static void print(Comparison c) {
        System.out.printf("%s → %s%n  %s%n  %s%n", c.from().label(), c.to().label(), c.from().path(), c.to().path());
        System.out.println("packages:");
        for (List<InspectResult.Package> list : List.of(c.packages().added(), c.packages().removed(),
                c.packages().changed())) {
            for (InspectResult.Package p : list) {
                System.out.printf("  [%s] %-34s %s → %s%n", p.change().name().charAt(0), p.name(),
                        versions(p.before()), versions(p.after()));
            }
        }
        for (InspectResult.Package p : c.packages().resized()) { // same versions, rebuilt: [S]ize as diff-closures
            long d = p.bytesAfter() - p.bytesBefore();
            System.out.printf("  [S] %-34s %s, %s%s%n", p.name(), versions(p.after()), d >= 0 ? "+" : "−",
                    size(Math.abs(d)));
        }
        System.out.printf("closure: %d → %d paths, %s → %s (%s)%n", c.closureFrom().paths(), c.closureTo().paths(),
                size(c.closureFrom().bytes()), size(c.closureTo().bytes()),
                (c.bytesDelta() >= 0 ? "+" : "−") + size(Math.abs(c.bytesDelta())));
        System.out.printf("units (%s): %s%n", c.unitSource(), c.unitMethod());
        for (InspectResult.UnitAction a : c.units()) {
            System.out.printf("  %-7s %s — %s%s%n", a.action(), a.unit(), a.reason(),
                    a.sessionCritical() == null ? "" : "\n          session: " + a.sessionCritical());
            a.diff().lines().forEach(l -> System.out.println("      " + l));
        }
        System.out.printf("reboot: %s%n", c.reboot().advice());
        for (InspectResult.RebootItem item : c.reboot().items()) {
            System.out.printf("  %-14s %s%n  %-14s → %s%n", item.item(), item.before(), "", item.after());
        }
        c.notes().forEach(n -> System.out.println("note: " + n));
    }

    private static String versions(List<String> v) {
        return v.isEmpty() ? "∅" : String.join(", ", v.stream().map(x -> x.isEmpty() ? "ε" : x).toList());
    }

    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.2f MiB", bytes / (1024.0 * 1024));
    }

    private InspectDemoReport() {
    }
}
