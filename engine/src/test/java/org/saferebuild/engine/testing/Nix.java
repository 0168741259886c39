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

    /** How long one nix command of a test's set-up may take before the test fails with what it waits for. */
    private static final long LIMIT_SECONDS = Long.getLong("test.nix.limitSeconds", 180);
    /** Ends a nix command that outlives {@link #LIMIT_SECONDS}; one thread for the whole test run. */
    private static final java.util.concurrent.ScheduledExecutorService WATCHDOG =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "nix-watchdog");
                t.setDaemon(true);
                return t;
            });

    /**
     * Runs a nix tool from /usr/bin and returns its stdout; fails the test on a non-zero exit, and
     * on a command that does not finish within {@link #LIMIT_SECONDS}: it is killed, and the failure
     * says what it and every other nix process were waiting in, so that a stuck lock names itself
     * instead of holding the whole test run. Its stderr goes to a file, not a pipe: looking for the
     * garbage collector's roots prints a line for every stale root nix removes (indirect roots whose
     * link is gone, temporary-roots files of killed nix processes), and 64 KiB of that in a pipe
     * nobody reads until stdout ends would stop nix and this test for good.
     */
    public static String run(String... argv) throws IOException, InterruptedException {
        Path errFile = Files.createTempFile("nix-stderr-", ".txt");
        try {
            ProcessBuilder pb = new ProcessBuilder(argv);
            pb.environment().put("HOME", System.getProperty("java.io.tmpdir"));
            pb.redirectError(errFile.toFile());
            Process p = pb.start();
            java.util.concurrent.atomic.AtomicReference<String> stuck = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.ScheduledFuture<?> limit = WATCHDOG.schedule(() -> {
                stuck.set(waits());
                p.destroyForcibly(); // its stdout closes: the read below returns
            }, LIMIT_SECONDS, TimeUnit.SECONDS);
            byte[] out = new byte[0];
            try {
                p.getOutputStream().close();
                out = p.getInputStream().readAllBytes();
                p.waitFor(LIMIT_SECONDS, TimeUnit.SECONDS);
            } catch (IOException e) {
                if (stuck.get() == null) {
                    throw e;
                } // killed by the watchdog: its stdout was closed under the read
            } finally {
                limit.cancel(false);
            }
            String err = Files.readString(errFile, StandardCharsets.UTF_8);
            if (stuck.get() != null || p.isAlive()) {
                p.destroyForcibly();
                throw new AssertionError(String.join(" ", argv) + " did not finish within " + LIMIT_SECONDS
                        + " s and was killed; its stderr: " + err + "\nnix processes and what they waited in:\n"
                        + (stuck.get() != null ? stuck.get() : waits()));
            }
            if (p.exitValue() != 0) {
                throw new AssertionError(String.join(" ", argv) + " failed: " + err);
            }
            return new String(out, StandardCharsets.UTF_8).strip();
        } finally {
            Files.deleteIfExists(errFile);
        }
    }

    /** Every nix process with its state, kernel wait channel, stack and locks held, from /proc. */
    private static String waits() {
        StringBuilder b = new StringBuilder();
        ProcessHandle.allProcesses()
                .filter(h -> h.info().command().map(c -> c.contains("nix")).orElse(false))
                .forEach(h -> {
                    long pid = h.pid();
                    b.append(pid).append(' ').append(h.info().commandLine().orElse("?")).append('\n');
                    for (String f : List.of("wchan", "stack", "status")) {
                        try {
                            String text = Files.readString(Path.of("/proc/" + pid + "/" + f));
                            b.append("  ").append(f).append(": ").append(f.equals("status")
                                    ? text.lines().filter(l -> l.startsWith("State")).findFirst().orElse("")
                                    : text.strip().replace("\n", "\n    ")).append('\n');
                        } catch (IOException | RuntimeException e) {
                            b.append("  ").append(f).append(": ").append(e).append('\n');
                        }
                    }
                });
        try {
            b.append("/proc/locks:\n").append(Files.readString(Path.of("/proc/locks")));
        } catch (IOException e) {
            b.append("/proc/locks: ").append(e);
        }
        return b.toString();
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
