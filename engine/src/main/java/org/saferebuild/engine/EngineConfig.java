package org.saferebuild.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.saferebuild.engine.nix.NixOptions;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sys.Posix;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Values;

/**
 * The engine's settings. They come only from a root-owned file that nobody else can write
 * ({@code --config}, default {@value #DEFAULT_FILE}); the app never supplies them. Missing
 * fields take the NixOS defaults, so an empty file describes the real machine.
 *
 * @param configDirs      configuration directories the app may name; the first is the default
 * @param plans           bind plans the app may choose (see {@code plans/*.json})
 * @param stateDir        GC roots, backups, baselines and sandbox work directories
 * @param systemProfile   the system profile whose generations are switched and listed
 * @param currentSystem   the running system's link (/run/current-system)
 * @param bootedSystem    the booted system's link (/run/booted-system)
 * @param auditLog        the append-only audit trail
 * @param nixPath         NIX_PATH entries for classic (configuration.nix) builds, name → path
 * @param toolDirs        where tools are looked up, in order
 * @param minFreeBytes    free space needed on the filesystems of /nix and of the state directory
 * @param watchedServices unit globs the operator watches (the FIELD chakra services)
 * @param configSearch    text searched for in the built system's etc/
 * @param watchedLogs     log file globs whose tails verification shows
 * @param journalPattern  text searched for in this boot's journal
 * @param confirmSeconds  how long confirm-or-revert waits for the operator
 * @param nixOptions      Nix settings the engine passes with {@code --option} to every nix command
 *                        it runs (only the keys of {@link NixOptions}; the demo system turns Nix's
 *                        build sandbox off here, never in the machine's nix.conf)
 * @param closureRehashDays how long a store path hashed by the closure check and unchanged since
 *                        (its files' inodes, sizes, modes and change times) is not hashed again; 0:
 *                        every apply and rollback hashes the whole closure (docs/apply.md "What it costs")
 * @param runtimeDir      what lasts only while the machine runs: the sandboxes' work directories and
 *                        their locks. Default {@code /run/safe-rebuild} (a tmpfs on NixOS: no journal
 *                        to wait for, and a reboot leaves nothing behind); where stateDir is set and
 *                        this is not (a test, the demo), stateDir, so all of it stays in one place
 */
