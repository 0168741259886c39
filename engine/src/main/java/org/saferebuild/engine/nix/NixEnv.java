package org.saferebuild.engine.nix;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.saferebuild.engine.EngineConfig;

/**
 * The environment and common flags every nix invocation gets. The engine never passes on its
 * own inherited environment: NIX_PATH comes from the engine's settings, HOME is the engine's
 * own state directory, PATH is the engine's tool directories.
 */
public final class NixEnv {
    private final EngineConfig config;

    public NixEnv(EngineConfig config) {
        this.config = config;
    }

    /**
     * Global flags (before the subcommand) for the {@code nix} command: flakes and the nix
     * command made available on Nix 2.8 through current releases, then the settings' nixOptions.
     */
    public List<String> flakeArgs() {
        List<String> args = new ArrayList<>(List.of("--extra-experimental-features", "nix-command flakes"));
        args.addAll(optionArgs());
        return args;
    }

    /**
     * {@code --option NAME VALUE} for each of the settings' nixOptions, for every nix tool the
     * engine runs ({@code nix}, {@code nix-store}, {@code nix-env}): they apply to the engine's own
     * calls and never change the machine's nix.conf.
     */
    public List<String> optionArgs() {
        List<String> args = new ArrayList<>();
        config.nixOptions().forEach((k, v) -> args.addAll(List.of("--option", k, v)));
        return args;
    }

    /**
     * Subcommand flags (after "eval"/"build") for installables: never write flake.lock — the
     * configuration is read-only in the sandbox, and evaluating must not change it.
     */
    public static List<String> lockArgs() {
        return List.of("--no-write-lock-file");
    }

    /** Flags for running without a network: fail fast instead of waiting on substituters. */
    public static List<String> offlineArgs() {
        return List.of("--offline", "--option", "substituters", "", "--option", "connect-timeout", "1");
    }

    /**
     * Whether the engine's nix calls use the machine's store at /nix (local, or through the
     * daemon, which keeps the same database): neither the engine's nixOptions nor
     * /etc/nix/nix.conf name another store. Only then may its database be read directly.
     */
    public boolean usesDefaultStore() {
        if (config.nixOptions().containsKey("store")) {
            return false;
        }
        java.nio.file.Path conf = java.nio.file.Path.of("/etc/nix/nix.conf");
        try {
            for (String line : java.nio.file.Files.readAllLines(conf)) {
                String l = line.strip();
                if (l.startsWith("store") && l.substring(5).strip().startsWith("=")) {
                    String v = l.substring(l.indexOf('=') + 1).strip();
                    if (!v.equals("auto") && !v.equals("daemon") && !v.equals("local")) {
                        return false;
                    }
                }
            }
        } catch (java.nio.file.NoSuchFileException e) {
            return true;
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
        return true;
    }

    /** The settings' nixOptions in words ("sandbox = false"), for the operator. */
    public String describeOptions() {
        return config.nixOptions().entrySet().stream()
                .map(e -> e.getKey() + " = " + (e.getValue().isEmpty() ? "\"\"" : e.getValue()))
                .collect(Collectors.joining(", "));
    }

    /** Environment for nix run on the host (outside any sandbox). */
    public Map<String, String> hostEnv() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("HOME", home().toString());
        env.put("PATH", String.join(":", config.toolDirs()));
        env.put("NIX_PATH", nixPath());
        return env;
    }

    public String nixPath() {
        return config.nixPath().entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(":"));
    }

    public Path home() {
        return config.state().resolve("home");
    }

    /** The first "error:" in nix's output and what follows, without terminal colours. */
    public static String firstError(String stderr) {
        String clean = stripAnsi(stderr);
        int i = clean.indexOf("error:");
        String s = (i >= 0 ? clean.substring(i) : clean).strip();
        return s.isEmpty() ? "nix failed without a message" : s;
    }

    public static String stripAnsi(String s) {
        return s.replaceAll("\u001B\\[[0-9;]*[A-Za-z]", "");
    }
}
