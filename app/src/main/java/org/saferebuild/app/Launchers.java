package org.saferebuild.app;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.saferebuild.app.launch.DirectLauncher;
import org.saferebuild.app.launch.EngineLauncher;
import org.saferebuild.app.launch.LaunchException;

/** Chooses how to start the engine for this process. */
public final class Launchers {
    private Launchers() {
    }

    /**
     * The engine's argv from this app's own class path (the engine jar ships beside the app's):
     * {@code java -cp … org.saferebuild.engine.Main [--config FILE]}.
     */
    public static List<String> engineCommand(Path engineConfig) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("org.saferebuild.engine.Main");
        if (engineConfig != null) {
            cmd.add("--config");
            cmd.add(engineConfig.toString());
        }
        return cmd;
    }

    /** The launcher for this process: direct when the app already runs as root (the demo, CI). */
    public static EngineLauncher choose(AppSettings settings, Path engineLog) {
        if (euid() == 0) {
            return new DirectLauncher(engineCommand(settings.engineConfig()), engineLog.toFile());
        }
        return () -> {
            throw new LaunchException("The app runs as uid " + euid() + " and this build starts the engine only"
                    + " when the app itself runs as root.",
                    "Start the app as root for the demo (script/demo does this), or install the pkexec launcher.",
                    null);
        };
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
