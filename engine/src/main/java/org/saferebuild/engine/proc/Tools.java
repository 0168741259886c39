package org.saferebuild.engine.proc;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sys.Posix;
import org.saferebuild.protocol.ProblemCode;

/**
 * Resolves every tool the engine runs to an absolute path itself. Under pkexec, PATH does not
 * contain NixOS's /run/current-system/sw/bin, and an inherited PATH is never trusted anyway.
 * A candidate counts only if it is an executable regular file that only root can change.
 */
public final class Tools {
    /** NixOS locations first, then the usual ones. The setuid wrappers in /run/wrappers are not needed as root. */
    public static final List<String> DEFAULT_DIRS = List.of(
            "/run/current-system/sw/bin",
            "/nix/var/nix/profiles/default/bin",
            "/usr/sbin", "/usr/bin", "/sbin", "/bin");

    /** Tools the sandbox, nix and apply steps need. */
    public static final List<String> KNOWN = List.of(
            "unshare", "nsenter", "chroot", "mount", "umount", "cat", "true", "env",
            "nix", "nix-store", "nix-env", "nix-instantiate", "nix-build",
            "setsid", "setpriv", "git",
            "systemctl", "systemd-run", "journalctl");

    private final List<String> dirs;
    private final Map<String, Optional<Path>> cache = new LinkedHashMap<>();

    public Tools(List<String> dirs) {
        this.dirs = List.copyOf(dirs);
    }

    public List<String> dirs() {
        return dirs;
    }

    /** The searched candidate paths for a tool, in order. */
    public List<String> candidates(String name) {
        List<String> out = new ArrayList<>();
        for (String d : dirs) {
            out.add(d + "/" + name);
        }
        return out;
    }

    public synchronized Optional<Path> find(String name) {
        return cache.computeIfAbsent(name, this::lookup);
    }

    /** The tool's absolute path, or a TOOL_MISSING problem that lists where it looked. */
    public Path require(String name) throws Problem {
        return find(name).orElseThrow(() -> new Problem(ProblemCode.TOOL_MISSING,
                "The tool \"" + name + "\" was not found (looked in " + String.join(", ", dirs) + ").",
                toolFix(name)));
    }

    private Optional<Path> lookup(String name) {
        if (!name.matches("[A-Za-z0-9._-]+")) {
            return Optional.empty();
        }
        for (String candidate : candidates(name)) {
            Path p = Path.of(candidate);
            if (Files.isRegularFile(p) && Files.isExecutable(p) && Posix.untrustedReason(p).isEmpty()) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    static String toolFix(String name) {
        return switch (name) {
            case "unshare", "nsenter", "mount", "umount" ->
                    "Install util-linux (on NixOS it is part of every system; on Debian: apt-get install util-linux mount).";
            case "chroot", "cat", "true", "env" -> "Install coreutils.";
            case "nix", "nix-store", "nix-env", "nix-instantiate", "nix-build" ->
                    "Install Nix (on Debian: apt-get install nix-bin); on NixOS check /run/current-system/sw/bin.";
            case "setsid", "setpriv" -> "Install util-linux.";
            case "git" -> "Install git; without it the configuration backup records no commit.";
            case "systemctl", "systemd-run", "journalctl" ->
                    "These come with systemd; without them the related checks are reported as not run.";
            default -> "Install the package that provides " + name + ".";
        };
    }
}
