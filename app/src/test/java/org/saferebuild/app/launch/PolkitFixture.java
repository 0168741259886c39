package org.saferebuild.app.launch;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.saferebuild.protocol.Json;

/**
 * Real polkit for the end-to-end tests (docs/security.md "Hardening tests"): starts the system
 * D-Bus and polkitd when they are not running, creates the test accounts if missing, installs
 * the engine with packaging/install-engine.sh into a fresh directory, installs its generated
 * policy (under a per-run action id, so runs on one machine do not collide) and a rules file
 * that allows {@link #OPERATOR} only. close() removes the policy, the rules and the directory;
 * the accounts, D-Bus and polkitd stay (another run may be using them).
 */
final class PolkitFixture implements AutoCloseable {
    static final String OPERATOR = "sr-operator";
    static final String STRANGER = "sr-stranger";
    private static final Path BUS_SOCKET = Path.of("/run/dbus/system_bus_socket");
    private static final Path POLKITD = Path.of("/usr/lib/polkit-1/polkitd");

    final Path dir;
    final Path engine;
    final Path config;
    final Path stateDir;
    final Path markers;
    final String actionId;
    final String appClassPath;
    private final Path policyFile;
    private final Path rulesFile;

    private PolkitFixture(Path dir, Path engine, Path config, Path stateDir, Path markers, String actionId,
                          String appClassPath, Path policyFile, Path rulesFile) {
        this.dir = dir;
        this.engine = engine;
        this.config = config;
        this.stateDir = stateDir;
        this.markers = markers;
        this.actionId = actionId;
        this.appClassPath = appClassPath;
        this.policyFile = policyFile;
        this.rulesFile = rulesFile;
    }