public record EngineConfig(
        List<String> configDirs,
        List<String> plans,
        String stateDir,
        String systemProfile,
        String currentSystem,
        String bootedSystem,
        String auditLog,
        Map<String, String> nixPath,
        List<String> toolDirs,
        Long minFreeBytes,
        List<String> watchedServices,
        List<String> configSearch,
        List<String> watchedLogs,
        String journalPattern,
        Integer confirmSeconds,
        Map<String, String> nixOptions,
        Integer closureRehashDays,
        String runtimeDir) {

    public static final String DEFAULT_FILE = "/etc/safe-rebuild/engine.json";

    public EngineConfig {
        configDirs = paths(configDirs, List.of("/etc/nixos"), "configDirs");
        plans = List.copyOf(plans == null ? List.of("nixos") : plans);
        boolean ownStateDir = stateDir != null;
        stateDir = path(stateDir, "/var/lib/safe-rebuild", "stateDir");
        runtimeDir = path(runtimeDir, ownStateDir ? stateDir : "/run/safe-rebuild", "runtimeDir");
        systemProfile = path(systemProfile, "/nix/var/nix/profiles/system", "systemProfile");
        currentSystem = path(currentSystem, "/run/current-system", "currentSystem");
        bootedSystem = path(bootedSystem, "/run/booted-system", "bootedSystem");
        auditLog = path(auditLog, "/var/log/safe-rebuild/audit.jsonl", "auditLog");
        nixPath = Map.copyOf(nixPath == null
                ? Map.of("nixpkgs", "/nix/var/nix/profiles/per-user/root/channels/nixos") : nixPath);
        nixPath.values().forEach(v -> Values.absolutePath(v, "nixPath"));
        toolDirs = paths(toolDirs, Tools.DEFAULT_DIRS, "toolDirs");
        minFreeBytes = minFreeBytes == null ? 5L * 1024 * 1024 * 1024 : minFreeBytes;
        watchedServices = List.copyOf(watchedServices == null
                ? List.of("*-chakra.service", "field-translator.service") : watchedServices);
        configSearch = List.copyOf(configSearch == null ? List.of("field.chakra") : configSearch);
        watchedLogs = List.copyOf(watchedLogs == null ? List.of("/var/log/iNixos-Hive/*.log") : watchedLogs);
        journalPattern = journalPattern == null ? "FIELD Chakra Ecosystem" : journalPattern;
        confirmSeconds = confirmSeconds == null ? 120 : confirmSeconds;
        if (confirmSeconds < 5 || confirmSeconds > 3600) {
            throw new IllegalArgumentException("confirmSeconds must be between 5 and 3600");
        }
        nixOptions = NixOptions.validate(nixOptions);
        closureRehashDays = closureRehashDays == null ? 7 : closureRehashDays;
        if (closureRehashDays < 0 || closureRehashDays > 366) {
            throw new IllegalArgumentException("closureRehashDays must be between 0 (hash every time) and 366");
        }
        if (plans.isEmpty() || configDirs.isEmpty()) {
            throw new IllegalArgumentException("plans and configDirs must not be empty");
        }
    }

    /** The settings before closureRehashDays existed (its default, 7 days). */
    public EngineConfig(List<String> configDirs, List<String> plans, String stateDir, String systemProfile,
                        String currentSystem, String bootedSystem, String auditLog, Map<String, String> nixPath,
                        List<String> toolDirs, Long minFreeBytes, List<String> watchedServices,
                        List<String> configSearch, List<String> watchedLogs, String journalPattern,
                        Integer confirmSeconds, Map<String, String> nixOptions) {
        this(configDirs, plans, stateDir, systemProfile, currentSystem, bootedSystem, auditLog, nixPath, toolDirs,
                minFreeBytes, watchedServices, configSearch, watchedLogs, journalPattern, confirmSeconds, nixOptions,
                null, null);
    }

    /** The NixOS defaults: what an empty settings file means. */
    public static EngineConfig defaults() {
        return new EngineConfig(null, null, null, null, null, null, null, null, null, null, null, null, null,
                null, null, null, null, null);
    }

    public String defaultConfigDir() {
        return configDirs.get(0);
    }

    public Path state() {
        return Path.of(stateDir);
    }

    public Path runtime() {
        return Path.of(runtimeDir);
    }

    /**
     * Loads settings from a file that only root can change. A settings file anyone else can write
     * would let them point the engine at their own "configuration", so it is refused.
     */
    public static EngineConfig load(Path file) throws Problem {
        Optional<String> untrusted = Posix.untrustedReason(file);
        if (untrusted.isPresent()) {
            throw new Problem(ProblemCode.NOT_AUTHORIZED, "The engine settings file " + file
                    + " is not trusted: " + untrusted.get() + ".",
                    "Make it and every directory above it owned by root and not writable by others"
                            + " (chown root:root; chmod go-w).");
        }
        try {
            ObjectMapper mapper = Json.mapper();
            return mapper.readValue(Files.readString(file), EngineConfig.class);
        } catch (IOException | IllegalArgumentException e) {
            throw new Problem(ProblemCode.INVALID_ARGUMENT, "The engine settings file " + file
                    + " cannot be read: " + e.getMessage(),
                    "Fix the file (JSON, see docs/security.md for the fields) or remove it to use the defaults.", e);
        }
    }

    /** Whether a configuration directory named by the app is one this engine may use. */
    public boolean allowsConfigDir(String dir) {
        return configDirs.contains(dir);
    }

    private static String path(String value, String fallback, String field) {
        return Values.absolutePath(value == null ? fallback : value, field);
    }

    private static List<String> paths(List<String> values, List<String> fallback, String field) {
        List<String> out = List.copyOf(values == null ? fallback : values);
        out.forEach(v -> Values.absolutePath(v, field));
        return out;
    }
}
