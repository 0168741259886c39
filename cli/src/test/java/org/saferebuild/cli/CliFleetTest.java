package org.saferebuild.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
 * One configuration, two machines (docs/remote.md, "Several machines"): built once here, copied to
 * each, and each with its own sign-off, apply and confirm-or-revert — deploy-rs's magic rollback
 * per host: confirmed only after a fresh ssh connection to it verifies. In parallel when both are
 * healthy; one after another, stopping at the first machine that fails, when one is not.
 */
@Tag("root")
@Tag("nix")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CliFleetTest {
    private static RemoteMachine one;
    private static RemoteMachine two;
    private static Path base;
    private static Path sshDir;
    private static Path sshConfig;
    private static Path buildSettings;
    private static Path cache;

    @BeforeAll
    static void machines() throws Exception {
        one = RemoteMachine.start("target1");
        two = RemoteMachine.start("target2");
        base = EngineHarness.privateBase();
        // Beside the machines' own ssh files, where nix's ssh finds it too (RemoteMachine.sshDirectory).
        sshDir = RemoteMachine.sshDirectory();
        sshConfig = sshDir.resolve("ssh_config");
        Files.writeString(sshConfig, Files.readString(one.sshConfig()) + Files.readString(two.sshConfig()));
        buildSettings = one.buildMachineSettings(base.resolve("build-machine"));
        cache = Files.createDirectory(base.resolve("cache"));
    }

    @AfterAll
    static void stop() throws Exception {
        for (RemoteMachine m : new RemoteMachine[] {one, two}) {
            if (m != null) {
                m.close();
            }
        }
        if (sshDir != null) {
            EngineHarness.removeTree(sshDir);
        }
        assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain("safe-rebuild-test-");
    }

    private static String[] fleet(String command, String... more) {
        List<String> a = new ArrayList<>(List.of(command));
        a.addAll(List.of(more));
        a.addAll(List.of("--target-host", "BearsiMac=target1", "--target-host", "BearsiMac=target2",
                "--engine-config", buildSettings.toString(), "--ssh-config", sshConfig.toString(),
                "--target-engine", one.engine(), "--target-engine-config", one.engineSettings(),
                "--maintenance-window", "--operator", "fleet-op", "--auto-confirm"));
        return a.toArray(String[]::new);
    }

    private static Map<String, String> paths() {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put(one.base().toString(), "/srv/target1");
        m.put(two.base().toString(), "/srv/target2");
        m.put(RemoteMachine.FLEET.toString(), "/srv/fleet");
        m.put(base.toString(), "/srv/build");
        return m;
    }

    private static String config(DemoSystem.Variant v) {
        return one.onHost(one.demo().configDir(v)).toString();
    }

    @Test
    @Order(1)
    void bothMachinesInParallelEachConfirmedAfterItVerifies() throws Exception {
        String[] args = fleet("switch", "--config-dir", config(DemoSystem.Variant.UPDATE), "--parallel", "2",
                "--confirm-within", "120");
        try (CliProcess p = CliProcess.piped(cache, args)) {
            int exit = p.exit(Duration.ofMinutes(8));
            p.save("fleet-parallel", "safe-rebuild " + String.join(" ", args), paths());
            assertThat(exit).as(p.output() + p.errors()).isEqualTo(Cli.OK);
            assertThat(p.output()).containsPattern("\\ntarget1 +confirmed: generation 2 kept")
                    .containsPattern("\\ntarget2 +confirmed: generation 2 kept");
        }
        String built = one.running();
        assertThat(built).isNotEqualTo(one.demo().generation1());
        assertThat(two.running()).isEqualTo(built);
        assertThat(one.storeHas(built)).isTrue();
        assertThat(two.storeHas(built)).isTrue();
        // Each machine's own trail has its own sign-off and confirmation.
        for (RemoteMachine m : List.of(one, two)) {
            assertThat(Files.readString(m.onHost(m.demo().auditLog()))).contains("\"operatorName\":\"fleet-op\"",
                    "\"what\":\"confirm\"");
        }
    }

    @Test
    @Order(2)
    void oneAfterAnotherTheFirstFailureStopsTheRest() throws Exception {
        String keptOne = one.running();
        String keptTwo = two.running();
        // target1's switch cannot take effect: its run directory is immutable, even for root.
        Path run = one.onHost(one.demo().currentSystem()).getParent();
        chattr("+i", run);
        try {
            String[] args = fleet("switch", "--config-dir", config(DemoSystem.Variant.KERNEL), "--confirm-within", "60");
            try (CliProcess p = CliProcess.piped(cache, args)) {
                int exit = p.exit(Duration.ofMinutes(8));
                p.save("fleet-first-fails", "safe-rebuild " + String.join(" ", args), paths());
                assertThat(exit).as(p.output() + p.errors()).isIn(Cli.FAILED, Cli.REVERTED);
                assertThat(p.output()).containsPattern("\\ntarget2 +not started: an earlier machine did not verify");
            }
        } finally {
            chattr("-i", run);
        }
        assertThat(one.running()).isEqualTo(keptOne);
        assertThat(two.running()).isEqualTo(keptTwo);
        assertThat(Files.readSymbolicLink(two.onHost(two.demo().systemProfile())).toString()).isEqualTo("system-2-link");
    }

    private static void chattr(String how, Path dir) throws Exception {
        Process p = new ProcessBuilder("/usr/bin/chattr", how, dir.toString()).inheritIO().start();
        assertThat(p.waitFor()).isZero();
    }
}
