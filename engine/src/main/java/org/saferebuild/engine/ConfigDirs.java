package org.saferebuild.engine;

import java.io.IOException;
import java.nio.file.Path;
import org.saferebuild.engine.sys.LibC;
import org.saferebuild.engine.sys.SafeFiles;
import org.saferebuild.protocol.ProblemCode;

/**
 * The one rule for configuration directories, applied by every operation that names one
 * (preflight, sandbox.open, validate, build, baseline; issue 11): it must be one of the settings'
 * {@code configDirs}, and it is used only at that path as it is, never through a link at it or in
 * any directory above it. An allowed directory replaced by a link would otherwise be followed by
 * one operation (binding another tree into the sandbox) and refused by another.
 */
public final class ConfigDirs {
    private ConfigDirs() {
    }

    /** A configuration directory that passed the rule: its path and, when present, where it is on disk. */
    public record Checked(String dir, SafeFiles.Identity identity) {
        public boolean present() {
            return identity != null;
        }
    }

    /**
     * Applies the rule. A missing directory passes with no identity (each operation says what that
     * means for it); a link anywhere in its path is refused.
     */
    public static Checked check(EngineConfig config, String dir) throws Problem {
        if (!config.allowsConfigDir(dir)) {
            // Reached when the operator browses to another directory: say what to choose instead, and how
            // root would make this one acceptable (the app cannot: the settings are root's alone).
            throw new Problem(ProblemCode.INVALID_ARGUMENT, "The configuration directory " + dir
                    + " is not one this engine is set up for (" + String.join(", ", config.configDirs()) + ").",
                    "Choose one of those. To rebuild from " + dir + ", root adds it to configDirs in the engine's"
                            + " settings (on NixOS: programs.safe-rebuild.settings.configDirs; otherwise "
                            + EngineConfig.DEFAULT_FILE + " or the file the engine is started with); then start the"
                            + " app, or the command, again.");
        }
        try {
            return new Checked(dir, SafeFiles.directoryIdentity(Path.of(dir)));
        } catch (SafeFiles.Planted e) {
            throw new Problem(ProblemCode.NOT_AUTHORIZED, "The configuration directory " + dir + " is not used: "
                    + e.getMessage().replace("; the engine never writes through a link in its own directories", "")
                    + ". The engine uses a configuration directory only at its own path, never through a link, for"
                    + " every operation, so that what it checks, binds into the sandbox, builds and backs up is one"
                    + " and the same directory.",
                    "If the link is meant to be there, put the directory it leads to in configDirs of the engine"
                            + " settings instead of " + dir + "; otherwise remove the link and put the directory back.",
                    e);
        } catch (LibC.Errno e) {
            if (e.errno() == LibC.ENOENT || e.errno() == LibC.ENOTDIR) {
                return new Checked(dir, null);
            }
            throw Problem.internal("Cannot open the configuration directory " + dir + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw Problem.internal("Cannot open the configuration directory " + dir + ": " + e.getMessage(), e);
        }
    }
}
