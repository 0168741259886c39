package org.saferebuild.engine.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.Request;

/**
 * The engine's own guard (issue 6), on the real engine process started without its wrapper: a
 * dangerous variable or an unknown argument stops it before it touches anything; PATH and
 * NIX_PATH are ignored.
 */
@Tag("root")
class StartGuardTest {

    static Stream<Arguments> dangerousVariables() {
        return Stream.of(
                Arguments.of("JAVA_TOOL_OPTIONS", "-Dsafe.rebuild.poison=1"),
                Arguments.of("_JAVA_OPTIONS", "-Dsafe.rebuild.poison=1"),
                Arguments.of("JDK_JAVA_OPTIONS", "-Dsafe.rebuild.poison=1"),
                Arguments.of("CLASSPATH", "/nonexistent"),
                Arguments.of("LD_PRELOAD", ""),
                Arguments.of("LD_LIBRARY_PATH", "/nonexistent"),
                Arguments.of("LD_AUDIT", ""),
                Arguments.of("GCONV_PATH", "/nonexistent"),
                Arguments.of("LOCPATH", "/nonexistent"),
                Arguments.of("GLIBC_TUNABLES", "glibc.malloc.perturb=0"),
                Arguments.of("MALLOC_TRACE", "/nonexistent/trace"),
                Arguments.of("BASH_ENV", "/nonexistent"),
                Arguments.of("ENV", "/nonexistent"),
                Arguments.of("SHELLOPTS", "xtrace"),
                Arguments.of("PS4", "$(id)"),
                Arguments.of("BASH_FUNC_umask%%", "() { :; }"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dangerousVariables")
    void aDangerousVariableStopsTheEngineBeforeItActs(String name, String value) throws Exception {
        Path base = EngineHarness.privateBase();
        Path state = base.resolve("state");
        Path cfg = base.resolve("engine.json");
        Files.writeString(cfg, "{\"stateDir\":\"" + state + "\",\"auditLog\":\"" + base.resolve("audit/a.jsonl")
                + "\",\"plans\":[\"debian-test\"]}");
        Result r = run(EngineHarness.engineCommand(cfg), Map.of(name, value));
        assertThat(r.exit).as(r.output).isEqualTo(65);
        assertThat(r.output).contains("refusing to run").contains(name)
                .contains("Start the engine through its installed wrapper");
        assertThat(state).as("the engine did nothing: no state directory").doesNotExist();
    }

    static Stream<Arguments> badArguments() {
        return Stream.of(
                Arguments.of(List.of("--shell"), "unknown argument \"--shell\""),
                Arguments.of(List.of("-c", "id"), "unknown argument \"-c\""),
                Arguments.of(List.of("--config"), "unknown argument \"--config\""),
                Arguments.of(List.of("--config=/etc/safe-rebuild/engine.json"), "unknown argument \"--config=/etc"),
                Arguments.of(List.of("--config", "engine.json"), "--config needs an absolute path"),
                Arguments.of(List.of("--config", "/a.json", "--config", "/b.json"), "unknown argument \"--config\""),
                Arguments.of(List.of("--version", "--shell"), "unknown argument \"--version\""),
                Arguments.of(List.of(""), "unknown argument \"\""));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badArguments")
    void unknownArgumentsAreRefusedWithTheUsage(List<String> args, String says) throws Exception {
        List<String> cmd = new ArrayList<>(EngineHarness.engineCommand(null));
        cmd.addAll(args);
        Result r = run(cmd, Map.of());
        assertThat(r.exit).as(r.output).isEqualTo(64);
        assertThat(r.output).contains(says).contains("Usage: safe-rebuild-engine [--config FILE]");
    }

    @Test
    void pathAndNixPathFromTheCallerAreIgnored() throws Exception {
        Path base = EngineHarness.privateBase();
        Path bin = Files.createDirectories(base.resolve("evil-bin"));
        Path marker = base.resolve("marker");
        for (String tool : List.of("unshare", "nix", "nix-instantiate", "nsenter", "mount", "true", "cat")) {
            Path fake = bin.resolve(tool);
            Files.writeString(fake, "#!/bin/sh\necho \"$0\" >> " + marker + "\n");
            fake.toFile().setExecutable(true);
        }
        Path config = Files.createDirectories(base.resolve("config"));
        Files.writeString(config.resolve("configuration.nix"), "{ }\n");
        try (EngineHarness engine = EngineHarness.builder().base(base)
                .set("configDirs", List.of(config.toString()))
                .env("PATH", bin.toString())
                .env("NIX_PATH", "nixpkgs=" + bin)
                .start()) {
            engine.handshake();
            PreflightReport report = engine.call(id -> new Request.Preflight(id, config.toString()),
                    PreflightReport.class);
            assertThat(report.tools()).isNotEmpty().allSatisfy(t -> {
                if (t.path() != null) {
                    assertThat(t.path()).doesNotStartWith(bin.toString());
                }
                assertThat(t.searched()).noneMatch(s -> s.startsWith(bin.toString()));
            });
            assertThat(report.namespaces().unshareWorks()).isTrue();
        }
        assertThat(marker).as("no fake tool from PATH ran").doesNotExist();
    }

    private record Result(int exit, String output) {
    }

    private static Result run(List<String> cmd, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }
}
