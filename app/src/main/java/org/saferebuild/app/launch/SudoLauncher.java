package org.saferebuild.app.launch;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts the engine with {@code sudo -n -- ENGINE [--config FILE]}: for development on a machine
 * without a polkit agent. -n: sudo must never wait for a password on a terminal the app does not
 * have; without a NOPASSWD rule (or a cached sudo login) it refuses at once and the app says so.
 */
public final class SudoLauncher implements EngineLauncher {
    private static final Duration DECISION_TIMEOUT = Duration.ofSeconds(60);

    private final Path sudo;
    private final Path engine;
    private final Path configFile;
    private final File engineLog;

    public SudoLauncher(Path sudo, Path engine, Path configFile, File engineLog) {
        this.sudo = PkexecLauncher.requireAbsolute(sudo, "sudo");
        this.engine = PkexecLauncher.requireAbsolute(engine, "engine");
        this.configFile = configFile == null ? null : PkexecLauncher.requireAbsolute(configFile, "configFile");
        this.engineLog = engineLog;
    }

    public List<String> command() {
        List<String> argv = new ArrayList<>(List.of(sudo.toString(), "-n", "--", engine.toString()));
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
        pb.environment().clear();
        pb.environment().put("LANG", EngineLaunchers.plainLang());
        pb.directory(new File("/"));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new LaunchException("sudo could not be started (" + sudo + "): " + e.getMessage() + ".",
                    "Install sudo, or use pkexec.", e);
        }
        EngineOutput out = EngineOutput.pump(p.getErrorStream(), engineLog);
        Authorization.await(p, Mode.SUDO, out, argv, DECISION_TIMEOUT);
        return new Launched(p, Mode.SUDO, argv, out);
    }
}
