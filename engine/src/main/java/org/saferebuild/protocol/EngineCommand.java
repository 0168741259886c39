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
        // A short-lived, single-session process: start fast rather than peak throughput, and compile
        // (quickly, C1 only) what runs a few dozen times: a request's code runs a handful of times per
        // session and would otherwise stay interpreted. No performance-data file in /tmp (and none of
        // its 20 samples a second), no attach listener: the same flags as packaging/safe-rebuild-engine.in.
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-XX:CompileThresholdScaling=0.05");
        cmd.add("-XX:-UsePerfData");
        cmd.add("-XX:+DisableAttachMechanism");
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
