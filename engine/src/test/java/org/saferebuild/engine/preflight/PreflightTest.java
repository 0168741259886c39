package org.saferebuild.engine.preflight;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.PreflightReport.Check;
import org.saferebuild.protocol.PreflightReport.ConfigKind;
import org.saferebuild.protocol.PreflightReport.Status;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.SandboxRequest;

/** Preflight against the real engine, real tools and real nix. */
@Tag("root")
@Tag("nix")
class PreflightTest {

    private static Path flake(Path base) throws Exception {
        Path dir = Files.createDirectories(base.resolve("flake"));
        // Hosts are listed by evaluating only the attribute names: the broken host is never forced.
        Files.writeString(dir.resolve("flake.nix"), """
                {
                  outputs = { self }: {
                    nixosConfigurations.BearsiMac = { config.system.build.toplevel = "unused"; };
                    nixosConfigurations.spare-box = throw "evaluating a host's value is not needed to list it";
                  };
                }
                """);
        return dir;
    }

    @Test
    void reportsRootToolsNamespacesNixSpaceAndTheFlakesHosts() throws Exception {
        Path base = EngineHarness.privateBase();
        Path dir = flake(base);
        try (EngineHarness engine = EngineHarness.builder().base(base).set("configDirs", List.of(dir.toString()))
                .start()) {
            engine.handshake();
            PreflightReport r = engine.call(id -> new Request.Preflight(id, null), PreflightReport.class);

            assertThat(r.euid()).isZero();
            assertThat(r.namespaces().unshareWorks()).isTrue();
            assertThat(r.namespaces().available()).contains("mnt", "pid", "net");
            // This kernel is mainline: the Debian/Ubuntu sysctl does not exist, and that is reported as such.
            assertThat(r.namespaces().unprivilegedUsernsClone())
                    .isEqualTo(Files.exists(Path.of("/proc/sys/kernel/unprivileged_userns_clone"))
                            ? Integer.valueOf(Files.readString(Path.of("/proc/sys/kernel/unprivileged_userns_clone")).strip())
                            : null);
            assertThat(r.tools()).filteredOn(t -> List.of("unshare", "nsenter", "chroot", "mount", "nix")
                    .contains(t.name())).allSatisfy(t -> {
                        assertThat(t.path()).startsWith("/");
                        assertThat(Path.of(t.path())).isExecutable();
                    });
            assertThat(r.tools()).filteredOn(t -> t.name().equals("nix")).singleElement()
                    .satisfies(t -> assertThat(t.searched()).startsWith("/run/current-system/sw/bin/nix"));
            assertThat(r.nixVersion()).contains("2.");
            assertThat(r.disks()).extracting(PreflightReport.Disk::label).containsExactly("Nix store", "work directory");
            assertThat(r.disks()).allSatisfy(d -> assertThat(d.freeBytes()).isPositive().isLessThanOrEqualTo(d.totalBytes()));
            assertThat(r.config().kind()).isEqualTo(ConfigKind.FLAKE);
            assertThat(r.config().hosts()).containsExactly("BearsiMac", "spare-box");
            assertThat(r.checks()).extracting(Check::name)
                    .contains("root", "tools", "namespaces", "nix", "space:Nix store", "space:work directory",
                            "/run/systemd", "configuration");
            assertThat(r.ready()).as("checks: %s", r.checks()).isTrue();
            assertThat(engine.events()).anySatisfy(e -> assertThat(e).isInstanceOf(Event.Progress.class));
        }
    }

    @Test
    void buildUsersThatNixCannotFindAreAFailingCheckWithTheInstallersFix() throws Exception {
        Path base = EngineHarness.privateBase();
        Path dir = flake(base);
        try (EngineHarness engine = EngineHarness.builder().base(base).set("configDirs", List.of(dir.toString()))
                .set("nixOptions", java.util.Map.of("build-users-group", "nobuilders")).start()) {
            engine.handshake();
            PreflightReport r = engine.call(id -> new Request.Preflight(id, null), PreflightReport.class);
            Check users = check(r, "nix build users");
            assertThat(users.status()).isEqualTo(Status.FAIL);
            assertThat(users.message()).isEqualTo("the group 'nobuilders' specified in 'build-users-group' does not"
                    + " exist: every build would fail.");
            assertThat(users.fix()).contains("groupadd --system nixbld").contains("useradd --system");
            assertThat(r.ready()).isFalse();
        }
        // With the machine's own set-up (script/test made the build users, as Nix's installer does).
        try (EngineHarness engine = EngineHarness.builder().base(EngineHarness.privateBase())
                .set("configDirs", List.of(dir.toString()))
                .set("nixOptions", java.util.Map.of("sandbox", "false")).start()) {
            engine.handshake();
            PreflightReport r = engine.call(id -> new Request.Preflight(id, null), PreflightReport.class);
            assertThat(check(r, "nix build users").message()).isEqualTo("Builds run as the 32 build users of the"
                    + " group nixbld.");
            assertThat(check(r, "nix store").status()).isEqualTo(Status.PASS);
            Check conf = check(r, "nix configuration");
            if (Files.isRegularFile(Path.of("/etc/nix/nix.conf"))) {
                assertThat(conf.status()).isEqualTo(Status.PASS);
            } else {
                assertThat(conf.status()).isEqualTo(Status.WARN);
                assertThat(conf.message()).startsWith("There is no /etc/nix/nix.conf: nix runs with its built-in"
                        + " defaults").endsWith("on the command line: sandbox = false.");
                assertThat(conf.fix()).contains("normal");
            }
        }
        // Builds as root when the group is empty (the demo's settings): nothing to look up.
        try (EngineHarness engine = EngineHarness.builder().base(EngineHarness.privateBase())
                .set("configDirs", List.of(dir.toString())).start()) {
            engine.handshake();
            PreflightReport r = engine.call(id -> new Request.Preflight(id, null), PreflightReport.class);
            assertThat(check(r, "nix build users").message()).isEqualTo("nix builds as root (build-users-group is"
                    + " empty).");
        }
    }

