package org.saferebuild.app.launch;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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
        List<String> argv = new ArrayList<>(List.of(pkexec.toString(), "--disable-internal-agent", engine.toString()));
        if (configFile != null) {
            argv.add("--config");
            argv.add(configFile.toString());
        }
        return argv;
    }

    @Override
    public Launched launch() throws LaunchException {
        List<String> argv = command();
        ProcessBuilder pb = new ProcessBuilder(argv);
        // pkexec builds the engine's environment itself; give it nothing it could object to (it
        // refuses a SHELL not in /etc/shells, for one) and nothing of ours.
        pb.environment().clear();
        pb.environment().put("LANG", EngineLaunchers.plainLang());
        pb.directory(new File("/"));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new LaunchException("pkexec could not be started (" + pkexec + "): " + e.getMessage() + ".",
                    "Install polkit's pkexec (Debian: apt install pkexec; NixOS: security.polkit.enable = true).", e);
        }
        EngineOutput out = EngineOutput.pump(p.getErrorStream(), engineLog);
        Authorization.await(p, Mode.PKEXEC, out, argv, AUTHORIZATION_TIMEOUT);
        return new Launched(p, Mode.PKEXEC, argv, out);
    }

    static Path requireAbsolute(Path p, String what) {
        if (p == null || !p.isAbsolute()) {
            throw new IllegalArgumentException(what + " must be an absolute path: " + p);
        }
        return p;
    }
}
