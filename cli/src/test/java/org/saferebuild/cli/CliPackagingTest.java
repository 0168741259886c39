package org.saferebuild.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One name, two faces: the installed {@code safe-rebuild} (packaging/safe-rebuild.in, made by the
 * Nix package) opens the window without a command or with only the window's options, and runs the
 * command line otherwise; the package installs the command line and the engine's fixed path for
 * other machines.
 */
class CliPackagingTest {
    @Test
    void safeRebuildOpensTheWindowWithoutACommandAndTheCommandLineWithOne(@TempDir Path dir) throws Exception {
        Path app = stub(dir, "app");
        Path cli = stub(dir, "cli");
        Path wrapper = dir.resolve("safe-rebuild");
        Files.writeString(wrapper, Files.readString(Path.of("..", "packaging", "safe-rebuild.in"))
                .replace("@BASH@", "/bin/bash").replace("@APP@", app.toString()).replace("@CLI@", cli.toString()));
        Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("r-xr-xr-x"));

        assertThat(run(wrapper)).isEqualTo("app");
        assertThat(run(wrapper, "--theme", "dark")).isEqualTo("app --theme dark");
        assertThat(run(wrapper, "--target-host", "root@nas", "--ssh-config", "/x")).isEqualTo(
                "app --target-host root@nas --ssh-config /x");
        assertThat(run(wrapper, "switch", "--target-host", "nas")).isEqualTo("cli switch --target-host nas");
        assertThat(run(wrapper, "--help")).isEqualTo("cli --help");
        assertThat(run(wrapper, "audit", "verify")).isEqualTo("cli audit verify");
        // A word with a space stays one word: nothing is re-split.
        assertThat(run(wrapper, "diff", "--config-dir", "/etc/my nixos")).isEqualTo("cli diff --config-dir /etc/my nixos");
    }

    @Test
    void theNixPackageInstallsTheCommandLineBesideTheAppAndTheEnginesFixedPath() throws Exception {
        String pkg = Files.readString(Path.of("..", "packaging", "nix", "package.nix"));
        assertThat(pkg).contains("cli/target/safe-rebuild-cli.jar cli/target/lib/*.jar $out/share/safe-rebuild/cli/",
                "org.saferebuild.cli.Main", "-Dsaferebuild.engine=$engine -XX:+UseSerialGC",
                "substitute ${../safe-rebuild.in} $out/bin/safe-rebuild",
                "--subst-var-by CLI $out/libexec/safe-rebuild/safe-rebuild-cli",
                "ln -s $engine $out/bin/safe-rebuild-engine");
        assertThat(Path.of("..", "packaging", "nix", "module.nix")).content().contains("docs/cli.md");
    }

    private static Path stub(Path dir, String name) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\nprintf '%s' " + name + "\nfor a in \"$@\"; do printf ' %s' \"$a\"; done\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("r-xr-xr-x"));
        return p;
    }

    private static String run(Path wrapper, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(wrapper.toString()));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        return out;
    }
}
