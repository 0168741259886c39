package org.saferebuild.app.launch;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;

/**
 * Environment poisoning against the installed engine wrapper (docs/security.md "Hardening
 * tests"). Every variable is set to something that would leave a marker file if it took effect:
 * a -javaagent for the JVM's option variables, scripts for BASH_ENV and ENV, exported functions
 * that override the wrapper's umask and cd, xtrace with a PS4 command, libmemusage.so (glibc's,
 * it writes MEMUSAGE_OUTPUT) for LD_PRELOAD, fake java and env programs first on PATH. The engine
 * must start, answer the handshake, and run with exactly LANG and the operator's uid in its
 * environment and nothing of the poison mapped into it.
 */
@Tag("root")
class EnvironmentPoisoningTest {
    private static PolkitFixture polkit;
    private static Map<String, String> poison;
    private static Path evilLib;

    @BeforeAll
    static void setUp() throws Exception {
        polkit = PolkitFixture.start();
        Path m = polkit.markers;
        Path kit = Files.createDirectory(polkit.dir.resolve("poison"));
        Path agent = buildAgentJar(kit);
        Files.writeString(kit.resolve("startup.sh"), "/usr/bin/touch " + m.resolve("bash_env") + "\n");
        Files.writeString(kit.resolve("env-startup.sh"), "/usr/bin/touch " + m.resolve("env") + "\n");
        Path bin = Files.createDirectory(kit.resolve("bin"));
        for (String tool : List.of("java", "env", "bash")) {
            Path fake = bin.resolve(tool);
            Files.writeString(fake, "#!/bin/sh\n/usr/bin/touch " + m.resolve("path_" + tool) + "\n");
            fake.toFile().setExecutable(true, false);
        }
        evilLib = Files.createDirectory(kit.resolve("lib"));
        Files.copy(memusage(), evilLib.resolve("libz.so.1"));
        PolkitFixture.run(List.of("/bin/chmod", "-R", "a+rX", kit.toString()), 10);

        poison = new LinkedHashMap<>();
        poison.put("JAVA_TOOL_OPTIONS", "-javaagent:" + agent + "=" + m.resolve("java_tool_options"));
        poison.put("_JAVA_OPTIONS", "-javaagent:" + agent + "=" + m.resolve("_java_options"));
        poison.put("JDK_JAVA_OPTIONS", "-javaagent:" + agent + "=" + m.resolve("jdk_java_options"));
        poison.put("CLASSPATH", agent.toString());
        poison.put("BASH_ENV", kit.resolve("startup.sh").toString());
        poison.put("ENV", kit.resolve("env-startup.sh").toString());
        poison.put("BASH_FUNC_umask%%", "() { /usr/bin/touch " + m.resolve("function_umask") + "; }");
        poison.put("BASH_FUNC_cd%%", "() { /usr/bin/touch " + m.resolve("function_cd") + "; }");
        poison.put("SHELLOPTS", "xtrace");
        poison.put("PS4", "$(/usr/bin/touch " + m.resolve("ps4") + ")");
        poison.put("LD_PRELOAD", memusage().toString());
        poison.put("MEMUSAGE_OUTPUT", m.resolve("ld_preload").toString());
        poison.put("LD_LIBRARY_PATH", evilLib.toString());
        poison.put("GCONV_PATH", kit.toString());
        poison.put("GLIBC_TUNABLES", "glibc.malloc.check=3");
        poison.put("NIX_PATH", "nixpkgs=" + kit);
        poison.put("PATH", bin + ":/usr/bin:/bin");
        poison.put("PKEXEC_UID", "0; touch " + m.resolve("uid")); // not a number: must not pass
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (polkit != null) {
            polkit.close();
        }
    }

