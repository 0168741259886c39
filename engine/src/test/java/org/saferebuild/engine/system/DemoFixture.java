package org.saferebuild.engine.system;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Nix;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.Json;

/**
 * One fresh demo system in a private directory (its own profile, run links, watched logs,
 * activations log and audit trail) and the real engine started on its settings, as the app would.
 */
final class DemoFixture implements AutoCloseable {
    final Path base;
    final DemoSystem demo;
    final List<EngineHarness> engines = new ArrayList<>();

    private DemoFixture(Path base, DemoSystem demo) {
        this.base = base;
        this.demo = demo;
    }

    static DemoFixture install() throws IOException {
        Path base = EngineHarness.privateBase();
        return new DemoFixture(base, DemoSystem.install(base.resolve("demo")));
    }

    /**
     * Builds a variant with real nix and registers it as the engine's build would (a GC root under
     * state/gcroots/builds/ named after the store path), so apply accepts it.
     */
    String built(DemoSystem.Variant v) throws Exception {
        String path = demo.buildOnHost(v);
        Nix.run("/usr/bin/nix-store", "--realise", "--add-root",
                demo.buildRoots().resolve(Path.of(path).getFileName()).toString(), path);
        return path;
    }

    EngineHarness start(Object... extra) throws Exception {
        return startWith(b -> { }, extra);
    }

    /** As {@link #start}, with more to set on the harness (a private tmpfs, say). */
    EngineHarness startWith(java.util.function.Consumer<EngineHarness.Builder> more, Object... extra) throws Exception {
        EngineHarness.Builder b = EngineHarness.builder().base(base).env("SUDO_UID", "0");
        more.accept(b);
        for (Map.Entry<String, Object> e : demo.settings().entrySet()) {
            b.set(e.getKey(), e.getValue());
        }
        for (int i = 0; i < extra.length; i += 2) {
            b.set((String) extra[i], extra[i + 1]);
        }
        EngineHarness engine = b.start();
        engines.add(engine);
        engine.handshake();
        return engine;
    }

    /** The demo's engine settings as a file, for starting an engine by hand. */
    Path settingsFile(Object... extra) throws IOException {
        Map<String, Object> s = new java.util.LinkedHashMap<>(demo.settings());
        for (int i = 0; i < extra.length; i += 2) {
            s.put((String) extra[i], extra[i + 1]);
        }
        Path f = base.resolve("engine-by-hand.json");
        Files.writeString(f, Json.mapper().writeValueAsString(s));
        return f;
    }

    String profileLink() throws IOException {
        return Files.readSymbolicLink(demo.systemProfile()).toString();
    }

    boolean generationExists(int n) {
        return Files.isSymbolicLink(demo.systemProfile().resolveSibling("system-" + n + "-link"));
    }

    String running() {
        return DemoSystem.target(demo.currentSystem()).orElse(null);
    }

    String bootDefault() {
        return DemoSystem.target(demo.bootDefault()).orElse(null);
    }

    /** demo-state/activations.jsonl as "action system" pairs. */
    List<String> activations() throws IOException {
        List<String> out = new ArrayList<>();
        for (String l : Files.readAllLines(demo.activationsLog())) {
            JsonNode n = Json.mapper().readTree(l);
            out.add(n.get("action").asText() + " " + n.get("system").asText());
        }
        return out;
    }

    /** The audit trail's outcome records: one per action (each also has an intent record before it). */
    List<AuditRecord> audit() throws Exception {
        return auditAll().stream().filter(r -> !AuditRecord.STARTED.equals(r.outcome())).toList();
    }

    /** Every record of the audit trail, intents included. */
    List<AuditRecord> auditAll() throws Exception {
        List<AuditRecord> out = new ArrayList<>();
        if (!Files.exists(demo.auditLog())) {
            return out;
        }
        for (String l : Files.readAllLines(demo.auditLog())) {
            out.add(Json.decode(l, AuditRecord.class));
        }
        return out;
    }

    /** Waits (generously) for a notice; the test fails if it never comes. */
    static Event.Notice awaitNotice(EngineHarness engine, Predicate<Event.Notice> which, Duration within)
            throws InterruptedException {
        Instant end = Instant.now().plus(within);
        while (Instant.now().isBefore(end)) {
            for (Event e : engine.events()) {
                if (e instanceof Event.Notice n && which.test(n)) {
                    return n;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no such notice within " + within + "; events: " + engine.events());
    }

    /** Waits (generously) until a condition on the demo's files holds. */
    static void awaitTrue(String what, Duration within, Check check) throws Exception {
        Instant end = Instant.now().plus(within);
        while (Instant.now().isBefore(end)) {
            if (check.holds()) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not within " + within + ": " + what);
    }

    @FunctionalInterface
    interface Check {
        boolean holds() throws Exception;
    }

    @Override
    public void close() throws Exception {
        for (EngineHarness e : engines) {
            e.close();
        }
    }
}
