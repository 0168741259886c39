package org.saferebuild.app.launch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Another machine whose engine is reached over OpenSSH (docs/remote.md): the engine's protocol is
 * framed JSON over stdin and stdout, so {@code ssh DEST ENGINE} is a transport. Every value is
 * checked here: ssh hands the remote command to the remote user's shell as one string, so the
 * engine path and its settings file may hold only characters no shell interprets, and the
 * destination can never be taken for an ssh option.
 *
 * @param destination  {@code [user@]host} as ssh and nix take it (an alias from the ssh config is fine)
 * @param sshConfig    an ssh configuration file ({@code ssh -F}), or null for the operator's own
 * @param engine       the engine wrapper on the target
 * @param engineConfig the engine's settings file on the target, or null for its default
 * @param sudo         start it with {@code sudo -n} on the target (for a non-root ssh user)
 */
public record SshTarget(String destination, Path sshConfig, String engine, String engineConfig, boolean sudo) {
    /** Where the NixOS module puts the engine on every machine (programs.safe-rebuild.enable). */
    public static final String DEFAULT_ENGINE = "/run/current-system/sw/bin/safe-rebuild-engine";
    private static final Pattern DESTINATION =
            Pattern.compile("([A-Za-z0-9._][A-Za-z0-9._-]{0,31}@)?[A-Za-z0-9_][A-Za-z0-9._:-]{0,252}");
    private static final Pattern REMOTE_PATH = Pattern.compile("/[A-Za-z0-9/._+-]{1,4095}");
    private static final Pattern LOCAL_PATH = Pattern.compile("/[^\\s\\x00]{1,4095}");

    public SshTarget {
        if (destination == null || !DESTINATION.matcher(destination).matches()) {
            throw new IllegalArgumentException("\"" + destination + "\" is not a target host ssh can take:"
                    + " use [user@]host with letters, digits and . _ - : (an alias from your ssh config works too)");
        }
        if (sshConfig != null && (!sshConfig.isAbsolute() || !LOCAL_PATH.matcher(sshConfig.toString()).matches())) {
            throw new IllegalArgumentException("the ssh config file must be an absolute path without spaces: "
                    + sshConfig);
        }
        engine = engine == null ? DEFAULT_ENGINE : engine;
        for (String p : engineConfig == null ? List.of(engine) : List.of(engine, engineConfig)) {
            if (!REMOTE_PATH.matcher(p).matches() || p.contains("/../") || p.endsWith("/..")) {
                throw new IllegalArgumentException("\"" + p + "\" is not a path on the target this can pass to ssh:"
                        + " an absolute path of letters, digits and / . _ + - only");
            }
        }
    }

    public SshTarget(String destination) {
        this(destination, null, null, null, false);
    }

    /** The host part, for messages. */
    public String host() {
        return destination.substring(destination.indexOf('@') + 1);
    }

    /** ssh's own options: no prompts ever (the engine speaks on stdin), and a dead link noticed in 30 s. */
    public List<String> sshOptions() {
        List<String> o = new ArrayList<>(List.of("-o", "BatchMode=yes", "-o", "ServerAliveInterval=10",
                "-o", "ServerAliveCountMax=3"));
        if (sshConfig != null) {
            o.addAll(0, List.of("-F", sshConfig.toString()));
        }
        return o;
    }

    /** The remote command, word by word (ssh joins them with spaces; each is shell-safe). */
    public List<String> remoteCommand() {
        List<String> c = new ArrayList<>();
        if (sudo) {
            c.addAll(List.of("sudo", "-n", "--"));
        }
        c.add(engine);
        if (engineConfig != null) {
            c.addAll(List.of("--config", engineConfig));
        }
        return c;
    }

    /** The store URI nix copy takes: {@code ssh://DEST}. */
    public String storeUri() {
        return "ssh://" + destination;
    }

    /** NIX_SSHOPTS for nix copy: the same ssh options, split on spaces by nix (paths were checked to have none). */
    public String nixSshOpts() {
        return String.join(" ", sshOptions());
    }
}