    @Test
    void throughPkexecNoPoisonedVariableTakesEffect() throws Exception {
        // The operator's own process (after setpriv) sets the poison and execs pkexec with it.
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/env", "-i"));
        poison.forEach((k, v) -> cmd.add(k + "=" + v));
        cmd.addAll(List.of("/usr/bin/pkexec", "--disable-internal-agent", polkit.engine.toString(), "--config",
                polkit.config.toString()));
        Started s = start(PolkitFixture.asUser(PolkitFixture.OPERATOR, cmd), Map.of());
        Event.Welcome w = s.handshake();
        assertThat(w.euid()).isZero();
        assertThat(w.launchedVia()).isEqualTo("pkexec");
        int operator = PolkitFixture.uid(PolkitFixture.OPERATOR);
        assertThat(w.operatorUid()).isEqualTo(operator);
        assertThat(environ(s.process.pid())).as("the engine's whole environment")
                .isEqualTo(Map.of("LANG", "C.UTF-8", "PKEXEC_UID", Integer.toString(operator)));
        assertThat(mappedFiles(s.process.pid())).as("files mapped into the engine")
                .noneMatch(this::notTheEnginesOwn);
        s.stop();
        assertThat(markers()).as("marker files left by poisoned variables").isEmpty();
    }

    /**
     * A poisoned variable's library, or anything from the test's directories, mapped into the
     * engine. The engine's own state directory (root's, 0700, checked at start) is where it unpacks
     * sqlite-jdbc's native library, and may be mapped.
     */
    private boolean notTheEnginesOwn(String file) {
        return file.contains("libmemusage")
                || (file.startsWith(polkit.dir.toString()) && !file.startsWith(polkit.stateDir + "/native/"));
    }

    @Test
    void runDirectlyByRootTheWrapperKeepsEveryVariableFromTheJvm() throws Exception {
        Map<String, String> env = new LinkedHashMap<>(poison);
        // Root's own LD_PRELOAD reaches the wrapper's interpreter before any line of it runs (and
        // libmemusage's profiling timer survives exec and kills the JVM): not a boundary, as the
        // caller is root already. pkexec and sudo drop it (the test above); here it is left out.
        env.remove("LD_PRELOAD");
        env.remove("MEMUSAGE_OUTPUT");
        env.put("SUDO_UID", "1234");
        Started s = start(List.of(polkit.engine.toString(), "--config", polkit.config.toString()), env);
        Event.Welcome w = s.handshake();
        assertThat(w.euid()).isZero();
        assertThat(w.launchedVia()).isEqualTo("sudo");
        assertThat(w.operatorUid()).isEqualTo(1234);
        assertThat(environ(s.process.pid())).as("the engine's whole environment")
                .isEqualTo(Map.of("LANG", "C.UTF-8", "SUDO_UID", "1234"));
        assertThat(mappedFiles(s.process.pid())).as("files mapped into the engine")
                .noneMatch(this::notTheEnginesOwn);
        s.stop();
        assertThat(markers()).as("marker files left by poisoned variables").isEmpty();
    }

    @Test
    void theWrapperPassesArgumentsVerbatimAndTheEngineRefusesUnknownOnes() throws Exception {
        Path marker = polkit.markers.resolve("argument");
        for (List<String> args : List.of(List.of("$(/usr/bin/touch " + marker + ")"), List.of("--config", "*"),
                List.of("--shell", ";", "/usr/bin/touch", marker.toString()), List.of("--config"))) {
            List<String> cmd = new ArrayList<>(List.of(polkit.engine.toString()));
            cmd.addAll(args);
            Process p = builder(cmd, Map.of()).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as("%s: %s", args, out).isEqualTo(64);
            assertThat(out).contains("Usage: safe-rebuild-engine [--config FILE]");
        }
        assertThat(marker).doesNotExist();
    }

    @Test
    void theMarkersWouldAppearIfAVariableTookEffect() throws Exception {
        // The poison is real: the same agent, scripts, functions and library leave their markers
        // when given to a plain java, bash and program.
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        clearMarkers();
        run(List.of(java.toString(), "-version"), Map.of("JAVA_TOOL_OPTIONS", poison.get("JAVA_TOOL_OPTIONS"),
                "JDK_JAVA_OPTIONS", poison.get("JDK_JAVA_OPTIONS")));
        run(List.of("/bin/bash", "-c", "umask 077; cd /"), Map.of("BASH_ENV", poison.get("BASH_ENV"),
                "BASH_FUNC_umask%%", poison.get("BASH_FUNC_umask%%"), "BASH_FUNC_cd%%", poison.get("BASH_FUNC_cd%%")));
        run(List.of("/bin/true"), Map.of("LD_PRELOAD", poison.get("LD_PRELOAD"),
                "MEMUSAGE_OUTPUT", poison.get("MEMUSAGE_OUTPUT")));
        run(List.of("env"), Map.of("PATH", poison.get("PATH")));
        assertThat(markers()).contains("java_tool_options", "jdk_java_options", "bash_env", "function_umask",
                "function_cd", "ld_preload", "path_env");
        clearMarkers();
    }

