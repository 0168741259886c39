package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import java.util.List;

/** Answers to {@link NixRequest}s. */
@JsonSubTypes({
        @JsonSubTypes.Type(value = NixResult.Validation.class, name = "validation"),
        @JsonSubTypes.Type(value = NixResult.Built.class, name = "build"),
        @JsonSubTypes.Type(value = NixResult.ConfigList.class, name = "configs"),
})
public sealed interface NixResult extends ResultBody {

    /** A store path and its name without the hash ("firefox-121.0", "firefox-121.0.drv"). */
    record StoreItem(String path, String name) {
        public StoreItem {
            Values.storePath(path, "path");
            Values.require(name, "name");
        }

        public static StoreItem of(String path) {
            return new StoreItem(path, path.substring("/nix/store/".length() + 33));
        }
    }

    /**
     * Something the build must download: a fixed-output derivation that is not in the store
     * yet. {@code url} is where it comes from when nix says so (builtin:fetchurl), else null.
     */
    record Download(String drvPath, String name, String url) {
        public Download {
            Values.storePath(drvPath, "drvPath");
            Values.require(name, "name");
        }
    }

    /**
     * What validation found.
     *
     * @param configKind   FLAKE or CLASSIC (the result's own "kind" is "validation")
     * @param installable  what nix evaluates, as seen inside the sandbox
     *                     ("/etc/nixos#nixosConfigurations.BearsiMac…" or "&lt;nixpkgs/nixos&gt; system")
     * @param hosts        the hosts the flake declares (empty for classic)
     * @param drvPath      the system's derivation
     * @param systemName   the system's store name, "nixos-system-&lt;host&gt;-&lt;version&gt;"
     * @param toBuild      derivations the build would run
     * @param toFetch      paths it would download from a substituter
     * @param downloadMiB  nix's estimate for toFetch, null when nothing is fetched
     * @param needsNetwork downloads among toBuild; with the network isolated the build cannot do them
     * @param warnings     nix's evaluation warnings and what the operator should know before building
     */
    record Validation(String sandbox, String configDir, PreflightReport.ConfigKind configKind, String host,
                      List<String> hosts, String installable, String drvPath, String systemName,
                      List<StoreItem> toBuild, List<StoreItem> toFetch, Double downloadMiB, Double unpackedMiB,
                      List<Download> needsNetwork, boolean networkIsolated, List<String> warnings,
                      long evalMillis, long dryRunMillis) implements NixResult {
        public Validation {
            Values.sandboxId(sandbox);
            Values.absolutePath(configDir, "configDir");
            if (configKind == null) {
                throw new IllegalArgumentException("configKind is required");
            }
            Values.require(host, "host");
            Values.storePath(drvPath, "drvPath");
            hosts = List.copyOf(hosts);
            toBuild = List.copyOf(toBuild);
            toFetch = List.copyOf(toFetch);
            needsNetwork = List.copyOf(needsNetwork);
            warnings = List.copyOf(warnings);
        }
    }

    /**
     * A finished build.
     *
     * @param storePath the built system; a GC root ({@code gcRoot}) keeps it, and only such paths
     *                  can be applied
     * @param logFile   the full build log on disk
     * @param logProblem null when the whole log is in {@code logFile}; otherwise why it is not (a full
     *                   disk) and how much of it is
     * @param built     derivations built by this run
     * @param fetched   paths downloaded by this run
     */
    record Built(String sandbox, String configDir, PreflightReport.ConfigKind configKind, String host, String storePath,
                 String drvPath, String gcRoot, String logFile, String logProblem, int built, int fetched, long millis)
            implements NixResult {
        public Built {
            Values.sandboxId(sandbox);
            Values.absolutePath(configDir, "configDir");
            Values.storePath(storePath, "storePath");
            Values.storePath(drvPath, "drvPath");
            Values.absolutePath(gcRoot, "gcRoot");
            Values.absolutePath(logFile, "logFile");
        }
    }

    /**
     * The last build of a configuration directory by this engine.
     *
     * @param ok        whether it built; when not, {@code problem} says why in one sentence
     * @param storePath the built system (null when it failed)
     * @param at        when it ended, ISO-8601 UTC
     */
    record LastBuild(String host, boolean ok, String storePath, String at, long millis, String problem) {
        public LastBuild {
            Values.require(at, "at");
            if (storePath != null) {
                Values.storePath(storePath, "storePath");
            }
        }
    }

    /**
     * One configuration directory the engine is set up for, as the Target screen lists it.
     *
     * @param description the flake's {@code description}, or null
     * @param comment     the first lines of configuration.nix's leading comment (not NixOS's
     *                    generated template), or null
     * @param hosts       the hosts the flake declares (empty for classic, or when they could not
     *                    be listed: {@code error} says why)
     * @param lastBuild   this engine's last build of it, or null
     */
    record ConfigSummary(String path, PreflightReport.ConfigKind kind, List<String> hosts, String description,
                         String comment, LastBuild lastBuild, String error) {
        public ConfigSummary {
            Values.absolutePath(path, "path");
            if (kind == null) {
                throw new IllegalArgumentException("kind is required");
            }
            hosts = List.copyOf(hosts == null ? List.of() : hosts);
        }
    }

    /** Every configuration directory of the engine's settings, in their order. */
    record ConfigList(List<ConfigSummary> configs) implements NixResult {
        public ConfigList {
            configs = List.copyOf(configs == null ? List.of() : configs);
        }
    }
}
