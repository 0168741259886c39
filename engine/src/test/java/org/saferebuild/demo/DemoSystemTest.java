package org.saferebuild.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.saferebuild.demo.DemoSystem.Variant;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.Json;

/**
 * The demo system's contract (BRIEF.md, "The demo system"), with real nix: one installation in a
 * private directory, its variants built on the host, and its switch-to-configuration run.
 */
@Tag("root")
@Tag("nix")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DemoSystemTest {
    private static DemoSystem demo;
    private static String update;

    @BeforeAll
    static void install() throws IOException {
        demo = DemoSystem.install(EngineHarness.privateBase().resolve("demo"));
        update = demo.buildOnHost(Variant.UPDATE);
    }

    @Test
    @Order(1)
    void theInstallationHasTheContractsLayoutAndTrustedSettings() throws Exception {
        Path root = demo.root();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root))).isEqualTo("rwx------");
        EngineConfig cfg = EngineConfig.load(demo.settingsFile()); // refuses untrusted files
        assertThat(cfg.configDirs()).containsExactlyElementsOf(
                Stream.of(Variant.values()).map(v -> root.resolve("configs/" + v.dirName()).toString()).toList());
        assertThat(cfg.defaultConfigDir()).endsWith("/configs/BearsiMac");
        assertThat(cfg.plans()).containsExactly("debian-test");
        assertThat(cfg.stateDir()).isEqualTo(root.resolve("state").toString());
        assertThat(cfg.systemProfile()).isEqualTo(root.resolve("profiles/system").toString());
        assertThat(cfg.currentSystem()).isEqualTo(root.resolve("run/current-system").toString());
        assertThat(cfg.bootedSystem()).isEqualTo(root.resolve("run/booted-system").toString());
        assertThat(cfg.auditLog()).isEqualTo(root.resolve("log/safe-rebuild/audit.jsonl").toString());
        assertThat(cfg.watchedLogs()).containsExactly(root.resolve("log/iNixos-Hive/*.log").toString());
        assertThat(cfg.nixPath().get("nixpkgs")).matches("/nix/store/[0-9a-z]{32}-nixpkgs-23.11-demo");
        assertThat(cfg.minFreeBytes()).isLessThan(1024L * 1024 * 1024);

        for (Variant v : Variant.values()) {
            Path dir = demo.configDir(v);
            assertThat(dir.resolve(v.flake() ? "flake.nix" : "configuration.nix")).isRegularFile();
            if (v.flake()) {
                // The demo root is baked in, so each installation is self-contained.
                assertThat(Files.readString(dir.resolve("mini-nixos/site.nix"))).contains("\"" + root + "\"");
            } else {
                assertThat(dir.resolve("flake.nix")).doesNotExist();
            }
        }
        assertThat(Files.readString(demo.activationsLog())).isEmpty();
        assertThat(demo.watchedLogDir().resolve("chakra-muladhara.log")).isRegularFile();
        assertThat(demo.buildRoots()).isDirectory();
        assertThat(demo.pinnedRoots()).isDirectory();
        assertThat(DemoSystem.open(root).generation1()).isEqualTo(demo.generation1());
    }

    @Test
    @Order(2)
    void generationOneIsTheBaseSystemInTheProfileAndRunsAndIsBooted() throws Exception {
        String gen1 = demo.generation1();
        assertThat(gen1).matches("/nix/store/[0-9a-z]{32}-nixos-system-BearsiMac-23\\.11\\.\\d{8}\\.[0-9a-f]{7}");
        assertThat(Files.readSymbolicLink(demo.systemProfile()).toString()).isEqualTo("system-1-link");
        assertThat(Files.readSymbolicLink(demo.systemProfile().resolveSibling("system-1-link")).toString())
                .isEqualTo(gen1);
        assertThat(Files.readSymbolicLink(demo.currentSystem()).toString()).isEqualTo(gen1);
        assertThat(Files.readSymbolicLink(demo.bootedSystem()).toString()).isEqualTo(gen1);
        assertThat(Files.readSymbolicLink(demo.bootDefault()).toString()).isEqualTo(gen1);
        // nix-env lists it as generation 1 of the demo's own profile, not the machine's.
        Exec.Outcome gens = Exec.run(Command.of("/usr/bin/nix-env", "-p", demo.systemProfile().toString(),
                "--list-generations").env("HOME", demo.root().resolve("demo-state/home").toString()).build());
        assertThat(gens.stdout().strip()).matches("1\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+\\(current\\)");
        // The classic variant is the same configuration, so it is the same system.
        assertThat(demo.buildOnHost(Variant.CLASSIC)).isEqualTo(gen1);
    }

    @Test
    @Order(3)
    void theToplevelHasTheNixosShapeWithEtcAndUnitsLinkedIntoOtherStorePaths() throws Exception {
        Path top = Path.of(demo.generation1());
        Path etc = Files.readSymbolicLink(top.resolve("etc"));
        assertThat(etc.toString()).matches("/nix/store/[0-9a-z]{32}-etc/etc");
        Path units = top.resolve("etc/systemd/system");
        assertThat(Files.isSymbolicLink(units)).isTrue();
        assertThat(Files.readSymbolicLink(units).toString()).matches("/nix/store/[0-9a-z]{32}-system-units");
        assertThat(names(units)).contains("muladhara-chakra.service", "field-translator.service",
                "display-manager.service", "dbus.service", "NetworkManager.service", "sshd.service",
                "polkit.service", "field-beacon.service", "field-chakra-audit.timer", "multi-user.target",
                "multi-user.target.wants", "graphical.target.wants", "timers.target.wants");
        assertThat(Files.readSymbolicLink(units.resolve("field-translator.service")).toString())
                .matches("/nix/store/[0-9a-z]{32}-unit-field-translator.service/field-translator.service");
        assertThat(Files.readSymbolicLink(units.resolve("multi-user.target.wants/muladhara-chakra.service")))
                .hasToString("../muladhara-chakra.service");
        assertThat(units.resolve("graphical.target.wants/display-manager.service")).exists();
        assertThat(Files.readString(units.resolve("muladhara-chakra.service")))
                .contains("ExecStart=/nix/store/").contains("-chakra-tools-0.9.1/bin/chakra-daemon --chakra muladhara");
        assertThat(Files.readString(units.resolve("display-manager.service"))).contains("X-RestartIfChanged=false");

        // etc entries are links to store files (grep -r would not follow them), one is a copy.
        Path chakra = top.resolve("etc/field/chakra.toml");
        assertThat(Files.isSymbolicLink(chakra)).isTrue();
        assertThat(Files.readAllLines(chakra).get(1)).isEqualTo("[field.chakra]");
        Path translator = top.resolve("etc/iNixos-Hive/translator.conf");
        assertThat(Files.isSymbolicLink(translator)).isFalse();
        assertThat(Files.readString(translator)).contains("source = \"field.chakra\"");

        assertThat(Files.readString(top.resolve("nixos-version"))).isEqualTo("23.11.20240115.b8dd8be");
        assertThat(Files.readSymbolicLink(top.resolve("kernel")).toString())
                .matches("/nix/store/[0-9a-z]{32}-linux-6\\.1\\.69/bzImage");
        assertThat(Files.readSymbolicLink(top.resolve("initrd")).toString())
                .matches("/nix/store/[0-9a-z]{32}-initrd-linux-6\\.1\\.69/initrd");
        assertThat(Files.readSymbolicLink(top.resolve("kernel-modules")).toString())
                .matches("/nix/store/[0-9a-z]{32}-linux-6\\.1\\.69-modules");
        assertThat(top.resolve("kernel-modules/lib/modules/6.1.69/modules.dep")).isRegularFile();
        assertThat(Files.readSymbolicLink(top.resolve("sw")).toString()).matches("/nix/store/[0-9a-z]{32}-system-path");
        assertThat(names(top.resolve("sw/bin"))).contains("firefox", "nano", "htop", "chakra-daemon", "field-translator");
        assertThat(Files.readSymbolicLink(top.resolve("sw/bin/firefox")).toString())
                .matches("/nix/store/[0-9a-z]{32}-firefox-120\\.0\\.1/bin/firefox");
        assertThat(Files.isExecutable(top.resolve("bin/switch-to-configuration"))).isTrue();
    }

    @Test
    @Order(4)
    void theClosureHasPackagesWithNamesAndVersions() throws Exception {
        List<String> closure = Exec.run(Command.of("/usr/bin/nix-store", "-qR", demo.generation1())
                .env("HOME", "/tmp").build()).stdout().lines().map(p -> p.substring(44)).toList();
        assertThat(closure).contains("firefox-120.0.1", "glibc-2.38-27", "bash-5.2p21", "systemd-254.6",
                "dbus-1.14.10", "nano-7.2", "field-translator-1.4.2", "chakra-tools-0.9.1", "libchakra-2.1.0",
                "linux-6.1.69", "linux-6.1.69-modules", "initrd-linux-6.1.69", "system-path", "system-units", "etc");
        assertThat(closure.size()).isBetween(40, 60);
    }

    @Test
    @Order(5)
    void variantsBuildOrFailAsDescribed() throws Exception {
        String kernel = demo.buildOnHost(Variant.KERNEL);
        assertThat(Files.readSymbolicLink(Path.of(kernel, "kernel")).toString()).contains("-linux-6.6.8/bzImage");
        assertThat(Files.readString(Path.of(update, "etc/field/chakra.toml"))).contains("\"svadhisthana\"");
        assertThat(Path.of(update, "etc/systemd/system/field-beacon.service")).doesNotExist();
        assertThat(Files.readSymbolicLink(Path.of(update, "sw/bin/firefox")).toString()).contains("-firefox-121.0/");
        assertThat(Path.of(update, "sw/bin/nano")).doesNotExist();
        assertThat(Path.of(update, "sw/bin/rg")).exists();

        assertThatThrownBy(() -> demo.buildOnHost(Variant.EVAL_ERROR))
                .hasMessageContaining("undefined variable 'chakraFrequency'")
                .hasMessageMatching("(?s).*at /nix/store/[0-9a-z]{32}-source/modules/chakra-tuning\\.nix:13:14:.*");
        assertThatThrownBy(() -> demo.buildOnHost(Variant.BUILD_FAIL))
                .hasMessageMatching("(?s).*builder for '/nix/store/[0-9a-z]{32}-field-translator-1\\.5\\.0-rc1\\.drv'"
                        + " failed with exit code 1.*")
                .hasMessageContaining("Hunk #1 FAILED at 142.");
        assertThatThrownBy(() -> demo.buildOnHost(Variant.NEEDS_NETWORK))
                .hasMessageContaining("unable to download"
                        + " 'https://releases.field-chakra.invalid/firmware/field-firmware-2.0.1.tar.gz'");
    }

    @Test
    @Order(6)
    void dryActivatePrintsWhatTheRealScriptWouldAndChangesNothing() throws Exception {
        Exec.Outcome o = stc(update, "dry-activate");
        assertThat(o.exitCode()).isZero();
        assertThat(o.stderrTail()).containsExactly(
                "would stop the following units: field-beacon.service",
                "would activate the configuration...",
                "would reload the following units: dbus.service",
                "would restart the following units: field-translator.service",
                "would start the following units: svadhisthana-chakra.service");
        assertThat(Files.readSymbolicLink(demo.currentSystem()).toString()).isEqualTo(demo.generation1());
        JsonNode call = lastActivation();
        assertThat(call.path("action").asText()).isEqualTo("dry-activate");
        assertThat(call.path("system").asText()).isEqualTo(update);
        assertThat(Instant.parse(call.path("time").asText())).isAfter(Instant.now().minus(Duration.ofMinutes(1)));
        assertThat(fieldNames(call)).containsExactlyInAnyOrder("action", "system", "time");
    }

    @Test
    @Order(7)
    void bootTestAndSwitchMoveTheLinksTheyShould() throws Exception {
        String gen1 = demo.generation1();
        assertThat(stc(update, "boot").exitCode()).isZero();
        assertThat(Files.readSymbolicLink(demo.bootDefault()).toString()).isEqualTo(update);
        assertThat(Files.readSymbolicLink(demo.currentSystem()).toString()).isEqualTo(gen1);

        Exec.Outcome test = stc(gen1, "test"); // back to generation 1 now, without touching the boot default
        assertThat(test.exitCode()).isZero();
        assertThat(Files.readSymbolicLink(demo.currentSystem()).toString()).isEqualTo(gen1);
        assertThat(Files.readSymbolicLink(demo.bootDefault()).toString()).isEqualTo(update);

        long before = Files.readAllLines(demo.watchedLogDir().resolve("translator.log")).size();
        Exec.Outcome sw = stc(update, "switch");
        assertThat(sw.exitCode()).isZero();
        assertThat(sw.stderrTail()).contains("stopping the following units: field-beacon.service",
                "activating the configuration...", "restarting the following units: field-translator.service",
                "starting the following units: svadhisthana-chakra.service");
        assertThat(Files.readSymbolicLink(demo.currentSystem()).toString()).isEqualTo(update);
        assertThat(Files.readSymbolicLink(demo.bootDefault()).toString()).isEqualTo(update);
        assertThat(Files.readSymbolicLink(demo.bootedSystem()).toString()).isEqualTo(gen1);
        assertThat(Files.readAllLines(demo.watchedLogDir().resolve("translator.log"))).hasSize((int) before + 1)
                .last().asString().contains("FIELD Chakra Ecosystem: field-translator.service active");
        assertThat(Files.readString(demo.watchedLogDir().resolve("chakra-svadhisthana.log")))
                .contains("FIELD Chakra Ecosystem: svadhisthana-chakra.service active");

        List<String> actions = Files.readAllLines(demo.activationsLog()).stream()
                .map(l -> read(l).path("action").asText()).toList();
        assertThat(actions).endsWith("boot", "test", "switch");

        // Back where the other tests expect it.
        assertThat(stc(gen1, "switch").exitCode()).isZero();
        assertThat(Files.readSymbolicLink(demo.currentSystem()).toString()).isEqualTo(gen1);
    }

    @Test
    @Order(8)
    void activationFailExitsNonZeroWithAPlausibleErrorAfterActivating() throws Exception {
        String failing = demo.buildOnHost(Variant.ACTIVATION_FAIL);
        assertThat(stc(failing, "dry-activate").exitCode()).isZero();
        Exec.Outcome o = stc(failing, "switch");
        assertThat(o.exitCode()).isEqualTo(4);
        assertThat(o.stderr()).contains("warning: the following units failed: field-translator.service")
                .contains("× field-translator.service - FIELD translator (chakra field bridge)")
                .contains("error: invalid listen address \"[::1]:70000\": port 70000 is out of range")
                .contains("warning: error(s) occurred while switching to the new configuration");
        // As on NixOS: the activation happened, the unit failed afterwards.
        assertThat(Files.readSymbolicLink(demo.currentSystem()).toString()).isEqualTo(failing);
        assertThat(Files.readAllLines(demo.watchedLogDir().resolve("translator.log"))).last().asString()
                .contains("FIELD Chakra Ecosystem: field-translator.service failed");
        assertThat(lastActivation().path("action").asText()).isEqualTo("switch");
        assertThat(stc(demo.generation1(), "switch").exitCode()).isZero();
    }

    @Test
    @Order(9)
    void anUnknownActionPrintsTheUsageAndExitsOne() throws Exception {
        Exec.Outcome o = stc(demo.generation1(), "rollback");
        assertThat(o.exitCode()).isEqualTo(1);
        assertThat(o.stderr()).contains("Usage: ").contains("dry-activate: show what would be done");
    }

    @Test
    void installRefusesANonEmptyDirectoryAndARelativeOne() throws Exception {
        assertThatThrownBy(() -> DemoSystem.install(demo.root())).hasMessageContaining("is not empty");
        assertThatThrownBy(() -> DemoSystem.install(Path.of("relative/demo")))
                .hasMessageContaining("must be an absolute");
        // Its units go into a machine's systemd only on the systemd test machine; here none runs.
        Path elsewhere = demo.root().resolveSibling("demo-systemd");
        assertThatThrownBy(() -> DemoSystem.install(elsewhere, DemoSystem.Services.SYSTEMD))
                .hasMessageContaining("needs a machine where systemd runs").hasMessageContaining("without --systemd");
        assertThat(elsewhere).doesNotExist();
    }

    @Test
    void theFixtureIndexListsExactlyTheFixtureFiles() throws Exception {
        Path dir = Path.of(DemoSystem.class.getResource("/org/saferebuild/demo/index.txt").toURI()).getParent();
        List<String> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                    .map(p -> dir.relativize(p).toString())
                    .filter(n -> !n.equals("index.txt") && !n.endsWith(".class")).sorted().toList();
        }
        assertThat(DemoSystem.resources()).containsExactlyElementsOf(files);
    }

    private static Exec.Outcome stc(String system, String action) throws IOException {
        // The engine runs it with a cleared environment; so does this.
        return Exec.run(Command.of(system + "/bin/switch-to-configuration", action).env(Map.of()).build());
    }

    private static JsonNode lastActivation() throws IOException {
        List<String> lines = Files.readAllLines(demo.activationsLog());
        return read(lines.get(lines.size() - 1));
    }

    private static JsonNode read(String line) {
        try {
            return Json.mapper().readTree(line);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + line, e);
        }
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> out = new java.util.ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
