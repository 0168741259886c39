package org.saferebuild.engine.build;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dry-run text, .drv files and evaluation errors, as Nix 2.8 and later print them. */
class ParsersTest {

    private String resource(String name) throws Exception {
        try (InputStream in = getClass().getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void dryRunListsWhatWouldBeBuiltAndFetchedWithSizes() {
        DryRun d = DryRun.parse(List.of(
                "these 2 derivations will be built:",
                "  /nix/store/i3gv42w1nw33ish5lwgx7zqxqa8jfhs7-field-firmware-2.0.1.tar.gz.drv",
                "  /nix/store/bnz8kirjvm5vqax6r551zz6iyf9ldgkd-nixos-system-BearsiMac-23.11.20240115.b8dd8be.drv",
                "this path will be fetched (1.25 MiB download, 5.50 MiB unpacked):",
                "  /nix/store/lwis317hjrvzlsnpf3p6zlg5zamwbajk-firefox-121.0",
                "warning: something else"));
        assertThat(d.toBuild()).hasSize(2).allMatch(p -> p.endsWith(".drv"));
        assertThat(d.toFetch()).containsExactly("/nix/store/lwis317hjrvzlsnpf3p6zlg5zamwbajk-firefox-121.0");
        assertThat(d.downloadMiB()).isEqualTo(1.25);
        assertThat(d.unpackedMiB()).isEqualTo(5.5);
        assertThat(d.unknown()).isEmpty();

        DryRun one = DryRun.parse(List.of("this derivation will be built:",
                "  /nix/store/bnz8kirjvm5vqax6r551zz6iyf9ldgkd-etc.drv",
                "don't know how to build these paths:",
                "  /nix/store/lwis317hjrvzlsnpf3p6zlg5zamwbajk-missing-1.0"));
        assertThat(one.toBuild()).containsExactly("/nix/store/bnz8kirjvm5vqax6r551zz6iyf9ldgkd-etc.drv");
        assertThat(one.unknown()).containsExactly("/nix/store/lwis317hjrvzlsnpf3p6zlg5zamwbajk-missing-1.0");
        assertThat(DryRun.parse(List.of()).toBuild()).isEmpty();
    }

    @Test
    void aFixedOutputDerivationIsRecognisedWithItsUrl() throws Exception {
        DrvFile fod = DrvFile.parse("/nix/store/x.drv", resource("fod.drv"));
        assertThat(fod.fixedOutput()).isTrue();
        assertThat(fod.builder()).isEqualTo("builtin:fetchurl");
        assertThat(fod.url()).isEqualTo("https://releases.field-chakra.invalid/firmware/field-firmware-2.0.1.tar.gz");
        assertThat(fod.outputs()).containsOnlyKeys("out");

        DrvFile pkg = DrvFile.parse("/nix/store/y.drv", resource("package.drv"));
        assertThat(pkg.fixedOutput()).isFalse();
        assertThat(pkg.builder()).isEqualTo("/bin/sh");
        assertThat(pkg.env()).containsEntry("pname", "field-translator").containsEntry("version", "1.5.0-rc1");
        assertThat(pkg.outputs().get("out")).endsWith("-field-translator-1.5.0-rc1");
        assertThat(pkg.url()).isNull();
    }

    @Test
    void evaluationErrorsSeenInsideTheSandboxAreMappedToTheConfigurationDirectory(@TempDir Path dir)
            throws Exception {
        Path config = Files.createDirectories(dir.resolve("config/modules"));
        Files.writeString(config.resolve("x.nix"), "{\n  a = 1;\n  b = undefinedThing;\n}\n");
        String stderr = "error: undefined variable 'undefinedThing'\n\n"
                + "       at " + "/etc/nixos/modules/x.nix:3:7:\n\n"
                + "            2|   a = 1;\n            3|   b = undefinedThing;\n             |       ^\n";
        Problem p = problem(stderr, dir.resolve("config"));
        assertThat(p.message()).isEqualTo("The configuration does not evaluate: undefined variable 'undefinedThing'\n"
                + "  at " + config.resolve("x.nix") + ":3:7\n  3| b = undefinedThing;");
        assertThat(p.fix()).startsWith("Open modules/x.nix at line 3 (in " + dir.resolve("config") + ")")
                .contains("'undefinedThing' is not defined where it is used");
    }

    @Test
    void newerNixTracesPointAtTheLastErrorNotTheFirstFrame(@TempDir Path dir) throws Exception {
        Path config = Files.createDirectories(dir.resolve("config"));
        Files.writeString(config.resolve("configuration.nix"), "{ pkgs, ... }:\n{\n  environment.systemPackages ="
                + " [ pkgs.fierfox ];\n}\n");
        String stderr = "error:\n"
                + "       … while evaluating the attribute 'config.system.build.toplevel'\n\n"
                + "         at /nix/store/0mdqa9w1p6cmli6976v4wi0sw9r4p5pr-source/nixos/modules/system/activation/top-level.nix:71:12:\n\n"
                + "       … while evaluating definitions from `/etc/nixos/configuration.nix':\n\n"
                + "       error: attribute 'fierfox' missing\n\n"
                + "       at /etc/nixos/configuration.nix:3:34:\n\n"
                + "            3|   environment.systemPackages = [ pkgs.fierfox ];\n";
        Problem p = problem(stderr, config);
        assertThat(p.message()).startsWith("The configuration does not evaluate: attribute 'fierfox' missing\n  at "
                + config.resolve("configuration.nix") + ":3:34");
        assertThat(p.fix()).startsWith("Open configuration.nix at line 3").contains("nothing named 'fierfox'");
    }

    @Test
    void aStoreFileIsOnlyMappedWhenTheConfigurationHasTheSameFile(@TempDir Path dir) throws Exception {
        Path config = Files.createDirectories(dir.resolve("config"));
        Files.writeString(config.resolve("default.nix"), "{ }\n");
        // A "-source" path of another input (nixpkgs) whose file is not the configuration's.
        assertThat(NixErrors.map("/nix/store/0mdqa9w1p6cmli6976v4wi0sw9r4p5pr-source/default.nix", 1, 1, config))
                .isEmpty();
        assertThat(NixErrors.map("/etc/nixos/../etc/passwd", 1, 1, config)).isEmpty();
        Problem p = problem("error: syntax error, unexpected '}'\n", config);
        assertThat(p.message()).isEqualTo("The configuration does not evaluate: syntax error, unexpected '}'");
        assertThat(p.fix()).startsWith("Fix the syntax there");
    }

    @Test
    void nixKilledFromOutsideIsNotBlamedOnTheConfiguration() {
        org.saferebuild.engine.proc.Exec.Outcome killed =
                new org.saferebuild.engine.proc.Exec.Outcome(137, "", List.of(), false, false);
        assertThat(NixService.killed(killed, "")).hasValueSatisfying(p -> {
            assertThat(p.code()).isEqualTo(org.saferebuild.protocol.ProblemCode.INTERNAL);
            assertThat(p.getMessage()).contains("signal 9 (SIGKILL)");
            assertThat(p.fix()).contains("dmesg");
        });
        assertThat(NixService.killed(killed, "error: builder for '/nix/store/x.drv' failed")).isEmpty();
        assertThat(NixService.killed(new org.saferebuild.engine.proc.Exec.Outcome(1, "", List.of(), false, false),
                "")).isEmpty();
    }

    @Test
    void theNearestHostIsSuggestedForATypo() {
        assertThat(NixService.nearest("BearsImac", List.of("BearsiMac", "Laptop"))).isEqualTo("BearsiMac");
        assertThat(NixService.nearest("server", List.of("BearsiMac"))).isNull();
    }

    private record Problem(String message, String fix) {
    }

    private static Problem problem(String stderr, Path config) {
        org.saferebuild.engine.Problem p = NixErrors.evaluation(stderr, config);
        assertThat(p.code()).isEqualTo(org.saferebuild.protocol.ProblemCode.EVALUATION_FAILED);
        return new Problem(p.getMessage(), p.fix());
    }
}