    static PolkitFixture start() throws Exception {
        ensureUser(OPERATOR);
        ensureUser(STRANGER);
        ensureSystemBus();
        ensurePolkitd();

        Path dir = Files.createTempDirectory("safe-rebuild-pkexec-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path prefix = dir.resolve("install");
        List<String> install = new ArrayList<>(List.of(repo().resolve("packaging/install-engine.sh").toString(),
                "--prefix", prefix.toString(),
                "--java", Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--"));
        install.addAll(engineClassPath());
        String engineOut = run(install, 120).strip();
        Path engine = Path.of(engineOut.substring(engineOut.lastIndexOf('\n') + 1));

        Path priv = Files.createDirectory(dir.resolve("private"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path state = priv.resolve("state");
        Path config = dir.resolve("engine.json");
        Files.writeString(config, Json.mapper().writeValueAsString(Map.of("stateDir", state.toString(),
                "auditLog", priv.resolve("audit/audit.jsonl").toString(), "plans", List.of("debian-test"))));
        Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
        Path markers = Files.createDirectory(dir.resolve("markers"));
        Files.setPosixFilePermissions(markers, PosixFilePermissions.fromString("rwxrwxrwx"));
        run(List.of("/bin/chmod", "1777", markers.toString()), 10);
        String appCp = copyAppClassPath(Files.createDirectory(dir.resolve("app")));

        String actionId = "org.saferebuild.engine.test" + HexFormat.of().formatHex(new SecureRandom().generateSeed(6));
        String policy = Files.readString(prefix.resolve("share/polkit-1/actions/org.saferebuild.engine.policy"))
                .replace("id=\"org.saferebuild.engine\"", "id=\"" + actionId + "\"");
        if (!policy.contains(actionId) || !policy.contains(">" + engine + "<")) {
            throw new IllegalStateException("generated policy does not pin " + engine + ":\n" + policy);
        }
        Path policyFile = Path.of("/usr/share/polkit-1/actions", actionId + ".policy");
        Files.writeString(policyFile, policy);
        Path rulesFile = Path.of("/etc/polkit-1/rules.d", "49-" + actionId + ".rules");
        Files.writeString(rulesFile, "// Safe Rebuild test run: " + OPERATOR + " may run the engine without a password.\n"
                + "polkit.addRule(function(action, subject) {\n"
                + "    if (action.id == \"" + actionId + "\" && subject.user == \"" + OPERATOR + "\") {\n"
                + "        return polkit.Result.YES;\n"
                + "    }\n"
                + "});\n");
        PolkitFixture f = new PolkitFixture(dir, engine, config, state, markers, actionId, appCp, policyFile, rulesFile);
        try {
            f.awaitPolkitSeesIt();
        } catch (Exception e) {
            f.close();
            throw e;
        }
        return f;
    }

    /** The probe's output: the JSON line LaunchProbe printed, run as {@code user}. */
    Map<String, Object> probe(String user, String mode) throws Exception {
        List<String> cmd = asUser(user, List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1", "-cp", appClassPath, LaunchProbe.class.getName(),
                mode, engine.toString(), config.toString()));
        String out = run(cmd, 180);
        String last = out.lines().filter(l -> l.startsWith("{\"")).reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError("the probe printed no result:\n" + out));
        @SuppressWarnings("unchecked")
        Map<String, Object> m = Json.mapper().readValue(last, Map.class);
        return m;
    }

    /**
     * The probe as {@code user} on a terminal (script(1)) with polkit's text agent registered for
     * it; when the agent asks for the password, {@code answer} is typed (Ctrl-C: "\u0003").
     * Returns everything the terminal showed.
     */
    String probeAtPasswordPrompt(String user, String answer) throws Exception {
        String probe = String.join(" ", List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1", "-cp", appClassPath, LaunchProbe.class.getName(),
                "pkexec", engine.toString(), config.toString(), "tty-agent"));
        Process p = new ProcessBuilder(asUser(user, List.of("/usr/bin/script", "-qec", probe, "/dev/null")))
                .redirectErrorStream(true).start();
        StringBuilder seen = new StringBuilder();
        java.io.InputStream in = p.getInputStream();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        byte[] buf = new byte[4096];
        boolean answered = false;
        while (System.nanoTime() < until) {
            int n = in.read(buf);
            if (n < 0) {
                break;
            }
            seen.append(new String(buf, 0, n, StandardCharsets.UTF_8));
            if (!answered && seen.indexOf("Password:") >= 0) {
                p.getOutputStream().write(answer.getBytes(StandardCharsets.UTF_8));
                p.getOutputStream().flush();
                answered = true;
            }
        }
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("the probe on a terminal did not end:\n" + seen);
        }
        return seen.toString();
    }

    static List<String> asUser(String user, List<String> command) {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=" + user, "--regid=" + user,
                "--init-groups", "--"));
        cmd.addAll(command);
        return cmd;
    }

    static int uid(String user) throws Exception {
        return Integer.parseInt(run(List.of("/usr/bin/id", "-u", user), 10).strip());
    }

    @Override
    public void close() throws IOException {
        Files.deleteIfExists(rulesFile);
        Files.deleteIfExists(policyFile);
        // Nothing is ever mounted here (no sandbox is opened through this fixture).
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** polkitd reloads actions and rules when files change; wait until it answers for both. */
    private void awaitPolkitSeesIt() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (exit(List.of("/usr/bin/pkaction", "--action-id", actionId)) != 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("polkitd did not load " + policyFile + " within 30 s");
            }
            Thread.sleep(100);
        }
        Process sleeper = new ProcessBuilder(asUser(OPERATOR, List.of("/bin/sleep", "60")))
                .redirectErrorStream(true).start();
        try {
            while (exit(List.of("/usr/bin/pkcheck", "--action-id", actionId, "--process",
                    Long.toString(sleeper.pid()))) != 0) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("polkitd did not load " + rulesFile + " within 30 s");
                }
                Thread.sleep(100);
            }
        } finally {
            sleeper.destroyForcibly();
            sleeper.waitFor();
        }
    }

    private static void ensureUser(String name) throws Exception {
        if (exit(List.of("/usr/bin/id", name)) == 0) {
            return;
        }
        // A run beside ours may create it at the same moment; only the outcome matters.
        exit(List.of("/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                "--user-group", name));
        if (exit(List.of("/usr/bin/id", name)) != 0) {
            throw new IllegalStateException("could not create the test account " + name);
        }
    }

    /** Whether a process has the same root directory as this one (not another chroot or overlay). */
    private static boolean sameRoot(long pid) {
        try {
            Object theirs = Files.getAttribute(Path.of("/proc", Long.toString(pid), "root/"), "unix:dev");
            Object theirIno = Files.getAttribute(Path.of("/proc", Long.toString(pid), "root/"), "unix:ino");
            return theirs.equals(Files.getAttribute(Path.of("/"), "unix:dev"))
                    && theirIno.equals(Files.getAttribute(Path.of("/"), "unix:ino"));
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static void ensureSystemBus() throws Exception {
        if (busAnswers()) {
            return;
        }
        Path pid = Path.of("/run/dbus/pid");
        if (Files.exists(pid)) {
            String p = Files.readString(pid).strip();
            if (p.matches("\\d+") && (!Files.exists(Path.of("/proc", p)) || !sameRoot(Long.parseLong(p)))) {
                // Left by a bus that is gone, or by one that runs under another root (the machine's, seen
                // from a test overlay) and so does not answer here; dbus-daemon refuses to start over it.
                Files.delete(pid);
            }
        }
        Files.createDirectories(Path.of("/run/dbus"));
        exit(List.of("/usr/bin/dbus-daemon", "--system", "--fork"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!busAnswers()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the system bus did not come up at " + BUS_SOCKET);
            }
            Thread.sleep(50);
        }
    }

    private static boolean busAnswers() {
        if (!Files.exists(BUS_SOCKET)) {
            return false;
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(BUS_SOCKET));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void ensurePolkitd() throws Exception {
        boolean running;
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            running = procs.filter(p -> p.getFileName().toString().matches("\\d+")).anyMatch(p -> {
                try {
                    return Files.readString(p.resolve("comm")).strip().equals("polkitd");
                } catch (IOException e) {
                    return false;
                }
            });
        }
        if (!running) {
            // setsid: polkitd outlives this test JVM (other runs may use it); it is left running.
            new ProcessBuilder("/usr/bin/setsid", POLKITD.toString(), "--no-debug")
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (exit(List.of("/usr/bin/pkaction", "--action-id", "org.freedesktop.policykit.exec")) != 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("polkitd does not answer on the system bus");
            }
            Thread.sleep(100);
        }
    }

    /** The repository root (surefire runs in the module directory). */
    static Path repo() {
        Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("packaging/install-engine.sh"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find the repository (packaging/install-engine.sh) above "
                    + System.getProperty("user.dir"));
        }
        return p;
    }

    /**
     * The engine's own class path entries from this test run: its classes or jar and its runtime
     * libraries, the jars the engine's build copies to engine/target/lib (Jackson, slf4j, JNA,
     * sqlite-jdbc, …), so a library the engine gains is installed without a change here.
     */
    static List<String> engineClassPath() throws IOException {
        Set<String> libraries = engineLibraries();
        List<String> out = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(":")) {
            Path p = Path.of(e);
            if (libraries.contains(p.getFileName().toString()) || containsEngine(p)) {
                out.add(e);
            }
        }
        return out;
    }

    /** File names of the engine's runtime libraries (engine/target/lib, made by its package phase). */
    static Set<String> engineLibraries() throws IOException {
        Path lib = repo().resolve("engine/target/lib");
        if (!Files.isDirectory(lib)) {
            throw new IllegalStateException(lib + " is missing: build the engine first (mvn -pl app -am verify, or"
                    + " script/test)");
        }
        try (Stream<Path> s = Files.list(lib)) {
            return s.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet());
        }
    }

    private static boolean containsEngine(Path p) throws IOException {
        if (Files.isDirectory(p)) {
            return Files.exists(p.resolve("org/saferebuild/engine/Main.class"));
        }
        if (p.getFileName().toString().endsWith(".jar") && Files.isRegularFile(p)) {
            try (java.util.jar.JarFile jar = new java.util.jar.JarFile(p.toFile())) {
                return jar.getEntry("org/saferebuild/engine/Main.class") != null;
            }
        }
        return false;
    }

    /** Copies what the probe needs (app, engine protocol, Jackson, slf4j) where the operator can read it. */
    private static String copyAppClassPath(Path target) throws Exception {
        Set<String> libraries = engineLibraries();
        List<String> cp = new ArrayList<>();
        int n = 0;
        for (String e : System.getProperty("java.class.path").split(":")) {
            Path p = Path.of(e);
            String name = p.getFileName().toString();
            boolean ours = p.toString().contains("/app/target/") || containsEngine(p);
            if (!(ours || libraries.contains(name)) || !Files.exists(p)) {
                continue;
            }
            Path dest = target.resolve((n++) + "-" + name);
            if (Files.isDirectory(p)) {
                try (Stream<Path> walk = Files.walk(p)) {
                    for (Path src : walk.toList()) {
                        Path d = dest.resolve(p.relativize(src).toString());
                        if (Files.isDirectory(src, LinkOption.NOFOLLOW_LINKS)) {
                            Files.createDirectories(d);
                        } else {
                            Files.copy(src, d, StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                }
            } else {
                Files.copy(p, dest);
            }
            cp.add(dest.toString());
        }
        run(List.of("/bin/chmod", "-R", "a+rX", target.toString()), 30);
        return String.join(":", cp);
    }

    static String run(List<String> cmd, int timeoutSeconds) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("timed out: " + cmd);
        }
        String s = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IllegalStateException(cmd + " exited " + p.exitValue() + ":\n" + s);
        }
        return s;
    }

    static int exit(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        p.getOutputStream().close();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }
}
