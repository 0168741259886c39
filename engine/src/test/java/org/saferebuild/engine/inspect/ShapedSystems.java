package org.saferebuild.engine.inspect;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.saferebuild.engine.testing.Nix;

/**
 * Builds the NixOS-shaped test systems of {@code nixos-shaped.nix} with real nix, and gives them a
 * private system profile, running/booted links and the engine's GC-root directory, all under one
 * private base directory (never the machine's /nix/var/nix/profiles or /run).
 */
final class ShapedSystems {
    final Path base;
    final Path nixFile;
    final Path stateDir;
    final Path profile;
    final Path currentLink;
    final Path bootedLink;
    final Path activationLog;

    ShapedSystems(Path base) throws IOException {
        this.base = base;
        this.nixFile = base.resolve("nixos-shaped.nix");
        try (InputStream in = ShapedSystems.class.getResourceAsStream("nixos-shaped.nix")) {
            Files.write(nixFile, in.readAllBytes());
        }
        this.stateDir = base.resolve("state");
        Files.createDirectories(base.resolve("profiles"));
        Files.createDirectories(base.resolve("run"));
        Path demoState = Files.createDirectories(base.resolve("demo-state"));
        this.profile = base.resolve("profiles/system");
        this.currentLink = base.resolve("run/current-system");
        this.bootedLink = base.resolve("run/booted-system");
        this.activationLog = demoState.resolve("activations.log");
        Files.createDirectory(stateDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    /** nix-build of one variant; the out link in the base keeps it from garbage collection. */
    String build(String variant) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of("nix-build", nixFile.toString(), "--argstr", "variant", variant,
                "--argstr", "stateDir", base.resolve("demo-state").toString(),
                "-o", base.resolve("result-" + variant).toString()));
        argv.addAll(Nix.DEMO_OPTIONS);
        return run(argv).strip();
    }

    /** Adds a generation to the private profile, as nixos-rebuild does with nix-env --set. */
    void addGeneration(String path) throws IOException, InterruptedException {
        run(List.of("nix-env", "-p", profile.toString(), "--set", path));
    }

    /**
     * Roots a path as the engine's build step does (BuiltSystems: nix-store --realise --add-root
     * state/gcroots/builds/&lt;store name&gt;), so that the engine accepts it as a system it built.
     */
    void markBuilt(String path) throws IOException, InterruptedException {
        Path dir = Files.createDirectories(stateDir.resolve("gcroots/builds"));
        run(List.of("nix-store", "--realise", "--add-root", dir.resolve(Path.of(path).getFileName()).toString(), path));
    }

    void setRunning(String path) throws IOException {
        Files.deleteIfExists(currentLink);
        Files.createSymbolicLink(currentLink, Path.of(path));
    }

    void setBooted(String path) throws IOException {
        Files.deleteIfExists(bootedLink);
        Files.createSymbolicLink(bootedLink, Path.of(path));
    }

    List<String> activations() throws IOException {
        return Files.exists(activationLog) ? Files.readAllLines(activationLog) : List.of();
    }

    static String run(List<String> argv) throws IOException, InterruptedException {
        Path err = Files.createTempFile("shaped-", ".err");
        try {
            Process p = new ProcessBuilder(new ArrayList<>(argv)).redirectError(err.toFile()).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", argv) + " failed: " + Files.readString(err));
            }
            return out;
        } finally {
            Files.deleteIfExists(err);
        }
    }
}
