package org.saferebuild.engine.build;

import com.fasterxml.jackson.core.type.TypeReference;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.SafeFiles;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.NixResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last build of each configuration directory, in the engine's state directory
 * ({@code build-history.json}), so the Target screen can say "built 2 h ago" or "failed
 * yesterday". Written after every build (replaced atomically through {@link SafeFiles}, never
 * through a link); unreadable history is empty.
 */
public final class BuildHistory {
    private static final Logger LOG = LoggerFactory.getLogger(BuildHistory.class);
    /** One entry per configuration directory: a few hundred bytes each. */
    private static final int MAX_BYTES = 1 << 20;
    private final Path file;

    public BuildHistory(Path stateDir) {
        this.file = stateDir.resolve("build-history.json");
    }

    /** The last build of every directory that has one. */
    public synchronized Map<String, NixResult.LastBuild> all() {
        try {
            String text = SafeFiles.readString(file, MAX_BYTES);
            if (text == null) {
                return Map.of();
            }
            return Json.mapper().readValue(text, new TypeReference<LinkedHashMap<String, NixResult.LastBuild>>() { });
        } catch (IOException | IllegalArgumentException e) {
            LOG.warn("cannot read {}: {}", file, e.getMessage());
            return Map.of();
        }
    }

    /** Records the build that just ended. A failure to write is logged: the build itself stands. */
    public synchronized void record(String configDir, NixResult.LastBuild build) {
        Map<String, NixResult.LastBuild> all = new LinkedHashMap<>(all());
        all.put(configDir, build);
        try {
            WorkDirs.ensurePrivateDir(file.getParent());
            SafeFiles.replace(file, Json.mapper().writeValueAsString(all));
        } catch (IOException | Problem e) {
            LOG.warn("cannot write {}: {}", file, e.getMessage());
        }
    }
}
