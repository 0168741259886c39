package org.saferebuild.protocol;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The engine's argv when it runs from the caller's own class path ({@code java -cp … Main}): for
 * tests, benchmarks and development. An installed app starts the installed engine wrapper instead.
 */
public final class EngineCommand {
    private EngineCommand() {
    }

    public static List<String> fromClassPath(Path configFile) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // A short-lived, single-session process: start fast rather than peak throughput.
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("org.saferebuild.engine.Main");
        if (configFile != null) {
            cmd.add("--config");
            cmd.add(configFile.toString());
        }
        return cmd;
    }
}
