package org.saferebuild.app.launch;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts the engine of another machine through OpenSSH: {@code ssh -T -o BatchMode=yes … -- DEST
 * ENGINE [--config FILE]}, as an argv (never a shell string of ours), with the operator's own keys
 * and agent. BatchMode: ssh must never ask for a password or a host key on a terminal the app does
 * not have; without a key the target accepts it refuses at once and {@link ExitReasons} says why.
 * The engine on the target treats the end of the connection as the app going away: an apply
 * finishes and its confirm-or-revert timer still reverts (docs/remote.md).
 */
public final class SshLauncher implements EngineLauncher {
    /** Where ssh is looked for: NixOS's system profile first, never PATH. */
    static final List<Path> SSH_PLACES = List.of(Path.of("/run/current-system/sw/bin/ssh"), Path.of("/usr/bin/ssh"),
            Path.of("/bin/ssh"));
    /** The variables ssh needs from the operator: their agent, home and user name; nothing else. */
    private static final List<String> PASSED = List.of("HOME", "USER", "LOGNAME", "SSH_AUTH_SOCK", "LANG");

    private final Path ssh;
    private final SshTarget target;
    private final File engineLog;

    public SshLauncher(Path ssh, SshTarget target, File engineLog) {
        this.ssh = PkexecLauncher.requireAbsolute(ssh, "ssh");
        this.target = target;
        this.engineLog = engineLog;
    }

    /** ssh from its usual places, or a LaunchException that says how to install it. */
    public static SshLauncher forTarget(SshTarget target, File engineLog) throws LaunchException {
        Path ssh = SSH_PLACES.stream().filter(p -> p.toFile().canExecute()).findFirst()
                .orElseThrow(() -> new LaunchException("OpenSSH's ssh is not installed, so " + target.host()
                        + " cannot be reached.", "Install it (NixOS: programs.ssh is on by default; Debian: apt install"
                        + " openssh-client).", null));
        return new SshLauncher(ssh, target, engineLog);
    }

    public SshTarget target() {
        return target;
    }

    public List<String> command() {
        List<String> argv = new ArrayList<>(List.of(ssh.toString(), "-T"));
        argv.addAll(target.sshOptions());
        argv.add("--");
        argv.add(target.destination());
        argv.addAll(target.remoteCommand());
        return argv;
    }

    @Override
    public Launched launch() throws LaunchException {
        List<String> argv = command();
        ProcessBuilder pb = new ProcessBuilder(argv);
        Map<String, String> env = pb.environment();
        env.keySet().retainAll(PASSED);
        pb.directory(new File("/"));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new LaunchException("ssh could not be started (" + ssh + "): " + e.getMessage() + ".",
                    "Install OpenSSH's client.", e);
        }
        return new Launched(p, Mode.SSH, argv, EngineOutput.pump(p.getErrorStream(), engineLog));
    }
}
