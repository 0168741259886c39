package org.saferebuild.engine.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The systemd test machine (script/lib/systemd-machine.sh, docs/demo.md "On a machine with
 * systemd"): a Debian root with systemd as PID 1, D-Bus, Nix and Java, booted with systemd-nspawn
 * as a throw-away overlay over the cached root. Tests reach it with {@code nsenter -t <its PID 1>
 * -a -r -w}, install the engine in it with packaging/install-engine.sh and start it through its wrapper,
 * as root, exactly as pkexec would on the operator's machine. {@link #close()} powers it off and
 * waits: no process of it and no mount of it (they live in its own mount namespace) stay behind.
 */
public final class SystemdMachine implements AutoCloseable {
    /** Where the demo system is installed inside (the settings file is {@code <this>/engine.json}). */
    public static final String DEMO = "/var/lib/safe-rebuild-demo";
    public static final String ENGINE = "/usr/libexec/safe-rebuild/safe-rebuild-engine";

    private final Path script;
    private final Path runDir;
    private final Path log;
    private final Process nspawn;
    private final long leader;
    private final String javaBin;
    private final List<Process> engines = new ArrayList<>();

    private SystemdMachine(Path script, Path runDir, Path log, Process nspawn, long leader, String javaBin) {
        this.script = script;
        this.runDir = runDir;
        this.log = log;
        this.nspawn = nspawn;
        this.leader = leader;
        this.javaBin = javaBin;
    }

    /**
     * Builds the cached root if its recipe changed (about a minute), boots a copy and waits until
     * systemd inside reports the boot finished. {@code base} (a test's private directory) gets the
     * machine's console log.
     */
    public static SystemdMachine boot(Path base) throws IOException, InterruptedException {
        Path script = Repository.root().resolve("script/lib/systemd-machine.sh");
        run(List.of(script.toString(), "build"), Duration.ofMinutes(15));
        Path runDir = Files.createDirectory(base.resolve("machine"));
        Path log = base.resolve("machine.log");
        String javaHome = System.getProperty("java.home");
        ProcessBuilder pb = new ProcessBuilder(script.toString(), "run", runDir.toString(), "--java-home", javaHome);
        pb.redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(
                new java.io.File("/dev/null")));
        Process nspawn = pb.start();
        SystemdMachine m;
        try {
            String leader = run(List.of(script.toString(), "leader", runDir.toString()), Duration.ofMinutes(3)).strip();
            m = new SystemdMachine(script, runDir, log, nspawn, Long.parseLong(leader), javaHome + "/bin/java");
        } catch (IOException | RuntimeException e) {
            run(List.of(script.toString(), "stop", runDir.toString()), Duration.ofMinutes(1));
            throw new IOException(e.getMessage() + "\nmachine log:\n" + tail(log), e);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(m::stopQuietly));
        return m;
    }

    /** The machine's PID 1 (systemd), as the host sees it. */
    public long leader() {
        return leader;
    }

    /** A path inside the machine, as the host can reach it (through its PID 1's root). */
    public Path inside(String path) {
        return Path.of("/proc/" + leader + "/root" + path);
    }

    /** The outcome of a command run inside. */
    public record Result(int exitCode, String stdout, String stderr) {
        public Result orFail(String what) {
            if (exitCode != 0) {
                throw new AssertionError(what + " failed (exit " + exitCode + "): " + stderr + stdout);
            }
            return this;
        }
    }

    /** Runs a command inside, as root in all its namespaces ({@link #command}), and waits for it. */
    public Result exec(String... argv) throws IOException, InterruptedException {
        return exec(Duration.ofMinutes(5), argv);
    }

    public Result exec(Duration timeout, String... argv) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command(List.of(argv)));
        pb.environment().clear();
        pb.environment().putAll(Map.of("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", "HOME", "/root",
                "SYSTEMD_COLORS", "0", "SYSTEMD_PAGER", "", "LANG", "C.UTF-8"));
        return complete(pb, timeout, "inside the machine, " + String.join(" ", argv));
    }

    /** A shell command inside (bash -c), failing the test on a non-zero exit; its stdout. */
    public String sh(String command) throws IOException, InterruptedException {
        return exec("/bin/bash", "-c", command).orFail(command).stdout();
    }

    /**
     * Installs the engine inside with packaging/install-engine.sh, from this test run's class path
     * (the engine and its runtime dependencies, {@link Repository#engineClassPath()}), and returns the
     * wrapper's path inside.
     */
    public String installEngine() throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(script.toString(), "install-engine", runDir.toString()));
        cmd.addAll(Repository.engineClassPath());
        String out = run(cmd, Duration.ofMinutes(2)).strip();
        return out.substring(out.lastIndexOf('\n') + 1);
    }

    /**
     * Installs the demo system inside, its services run by the machine's systemd (generation 1's
     * units are started, as at boot), with the installed engine's class path and Java.
     */
    public void installDemo() throws IOException, InterruptedException {
        installDemo(DEMO).orFail("installing the demo system inside the machine");
    }

    /** {@code DemoSystem install --systemd DIR} inside, with the installed engine's class path and Java. */
    public Result installDemo(String dir) throws IOException, InterruptedException {
        Matcher cp = Pattern.compile(" -cp (\\S+) ")
                .matcher(Files.readString(inside(ENGINE)));
        if (!cp.find()) {
            throw new IllegalStateException("no class path in the installed engine wrapper " + ENGINE);
        }
        return exec(Duration.ofMinutes(5), javaBin, "-cp", cp.group(1), "org.saferebuild.demo.DemoSystem", "install",
                "--systemd", dir);
    }

    /**
     * Starts an engine inside through its installed wrapper, as root, with the demo's settings (or
     * {@code config}); the harness talks to it over the real protocol. {@code logDir} gets engine.log.
     */
    public EngineHarness startEngine(Path logDir, String config, Map<String, String> env) throws IOException {
        Files.createDirectories(logDir);
        ProcessBuilder pb = new ProcessBuilder(command(List.of(ENGINE, "--config", config)));
        pb.environment().clear();
        pb.environment().putAll(env);
        pb.redirectError(ProcessBuilder.Redirect.appendTo(logDir.resolve("engine.log").toFile()));
        Process p = pb.start();
        engines.add(p);
        return EngineHarness.attach(logDir, inside(DEMO + "/state"), inside(config), p);
    }

    /** The engines running inside now (their JVMs, as the host sees them), wherever they were started. */
    public List<Long> enginePids() throws IOException {
        String ns = Files.readSymbolicLink(Path.of("/proc/" + leader + "/ns/pid")).toString();
        List<Long> out = new ArrayList<>();
        try (var procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().matches("\\d+"))) {
            for (Path p : procs) {
                try {
                    String cmd = Files.readString(p.resolve("cmdline")).replace('\0', ' ');
                    if (cmd.contains("org.saferebuild.engine.Main")
                            && Files.readSymbolicLink(p.resolve("ns/pid")).toString().equals(ns)) {
                        out.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException e) {
                    // the process ended meanwhile
                }
            }
        }
        return out;
    }

    /** {@code kill -9} of every engine inside; returns when they are gone. */
    public List<Long> killEngines() throws IOException, InterruptedException {
        List<Long> pids = enginePids();
        for (long pid : pids) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
        for (long pid : pids) {
            ProcessHandle.of(pid).ifPresent(h -> h.onExit().join());
        }
        return pids;
    }

    /** Something a test waits for inside the machine. */
    @FunctionalInterface
    public interface Condition {
        boolean holds() throws Exception;
    }

    /** Waits (generously) until {@code c} holds; the test fails if it never does. */
    public static void await(String what, Duration within, Condition c) throws Exception {
        long end = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < end) {
            if (c.holds()) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("not within " + within + ": " + what);
    }

    /** Powers the machine off (systemctl poweroff inside) and waits until nothing of it is left. */
    @Override
    public void close() throws IOException, InterruptedException {
        for (Process e : engines) {
            e.destroyForcibly();
        }
        run(List.of(script.toString(), "stop", runDir.toString()), Duration.ofMinutes(2));
        if (!nspawn.waitFor(30, TimeUnit.SECONDS)) {
            throw new IOException("systemd-nspawn did not end after the machine powered off");
        }
    }

    private void stopQuietly() {
        if (nspawn.isAlive()) {
            try {
                close();
            } catch (IOException | InterruptedException e) {
                System.err.println("stopping the systemd test machine: " + e);
            }
        }
    }

    public String consoleLog() throws IOException {
        return Files.readString(log);
    }

    /**
     * The argv that runs {@code argv} inside: the machine's namespaces, root and working directory
     * ({@code nsenter --all --root --wd}; where the tests run in a chroot, entering the mount
     * namespace alone would land at that namespace's own root, outside the machine).
     */
    public List<String> command(List<String> argv) {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/nsenter", "--target", Long.toString(leader), "--all",
                "--root", "--wd"));
        cmd.addAll(argv);
        return cmd;
    }

    private static String run(List<String> argv, Duration timeout) throws IOException, InterruptedException {
        Result r = complete(new ProcessBuilder(argv), timeout, String.join(" ", argv));
        if (r.exitCode() != 0) {
            throw new IOException(String.join(" ", argv) + " failed (exit " + r.exitCode() + "): " + r.stderr());
        }
        if (!r.stderr().isBlank()) {
            System.err.print(r.stderr());
        }
        return r.stdout();
    }

    /** Starts {@code pb} with no input and waits for it, its output read as it comes. */
    private static Result complete(ProcessBuilder pb, Duration timeout, String what)
            throws IOException, InterruptedException {
        Process p = pb.start();
        p.getOutputStream().close();
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new IOException(what + " did not finish in " + timeout);
        }
        return new Result(p.exitValue(), new String(out.join(), StandardCharsets.UTF_8),
                new String(err.join(), StandardCharsets.UTF_8));
    }

    private static byte[] readAll(java.io.InputStream in) {
        try {
            return in.readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