    @Test
    void settingsNamingANixOptionOutsideTheAllowListAreRefused() throws Exception {
        for (var bad : List.of(java.util.Map.of("post-build-hook", "/tmp/x"), java.util.Map.of("sandbox", "maybe"),
                java.util.Map.of("build-users-group", "x; rm"))) {
            Path base = EngineHarness.privateBase();
            EngineHarness engine = EngineHarness.builder().base(base).set("nixOptions", bad).start();
            assertThat(engine.process().waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(engine.process().exitValue()).as("exit for %s", bad).isEqualTo(78);
            assertThat(engine.log()).contains("nixOptions");
            engine.close();
        }
    }

    private static Check check(PreflightReport r, String name) {
        return r.checks().stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void notEnoughSpaceIsAFailingCheckWithTheNumbersAndWhatToFree() throws Exception {
        Path base = EngineHarness.privateBase();
        Path dir = flake(base);
        long huge = 1L << 60;
        try (EngineHarness engine = EngineHarness.builder().base(base).set("configDirs", List.of(dir.toString()))
                .set("minFreeBytes", huge).start()) {
            engine.handshake();
            PreflightReport r = engine.call(id -> new Request.Preflight(id, dir.toString()), PreflightReport.class);
            Check space = r.checks().stream().filter(c -> c.name().equals("space:Nix store")).findFirst().orElseThrow();
            assertThat(space.status()).isEqualTo(Status.FAIL);
            assertThat(space.message()).startsWith("No space left: only ").contains(" free on the filesystem of the Nix store")
                    .contains("is needed");
            assertThat(space.fix()).contains("nix-collect-garbage").contains("pin your rollback target first");
            assertThat(r.ready()).isFalse();

            // Opening a sandbox is refused for the same reason, before anything is made.
            Event.Failure f = engine.fail(id -> new SandboxRequest.Open(id, dir.toString(), "debian-test",
                    SandboxRequest.Network.ISOLATED));
            assertThat(f.code()).isEqualTo(ProblemCode.NO_SPACE);
            assertThat(f.message()).contains("No space left");
            assertThat(engine.stateDir().resolve("sandboxes")).doesNotExist();
        }
    }

    @Test
    void aClassicConfigurationAndAMissingDirectoryAreRecognised() throws Exception {
        Path base = EngineHarness.privateBase();
        Path classic = Files.createDirectories(base.resolve("classic"));
        Files.writeString(classic.resolve("configuration.nix"), "{ ... }: { }\n");
        Path missing = base.resolve("no-such-config");
        try (EngineHarness engine = EngineHarness.builder().base(base)
                .set("configDirs", List.of(classic.toString(), missing.toString())).start()) {
            engine.handshake();
            PreflightReport c = engine.call(id -> new Request.Preflight(id, classic.toString()), PreflightReport.class);
            assertThat(c.config().kind()).isEqualTo(ConfigKind.CLASSIC);
            assertThat(c.config().hosts()).isEmpty();

            PreflightReport m = engine.call(id -> new Request.Preflight(id, missing.toString()), PreflightReport.class);
            assertThat(m.config().present()).isFalse();
            assertThat(m.config().kind()).isEqualTo(ConfigKind.NONE);
            Check cfg = m.checks().stream().filter(x -> x.name().equals("configuration")).findFirst().orElseThrow();
            assertThat(cfg.status()).isEqualTo(Status.FAIL);
            assertThat(cfg.message()).isEqualTo(missing + " does not exist.");

            Event.Failure notAllowed = engine.fail(id -> new Request.Preflight(id, "/etc"));
            assertThat(notAllowed.code()).isEqualTo(ProblemCode.INVALID_ARGUMENT);
        }
    }

    @Test
    void aFlakeThatDoesNotEvaluateSaysWhy() throws Exception {
        Path base = EngineHarness.privateBase();
        Path dir = Files.createDirectories(base.resolve("broken"));
        Files.writeString(dir.resolve("flake.nix"), "{ outputs = { self }: { nixosConfigurations = 1 + \"x\"; }; }\n");
        try (EngineHarness engine = EngineHarness.builder().base(base).set("configDirs", List.of(dir.toString()))
                .start()) {
            engine.handshake();
            PreflightReport r = engine.call(id -> new Request.Preflight(id, null), PreflightReport.class);
            assertThat(r.config().kind()).isEqualTo(ConfigKind.FLAKE);
            assertThat(r.config().error()).startsWith("error:");
            Check cfg = r.checks().stream().filter(x -> x.name().equals("configuration")).findFirst().orElseThrow();
            assertThat(cfg.status()).isEqualTo(Status.FAIL);
            assertThat(cfg.fix()).contains("nix eval");
        }
    }
}
