package org.saferebuild.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.RemoteMachine;

/**
 * The command line rebuilding a second machine reached over ssh (docs/remote.md): this machine
 * builds in its sandbox, nix copy puts the closure into the target's own store, the target's
 * engine adopts it, diffs it against its running system, records the sign-off and applies it
 * with confirm-or-revert. One run is kept by typing "keep" on the terminal; in the other, sshd
 * ends the session while the CLI waits for the answer, and the target reverts by itself.
 */
@Tag("root")
@Tag("nix")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CliRemoteTest {
    private static RemoteMachine target;
    private static Path base;
    private static Path buildSettings;
    private static Path cache;

    @BeforeAll
    static void machines() throws Exception {
        target = RemoteMachine.start();
        base = EngineHarness.privateBase();
        buildSettings = target.buildMachineSettings(base.resolve("build-machine"));
        cache = Files.createDirectory(base.resolve("cache"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (target != null) {
            target.close();
        }
        assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain("safe-rebuild-test-");
    }

    private static String[] remote(String command, String... more) {
        List<String> a = new ArrayList<>(List.of(command));
        a.addAll(List.of(more));
        a.addAll(List.of("--engine-config", buildSettings.toString(), "--target-host", RemoteMachine.ALIAS,
                "--ssh-config", target.sshConfig().toString(), "--target-engine", target.engine(),
                "--target-engine-config", target.engineSettings()));
        return a.toArray(String[]::new);
    }

    private static String shown(String[] args) {
        return "safe-rebuild " + String.join(" ", args);
    }

    /** Long private test paths as a reader of the docs would have them. */
    static java.util.Map<String, String> paths() {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put(target.base().toString() + "/fleet", "/srv/fleet");
        m.put(target.base().toString(), "/srv/target1");
        m.put(RemoteMachine.FLEET.toString(), "/srv/fleet");
        m.put(base.toString(), "/srv/build");
        return m;
    }

    @Test
    @Order(1)
    void switchTheTargetOnATerminalAndKeepIt() throws Exception {
        DemoSystem demo = target.demo();
        String before = target.running();
        assertThat(before).isEqualTo(demo.generation1());
        String[] args = remote("switch", "--config-dir", target.onHost(demo.configDir(DemoSystem.Variant.UPDATE)).toString(),
                "--confirm-within", "120");
        try (CliProcess p = CliProcess.onTerminal(cache, args)) {
            p.await("Off-hours or maintenance window: is this a good time", Duration.ofMinutes(5)).type("y");
            p.await("Sign the checklist as [root]: ", Duration.ofMinutes(1)).type("Bear Ops");
            p.await("Keep generation 2?", Duration.ofMinutes(2));
            String applied = target.running();
            assertThat(applied).isNotEqualTo(before).contains("nixos-system-BearsiMac");
            // The closure really travelled: the target's own store has it (its /nix is private).
            assertThat(target.storeHas(applied)).isTrue();
            p.type("keep").await("stays", Duration.ofMinutes(1));
            assertThat(p.exit(Duration.ofSeconds(30))).isEqualTo(Cli.OK);
            assertThat(p.output()).contains("Copied and adopted " + applied,
                    "What changes: running system (generation 1) → built system", "START    svadhisthana-chakra.service",
                    "[x] Off-hours or maintenance window if possible — Confirmed by the operator on the terminal.",
                    "Signed off by Bear Ops", "generation 1 → 2", "Confirmed: generation 2");
            p.save("remote-switch-keep", shown(args), paths());
            // Kept: the deadline passes and nothing reverts.
            Thread.sleep(3_000);
            assertThat(target.running()).isEqualTo(applied);
        }
        // The target's audit trail names what came over ssh: the adoption, the sign-off, the apply.
        String audit = Files.readString(target.onHost(demo.auditLog()));
        assertThat(audit).contains("\"what\":\"system.adopt\"", "\"operatorName\":\"Bear Ops\"", "\"via\":\"ssh\"");

        String[] gens = remote("generations");
        try (CliProcess g = CliProcess.piped(cache, gens)) {
            assertThat(g.exit(Duration.ofMinutes(1))).isEqualTo(Cli.OK);
            assertThat(g.output()).containsPattern("\\n\\s+2 .*current running");
            g.save("remote-generations", shown(gens), paths());
        }
    }

    @Test
    @Order(2)
    void whenSshdEndsTheSessionTheTargetRevertsByItself() throws Exception {
        DemoSystem demo = target.demo();
        String before = target.running();
        String[] args = remote("switch", "--config-dir", target.onHost(demo.configDir(DemoSystem.Variant.KERNEL)).toString(),
                "--confirm-within", "20", "--maintenance-window", "--operator", "Bear Ops");
        try (CliProcess p = CliProcess.onTerminal(cache, args)) {
            p.await("Keep generation 3?", Duration.ofMinutes(5));
            String applied = target.running();
            assertThat(applied).isNotEqualTo(before);
            assertThat(target.killSessions()).isGreaterThan(0);
            p.await("ended while it awaited confirmation", Duration.ofMinutes(1));
            assertThat(p.exit(Duration.ofSeconds(30))).isEqualTo(Cli.FAILED);
            assertThat(p.output()).contains("Reboot: Reboot after switching", "unless someone confirms",
                    "safe-rebuild confirm --target-host " + RemoteMachine.ALIAS);
            p.save("remote-switch-cut", shown(args), paths());
        }
        // Nobody confirmed: the target's engine, alone now, puts generation 2 back at the deadline.
        target.awaitRunning(before, Duration.ofSeconds(90));
        assertThat(Files.exists(target.onHost(demo.systemProfile().resolveSibling("system-3-link")))).isFalse();
        assertThat(Files.readSymbolicLink(target.onHost(demo.systemProfile())).toString()).isEqualTo("system-2-link");

        String[] status = remote("status");
        try (CliProcess s = CliProcess.piped(cache, status)) {
            assertThat(s.exit(Duration.ofMinutes(1))).isEqualTo(Cli.OK);
            assertThat(s.output()).doesNotContain("reverts to generation");
            s.save("remote-status-after-cut", shown(status), paths());
        }
        String audit = Files.readString(target.onHost(demo.auditLog()));
        assertThat(audit).contains("\"what\":\"revert\"");
    }

    @Test
    @Order(3)
    void aTargetThatCannotBeReachedOrHasNoEngineSaysWhatToDo() throws Exception {
        // A key the target does not accept: ssh refuses at once (BatchMode), nothing is asked.
        Path noKey = base.resolve("ssh_config_without_key");
        Files.writeString(noKey, Files.readString(target.sshConfig()).replaceAll("(?m)^\\s*IdentityFile .*$",
                "  IdentityFile " + base.resolve("no-such-key")));
        String[] refused = {"status", "--target-host", RemoteMachine.ALIAS, "--ssh-config", noKey.toString(),
                "--target-engine", target.engine(), "--target-engine-config", target.engineSettings()};
        try (CliProcess p = CliProcess.piped(cache, refused)) {
            assertThat(p.exit(Duration.ofMinutes(1))).isEqualTo(Cli.NO_ENGINE);
            assertThat(p.errors()).contains("ssh could not reach target1", "Permission denied",
                    "what to do: Give ssh a key the target accepts");
            p.save("remote-no-key", shown(refused), paths());
        }
        String[] noEngine = remote("status");
        for (int i = 0; i < noEngine.length; i++) {
            if (noEngine[i].equals("--target-engine")) {
                noEngine[i + 1] = "/run/current-system/sw/bin/safe-rebuild-engine";
            }
        }
        try (CliProcess p = CliProcess.piped(cache, noEngine)) {
            assertThat(p.exit(Duration.ofMinutes(1))).isEqualTo(Cli.NO_ENGINE);
            assertThat(p.errors()).contains("has no engine at the path given",
                    "programs.safe-rebuild.enable = true");
            p.save("remote-no-engine", shown(noEngine), paths());
        }
        // Words the target's shell would interpret never reach ssh.
        String[] unsafe = remote("status");
        for (int i = 0; i < unsafe.length; i++) {
            if (unsafe[i].equals("--target-engine")) {
                unsafe[i + 1] = "/usr/bin/safe-rebuild-engine;touch /tmp/pwned";
            }
        }
        try (CliProcess p = CliProcess.piped(cache, unsafe)) {
            assertThat(p.exit(Duration.ofMinutes(1))).isEqualTo(Cli.USAGE);
            assertThat(p.errors()).contains("is not a path on the target this can pass to ssh");
        }
        try (CliProcess p = CliProcess.piped(cache, "status", "--target-host", "-oProxyCommand=touch /tmp/pwned")) {
            assertThat(p.exit(Duration.ofMinutes(1))).isEqualTo(Cli.USAGE);
            assertThat(p.errors()).contains("is not a target host ssh can take");
        }
        assertThat(Path.of("/tmp/pwned")).doesNotExist();
    }
}
