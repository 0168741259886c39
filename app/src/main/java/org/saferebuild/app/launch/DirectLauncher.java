package org.saferebuild.app.launch;

import java.io.File;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * Starts the engine as a plain child process, for when the app itself already runs as root (the
 * demo on a test machine, CI). The child gets only the variables the engine reads.
 */
public final class DirectLauncher implements EngineLauncher {
    private final List<String> engineCommand;
    private final File engineLog;

    /**
     * @param engineCommand the engine's argv (its installed wrapper, or java … Main) with its own
     *                      arguments such as {@code --config FILE}
     * @param engineLog     where the engine's stderr goes (its log), or null to inherit
     */
    public DirectLauncher(List<String> engineCommand, File engineLog) {
        this.engineCommand = List.copyOf(engineCommand);
        this.engineLog = engineLog;
    }

    public List<String> command() {
        return engineCommand;
    }

    @Override
    public Launched launch() throws LaunchException {
        ProcessBuilder pb = new ProcessBuilder(engineCommand);
        Map<String, String> env = pb.environment();
        env.keySet().retainAll(List.of("PATH", "LANG"));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new LaunchException("The engine could not be started: " + e.getMessage() + ".",
                    "Check that the engine is installed (" + engineCommand.get(0) + ").", e);
        }
        return new Launched(p, Mode.DIRECT, engineCommand, EngineOutput.pump(p.getErrorStream(), engineLog));
    }
}
