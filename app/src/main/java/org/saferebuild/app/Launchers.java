package org.saferebuild.app;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.saferebuild.protocol.EngineCommand;

/**
 * The engine's command line from this app's class path (tests, the benchmark). How the app itself
 * starts the engine is {@link org.saferebuild.app.launch.EngineLaunchers#choose}.
 */
public final class Launchers {
    private Launchers() {
    }

    /**
     * The engine's argv from this app's own class path (the engine jar ships beside the app's):
     * {@code java -cp … org.saferebuild.engine.Main [--config FILE]}.
     */
    public static List<String> engineCommand(Path engineConfig) {
        return EngineCommand.fromClassPath(engineConfig);
    }

    /** The effective uid of this process, from /proc/self/status (no native code needed). */
    public static int euid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.split("\\s+")[2]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
