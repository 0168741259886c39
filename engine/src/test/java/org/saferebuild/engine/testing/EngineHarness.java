package org.saferebuild.engine.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.ResultBody;

/**
 * Starts the real engine process (java … org.saferebuild.engine.Main --config FILE) with a
 * private state directory and settings, and talks to it over the real protocol.
 */
public final class EngineHarness implements AutoCloseable {
    private final Path base;
    private final Path stateDir;
    private final Path configFile;
    private final Process process;
    private final EngineConnection connection;
    private final List<Event> events = java.util.Collections.synchronizedList(new ArrayList<>());
    private Event.Welcome welcome;

    private EngineHarness(Path base, Path stateDir, Path configFile, Process process) {
        this.base = base;
        this.stateDir = stateDir;
        this.configFile = configFile;
        this.process = process;
        this.connection = new EngineConnection(process.getInputStream(), process.getOutputStream());
        this.connection.addListener(events::add);
    }

    /**
     * A private, root-owned 0700 directory for one test's engine. It is removed when the test JVM
     * exits, but only if no mount table shows anything beneath it.
     */
    public static Path privateBase() throws IOException {
        Path base = Files.createTempDirectory("safe-rebuild-test-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> removeTree(base)));
        return base;
    }

    /** Deletes a test directory tree, never following links, and never if something is mounted below it. */
    public static void removeTree(Path dir) {
        try {
            for (long pid : new long[] {ProcessHandle.current().pid(), 1}) {
                if (!Mounts.below(Mounts.table(pid), dir).isEmpty()) {
                    System.err.println("not removing " + dir + ": something is mounted below it");
                    return;
                }
            }
            if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            try (var walk = Files.walk(dir)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        } catch (IOException e) {
            System.err.println("could not remove " + dir + ": " + e);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private final Map<String, Object> settings = new LinkedHashMap<>();
        private final Map<String, String> env = new LinkedHashMap<>();
        private Path base;
        private Path tmpfsDir;
        private String tmpfsSize;

        public Builder set(String key, Object value) {
            settings.put(key, value);
            return this;
        }

        public Builder env(String key, String value) {
            env.put(key, value);
            return this;
        }

        public Builder base(Path base) {
            this.base = base;
            return this;
        }

        /**
         * Runs the engine in a private mount namespace with a tmpfs of {@code size} (mount's syntax:
         * "256k") on {@code dir}: a small disk that only this engine sees, so a test can fill it
         * (through /proc/PID/root) without the host's mount table ever changing. The mount goes
         * away with the engine.
         */
        public Builder tmpfs(Path dir, String size) {
            this.tmpfsDir = dir;
            this.tmpfsSize = size;
            return this;
        }

        public EngineHarness start() throws IOException {
            Path b = base != null ? base : privateBase();
            Path state = b.resolve("state");
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("stateDir", state.toString());
            s.put("plans", List.of("debian-test"));
            s.put("minFreeBytes", 64L * 1024 * 1024);
            // Test engines build fixtures shaped like the demo's (host /bin/sh builders): the demo's nix settings.
            s.put("nixOptions", org.saferebuild.demo.DemoSystem.NIX_OPTIONS);
            s.put("auditLog", b.resolve("audit/audit.jsonl").toString());
            s.putAll(settings);
            Path cfg = b.resolve("engine.json");
            Files.writeString(cfg, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(s));
            List<String> argv = new ArrayList<>(EngineHarness.engineCommand(cfg));
            if (tmpfsDir != null) {
                Files.createDirectories(tmpfsDir);
                List<String> wrapped = new ArrayList<>(List.of("/usr/bin/unshare", "--mount", "--propagation",
                        "private", "--", "/bin/sh", "-c",
                        "/bin/mount -t tmpfs -o size=\"$1\",mode=0700 tmpfs \"$2\" && shift 2 && exec \"$@\"", "sh",
                        tmpfsSize, tmpfsDir.toString()));
                wrapped.addAll(argv);
                argv = wrapped;
            }
            ProcessBuilder pb = new ProcessBuilder(argv);
            pb.environment().clear();
            pb.environment().putAll(env);
            pb.redirectError(b.resolve("engine.log").toFile());
            Process p = pb.start();
            return new EngineHarness(b, state, cfg, p);
        }
    }

    /** argv that starts the engine from this test run's class path. */
    public static List<String> engineCommand(Path configFile) {
        return org.saferebuild.protocol.EngineCommand.fromClassPath(configFile);
    }

    public Event.Welcome handshake() throws Exception {
        welcome = connection.handshake("engine-test", Duration.ofSeconds(20));
        return welcome;
    }

    public EngineConnection.Call send(LongFunction<Request> make) throws IOException {
        return connection.send(make);
    }

    /** Sends a request and waits for its result body. */
    public <T extends ResultBody> T call(LongFunction<Request> make, Class<T> type)
            throws IOException, EngineConnection.EngineFailure {
        return call(make, type, Duration.ofMinutes(2));
    }

    public <T extends ResultBody> T call(LongFunction<Request> make, Class<T> type, Duration timeout)
            throws IOException, EngineConnection.EngineFailure {
        return connection.send(make).result(type, timeout);
    }

    /** Sends a request expected to fail, and returns the failure. */
    public Event.Failure fail(LongFunction<Request> make) throws IOException {
        try {
            ResultBody body = connection.send(make).result(ResultBody.class, Duration.ofMinutes(2));
            throw new AssertionError("expected a failure, got " + body);
        } catch (EngineConnection.EngineFailure f) {
            return f.failure();
        }
    }

    public List<Event> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    public EngineConnection connection() {
        return connection;
    }

    public Process process() {
        return process;
    }

    public Path base() {
        return base;
    }

    public Path stateDir() {
        return stateDir;
    }

    public Path configFile() {
        return configFile;
    }

    /**
     * Fills the filesystem {@code dir} is on, as the engine sees it (its private tmpfs), with a file
     * of zeros until the kernel says "No space left on device".
     */
    public void fillDisk(Path dir) throws IOException {
        byte[] block = new byte[4096];
        try (var out = Files.newOutputStream(asSeenByEngine(dir.resolve(".filler")))) {
            while (true) {
                out.write(block);
            }
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("No space left on device")) {
                throw e;
            }
        }
    }

    /** The file {@link #fillDisk} wrote in {@code dir}. */
    public Path filler(Path dir) {
        return asSeenByEngine(dir.resolve(".filler"));
    }

    /** {@code path} as the engine sees it (inside its own mount namespace, if it has one). */
    public Path asSeenByEngine(Path path) {
        return Path.of("/proc/" + process.pid() + "/root" + path);
    }

    public String log() throws IOException {
        return Files.readString(base.resolve("engine.log"));
    }

    /** Ends the connection (the engine sees end of input) and waits for the engine to exit. */
    public int closeAndWait() throws Exception {
        connection.close();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("engine did not exit within 60 s after its input closed");
        }
        return process.exitValue();
    }

    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            try {
                connection.close();
            } catch (IOException ignored) {
                // already closed
            }
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
