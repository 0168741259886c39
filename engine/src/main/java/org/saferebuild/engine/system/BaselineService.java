package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.saferebuild.engine.ConfigDirs;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.SafeFiles;
import org.saferebuild.engine.sys.StateProblems;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * The checklist's "Observer has captured pre-change baseline" and "Backup of current
 * configuration exists" (runbook "Safety Checklist"). What could not be observed here is named,
 * not guessed: without systemd there are no unit states and no journal cursor.
 */
public final class BaselineService {
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
            .withZone(ZoneOffset.UTC);

    /** A baseline is a few KiB; anything much larger was not written by the engine. */
    private static final int MAX_BASELINE_BYTES = 16 * 1024 * 1024;

    private final EngineConfig config;
    private final SystemProfile profile;
    private final Activation activation;
    private final Systemd systemd;
    private final ConfigBackup backup;

    public BaselineService(EngineConfig config, SystemProfile profile, Activation activation, Tools tools) {
        this.config = config;
        this.profile = profile;
        this.activation = activation;
        this.systemd = new Systemd(tools, config.toolDirs());
        this.backup = new ConfigBackup(tools, config.toolDirs());
    }

    Path baselinesDir() {
        return config.state().resolve("baselines");
    }

    public SystemResult.Baseline take(SystemRequest.Baseline r, OpContext ctx) throws Problem {
        String configDir = r.configDir() != null ? r.configDir() : config.defaultConfigDir();
        ConfigDirs.check(config, configDir); // the one rule for configuration directories (issue 11)
        Instant now = Instant.now();
        String id = "bl-" + ID_TIME.format(now) + "-" + WorkDirs.randomSuffix(6);
        List<String> notObserved = new ArrayList<>();
        Integer generation = profile.current().orElse(null);
        String generationPath = profile.currentPath().orElse(null);
        if (generation == null) {
            notObserved.add("generation: the system profile " + profile.path() + " has no current generation");
        }
        List<String> failed = null;
        List<SystemResult.ServiceState> services = null;
        String cursor = null;
        if (activation.systemdRunning()) {
            ctx.progress("observe", "Reading unit states and the journal position", null, null);
            try {
                failed = systemd.failedUnits();
            } catch (IOException | Problem e) {
                notObserved.add("failed units: " + e.getMessage());
            }
            try {
                services = systemd.services(config.watchedServices());
            } catch (IOException | Problem e) {
                notObserved.add("watched services: " + e.getMessage());
            }
            try {
                cursor = systemd.journalCursor();
            } catch (IOException | Problem e) {
                notObserved.add("journal cursor: " + e.getMessage());
            }
        } else {
            String why = "systemd is not running here (no /run/systemd/system)";
            notObserved.add("failed units: " + why);
            notObserved.add("watched services: " + why);
            notObserved.add("journal cursor: " + why + ", so there is no journal");
        }
        Map<String, Long> logSizes = new LinkedHashMap<>();
        for (Path log : watchedLogs(config.watchedLogs())) {
            try {
                logSizes.put(log.toString(), Files.size(log));
            } catch (IOException e) {
                notObserved.add("log " + log + ": " + e.getMessage());
            }
        }
        ctx.progress("backup", "Backing up " + configDir, null, null);
        Path into = config.state().resolve("backups").resolve(id);
        SystemResult.Backup b = backup.copy(Path.of(configDir), into);
        SystemResult.Baseline baseline = new SystemResult.Baseline(id, now.toString(), generation, generationPath,
                SystemLinks.readLink(config.currentSystem()), SystemLinks.readLink(config.bootedSystem()), failed,
                services, cursor, logSizes, b, notObserved);
        try {
            WorkDirs.ensurePrivateDir(baselinesDir());
            String json = Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(baseline);
            SafeFiles.create(baselinesDir().resolve(id + ".json"), json);
            SafeFiles.replace(baselinesDir().resolve("latest.json"), json);
        } catch (IOException e) {
            throw StateProblems.of(e, "Cannot store the baseline in " + baselinesDir(), baselinesDir());
        }
        return baseline;
    }

    /** The most recent baseline, or null when none was taken. */
    SystemResult.Baseline latest() throws IOException {
        String text = SafeFiles.readString(baselinesDir().resolve("latest.json"), MAX_BASELINE_BYTES);
        return text == null ? null : Json.mapper().readValue(text, SystemResult.Baseline.class);
    }

    /** Files matching the watched-log patterns (a glob in the file name part: /var/log/iNixos-Hive/*.log). */
    static List<Path> watchedLogs(List<String> patterns) {
        List<Path> out = new ArrayList<>();
        for (String pattern : patterns) {
            Path p = Path.of(pattern);
            Path dir = p.getParent();
            if (dir == null || !Files.isDirectory(dir)) {
                continue;
            }
            PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + p.getFileName());
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(f -> m.matches(f.getFileName()) && Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS))
                        .sorted().forEach(f -> {
                            if (!out.contains(f)) {
                                out.add(f);
                            }
                        });
            } catch (IOException e) {
                // an unreadable directory shows up as "no files" in verify
            }
        }
        return out;
    }
}
