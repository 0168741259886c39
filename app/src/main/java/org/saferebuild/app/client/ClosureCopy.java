package org.saferebuild.app.client;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.saferebuild.app.launch.SshTarget;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Values;

/**
 * Copies a built system's closure to the target with Nix's own remote store, as nixos-rebuild
 * --target-host does: {@code nix copy --to ssh://DEST PATH}, run as the operator (their ssh keys
 * and agent, the same ssh options as the engine's connection through NIX_SSHOPTS). The target's
 * {@code nix-store --serve --write} imports it; the target's engine then checks and adopts it
 * ({@code system.adopt}) with the NAR hash read here, so what is applied there is what was built here.
 */
public final class ClosureCopy {
    /** Where nix is looked for: NixOS's system profile, the multi-user installer's profile, distributions. */
    static final List<Path> NIX_DIRS = List.of(Path.of("/run/current-system/sw/bin"),
            Path.of("/nix/var/nix/profiles/default/bin"), Path.of("/usr/bin"), Path.of("/usr/local/bin"));
    private static final List<String> PASSED = List.of("HOME", "USER", "LOGNAME", "SSH_AUTH_SOCK", "LANG", "NIX_REMOTE");

    private final SshTarget target;
    private final boolean substituteOnDestination;

    /** @param substituteOnDestination let the target fetch what it can from its binary caches (nixos-rebuild --use-substitutes) */
    public ClosureCopy(SshTarget target, boolean substituteOnDestination) {
        this.target = target;
        this.substituteOnDestination = substituteOnDestination;
    }

    /** The NAR hash of a path in this machine's store, as nix-store --query --hash prints it. */
    public String narHash(String storePath) throws EngineConnection.EngineFailure {
        Values.storePath(storePath, "storePath");
        Result r = run(List.of(tool("nix-store").toString(), "--query", "--hash", storePath), line -> { });
        String hash = r.stdout().strip();
        if (r.exit() != 0 || !Values.isNarHash(hash)) {
            throw failure(ProblemCode.NOT_FOUND, storePath + " is not in this machine's Nix store: " + r.last(),
                    "Build the configuration again (safe-rebuild build), then copy what it prints.");
        }
        return hash;
    }

    /**
     * Copies {@code storePath} and its closure to the target; {@code lines} gets nix's messages
     * ("copying path … to 'ssh://…'"). Returns the path's NAR hash here.
     */
    public String copy(String storePath, Consumer<String> lines) throws EngineConnection.EngineFailure {
        String hash = narHash(storePath);
        List<String> argv = new ArrayList<>(List.of(tool("nix").toString(), "--extra-experimental-features",
                "nix-command", "copy", "--to", target.storeUri()));
        if (substituteOnDestination) {
            argv.add("--substitute-on-destination");
        }
        argv.add(storePath);
        lines.accept("$ NIX_SSHOPTS='" + target.nixSshOpts() + "' " + String.join(" ", argv));
        Result r = run(argv, lines);
        if (r.exit() != 0) {
            String said = r.last();
            String fix = said.contains("Permission denied") || said.contains("not allowed")
                    || said.contains("lacks a signature")
                    ? "Connect as root (root@" + target.host() + ") or as a user the target's Nix trusts"
                    + " (nix.settings.trusted-users), so it accepts paths you built."
                    : "Check that ssh -o BatchMode=yes " + target.destination() + " nix-store --version works from"
                    + " this machine, and that the target has room in its store (df -h /nix there).";
            throw failure(ProblemCode.CLOSURE_INCOMPLETE, "The system could not be copied to " + target.destination()
                    + " (nix copy exit " + r.exit() + "): " + said + ". Nothing was changed there.", fix);
        }
        return hash;
    }

    private record Result(int exit, String stdout, List<String> stderr) {
        /**
         * nix's last words, with up to two lines before them: ssh's own reason ("Connection refused",
         * "Host key verification failed") comes just before nix's "cannot connect to …".
         */
        String last() {
            List<String> said = new ArrayList<>();
            synchronized (stderr) {
                for (int i = stderr.size() - 1; i >= 0 && said.size() < 3; i--) {
                    String line = stderr.get(i).strip();
                    if (!line.isEmpty() && !line.startsWith("$ ")) {
                        said.add(0, line);
                    }
                }
            }
            return said.isEmpty() ? "no message" : String.join(" / ", said);
        }
    }

    private Result run(List<String> argv, Consumer<String> lines) throws EngineConnection.EngineFailure {
        ProcessBuilder pb = new ProcessBuilder(argv);
        Map<String, String> env = pb.environment();
        env.keySet().retainAll(PASSED);
        env.put("PATH", String.join(File.pathSeparator, NIX_DIRS.stream().map(Path::toString).toList()));
        env.put("NIX_SSHOPTS", target.nixSshOpts());
        pb.directory(new File("/"));
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            List<String> err = java.util.Collections.synchronizedList(new ArrayList<>());
            Thread pump = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        err.add(line);
                        lines.accept(line);
                    }
                } catch (IOException e) {
                    // the process ended
                }
            }, "nix-copy-stderr");
            pump.setDaemon(true);
            pump.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int exit = p.waitFor();
            pump.join(2000);
            return new Result(exit, out, List.copyOf(err));
        } catch (IOException e) {
            throw failure(ProblemCode.TOOL_MISSING, argv.get(0) + " could not be run: " + e.getMessage() + ".",
                    "Install Nix on this machine.");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failure(ProblemCode.CANCELLED, "Copying to " + target.destination() + " was interrupted.",
                    "Start again; what was copied stays in the target's store and is not used.");
        }
    }

    private static Path tool(String name) throws EngineConnection.EngineFailure {
        Optional<Path> found = NIX_DIRS.stream().map(d -> d.resolve(name)).filter(Files::isExecutable).findFirst();
        return found.orElseThrow(() -> failure(ProblemCode.TOOL_MISSING, name + " is not installed here (looked in "
                + NIX_DIRS + "), so the system cannot be copied.", "Install Nix on this machine."));
    }

    private static EngineConnection.EngineFailure failure(ProblemCode code, String message, String fix) {
        return new EngineConnection.EngineFailure(new Event.Failure(1, code, message, fix));
    }
}