    private static void run(List<String> argv, Map<String, String> env) throws Exception {
        Process p = builder(argv, env).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    }

    // helpers

    private record Started(Process process, EngineConnection connection, Path log) {
        Event.Welcome handshake() throws Exception {
            try {
                return connection.handshake("poison-test", Duration.ofSeconds(30));
            } catch (Exception e) {
                process.waitFor(10, TimeUnit.SECONDS);
                throw new AssertionError("no handshake (exit " + (process.isAlive() ? "-" : process.exitValue())
                        + "); the engine's stderr:\n" + Files.readString(log), e);
            }
        }

        void stop() throws Exception {
            connection.close();
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("engine exits when its input closes").isTrue();
        }
    }

    private static Started start(List<String> argv, Map<String, String> env) throws IOException {
        clearMarkers();
        Path log = polkit.dir.resolve("engine-" + System.nanoTime() + ".log");
        Process p = builder(argv, env).redirectError(log.toFile()).start();
        return new Started(p, new EngineConnection(p.getInputStream(), p.getOutputStream()), log);
    }

    private static ProcessBuilder builder(List<String> argv, Map<String, String> env) {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/env", "-i"));
        env.forEach((k, v) -> cmd.add(k + "=" + v));
        cmd.addAll(argv);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.directory(polkit.markers.toFile()); // a directory anyone can write: the worst place to start in
        return pb;
    }

    private static Map<String, String> environ(long pid) throws IOException {
        Map<String, String> env = new TreeMap<>();
        String raw = new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ")), StandardCharsets.UTF_8);
        for (String kv : raw.split("\0")) {
            if (!kv.isEmpty()) {
                int eq = kv.indexOf('=');
                env.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return env;
    }

    private static List<String> mappedFiles(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc", Long.toString(pid), "maps")).stream()
                .map(l -> l.split("\\s+", 6)).filter(f -> f.length == 6).map(f -> f[5].strip()).distinct().toList();
    }

    private static List<String> markers() throws IOException {
        try (Stream<Path> s = Files.list(polkit.markers)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void clearMarkers() throws IOException {
        try (Stream<Path> s = Files.list(polkit.markers)) {
            for (Path p : s.toList()) {
                Files.delete(p);
            }
        }
    }

    /** glibc's memory profiler: preloaded, it creates the file MEMUSAGE_OUTPUT names. Part of libc6. */
    private static Path memusage() throws IOException {
        try (Stream<Path> dirs = Files.list(Path.of("/lib"))) {
            return dirs.map(d -> d.resolve("libmemusage.so")).filter(Files::exists).findFirst()
                    .orElseThrow(() -> new IOException("libmemusage.so (package libc6) not found under /lib/*/"));
        }
    }

    /** A -javaagent whose premain writes the file named by its argument. */
    private static Path buildAgentJar(Path dir) throws IOException {
        Path src = Files.createDirectories(dir.resolve("agent-src/poison"));
        Files.writeString(src.resolve("Agent.java"), """
                package poison;
                public final class Agent {
                    public static void premain(String marker) throws Exception {
                        java.nio.file.Files.writeString(java.nio.file.Path.of(marker), "an agent ran in pid "
                                + ProcessHandle.current().pid());
                    }
                }
                """);
        Path classes = Files.createDirectories(dir.resolve("agent-classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int rc = javac.run(null, null, null, "-d", classes.toString(), src.resolve("Agent.java").toString());
        if (rc != 0) {
            throw new IOException("could not compile the test agent");
        }
        Manifest mf = new Manifest();
        mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        mf.getMainAttributes().put(new Attributes.Name("Premain-Class"), "poison.Agent");
        Path jar = dir.resolve("agent.jar");
        try (OutputStream os = Files.newOutputStream(jar); JarOutputStream jos = new JarOutputStream(os, mf)) {
            jos.putNextEntry(new JarEntry("poison/Agent.class"));
            jos.write(Files.readAllBytes(classes.resolve("poison/Agent.class")));
            jos.closeEntry();
        }
        return jar;
    }
}
