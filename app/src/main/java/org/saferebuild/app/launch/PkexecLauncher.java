package org.saferebuild.app.launch;

import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Starts the engine the desktop way: {@code pkexec --disable-internal-agent ENGINE [--config FILE]}.
 * The polkit policy (packaging/org.saferebuild.engine.policy.in) pins ENGINE, the installed wrapper,
 * so the password dialog of the session's authentication agent authorizes exactly that program.
 * --disable-internal-agent: pkexec must never fall back to asking on a terminal the app does not have.
 */
public final class PkexecLauncher implements EngineLauncher {
    /** How long the operator has to answer the password dialog. */
    public static final Duration AUTHORIZATION_TIMEOUT = Duration.ofMinutes(5);

    private final Path pkexec;
    private final Path engine;
    private final Path configFile;
    private final File engineLog;

    /**
     * @param pkexec     the setuid pkexec (on NixOS /run/wrappers/bin/pkexec), see {@link EngineLaunchers#findPkexec()}
     * @param engine     the installed engine wrapper, the path the polkit policy pins
     * @param configFile the engine settings to pass with --config, or null for the engine's default
     * @param engineLog  where the engine's stderr goes, or null for the app's stderr
     */
    public PkexecLauncher(Path pkexec, Path engine, Path configFile, File engineLog) {
        this.pkexec = requireAbsolute(pkexec, "pkexec");
        this.engine = requireAbsolute(engine, "engine");
        this.configFile = configFile == null ? null : requireAbsolute(configFile, "configFile");
        this.engineLog = engineLog;
    }

    public List<String> command() {
        return ElevatedStart.command(List.of(pkexec.toString(), "--disable-internal-agent"), engine, configFile);
    }

    @Override
    public Launched launch() throws LaunchException {
        return ElevatedStart.start(command(), Mode.PKEXEC, engineLog, AUTHORIZATION_TIMEOUT,
                "Install polkit's pkexec (Debian: apt install pkexec; NixOS: security.polkit.enable = true).");
    }

    static Path requireAbsolute(Path p, String what) {
        if (p == null || !p.isAbsolute()) {
            throw new IllegalArgumentException(what + " must be an absolute path: " + p);
        }
        return p;
    }
}
