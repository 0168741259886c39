package org.saferebuild.engine.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Real nix commands for test set-up (the engine under test never gets these from the test). */
public final class Nix {
    /**
     * The demo system's nix settings as command-line flags, for fixtures that build on the host
     * the way the demo does (its builders use the host's /bin/sh, outside Nix's build sandbox).
     */
    public static final List<String> DEMO_OPTIONS = new java.util.TreeMap<>(
            org.saferebuild.demo.DemoSystem.NIX_OPTIONS).entrySet().stream()
            .flatMap(e -> java.util.stream.Stream.of("--option", e.getKey(), e.getValue())).toList();

    private Nix() {
    }

    /** Runs a nix tool from /usr/bin and returns its stdout; fails the test on a non-zero exit. */
    public static String run(String... argv) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().put("HOME", System.getProperty("java.io.tmpdir"));
        pb.redirectErrorStream(false);
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", argv) + " failed: " + new String(err, StandardCharsets.UTF_8));
        }
        return new String(out, StandardCharsets.UTF_8).strip();
    }

    /**
     * A small, real store path shaped like a NixOS toplevel (nixos-version, kernel-modules, a
     * bin/switch-to-configuration that does nothing): enough for listing generations and checking
     * closures; activation tests use the demo system's real toplevels.
     */
    public static String addToplevel(Path scratch, String name, String nixosVersion, String kernel)
            throws IOException, InterruptedException {
        Path dir = scratch.resolve(name);
        Files.createDirectories(dir.resolve("bin"));
        Files.createDirectories(dir.resolve("kernel-modules/lib/modules/" + kernel));
        Files.writeString(dir.resolve("nixos-version"), nixosVersion + "\n");
        // A salt, so each test gets its own store path and deleting it cannot disturb another test.
        Files.writeString(dir.resolve("salt"), java.util.UUID.randomUUID() + "\n");
        Path stc = dir.resolve("bin/switch-to-configuration");
        Files.writeString(stc, "#!/bin/sh\nexit 0\n");
        stc.toFile().setExecutable(true);
        return run("/usr/bin/nix-store", "--add", dir.toString());
    }

    /** {@code nix-env -p profile --set path}: a real new generation. */
    public static void setProfile(Path profile, String storePath) throws IOException, InterruptedException {
        Files.createDirectories(profile.getParent());
        run("/usr/bin/nix-env", "-p", profile.toString(), "--set", storePath);
    }

    /** Deletes a store path for real, even though a profile still refers to it (garbage collection's effect). */
    public static void deleteForReal(String storePath) throws IOException, InterruptedException {
        run("/usr/bin/nix-store", "--delete", "--ignore-liveness", storePath);
    }

    public static List<String> roots(String storePath) throws IOException, InterruptedException {
        return run("/usr/bin/nix-store", "--query", "--roots", storePath).lines().toList();
    }
}
