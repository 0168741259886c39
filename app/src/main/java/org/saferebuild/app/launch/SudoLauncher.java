package org.saferebuild.app.launch;

import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
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
        return ElevatedStart.command(List.of(sudo.toString(), "-n", "--"), engine, configFile);
    }

    @Override
    public Launched launch() throws LaunchException {
        return ElevatedStart.start(command(), Mode.SUDO, engineLog, DECISION_TIMEOUT, "Install sudo, or use pkexec.");
    }
}
