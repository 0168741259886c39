package org.saferebuild.app.launch;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What the pkexec and sudo launchers share: the argv {@code <tool> <tool flags> ENGINE [--config
 * FILE]}, an empty environment (the tool builds the engine's environment itself, and a SHELL or
 * anything else of ours could only get in the way), and waiting for the authorization decision.
 */
final class ElevatedStart {
    private ElevatedStart() {
    }

    static List<String> command(List<String> toolAndFlags, Path engine, Path configFile) {
        List<String> argv = new ArrayList<>(toolAndFlags);
        argv.add(engine.toString());
        if (configFile != null) {
            argv.add("--config");
            argv.add(configFile.toString());
        }
        return argv;
    }

    static Launched start(List<String> argv, Mode mode, File engineLog, Duration decisionTimeout, String installFix)
            throws LaunchException {
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().clear();
        pb.environment().put("LANG", EngineLaunchers.plainLang());
        pb.directory(new File("/"));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new LaunchException(Path.of(argv.get(0)).getFileName() + " could not be started (" + argv.get(0)
                    + "): " + e.getMessage() + ".", installFix, e);
        }
        EngineOutput out = EngineOutput.pump(p.getErrorStream(), engineLog);
        Authorization.await(p, mode, out, argv, decisionTimeout);
        return new Launched(p, mode, argv, out);
    }
}
