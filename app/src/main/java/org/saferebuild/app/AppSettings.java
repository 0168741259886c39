package org.saferebuild.app;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The app's command line. Everything privileged is decided by the engine's own root-owned
 * settings; these only say which engine settings file to start it with and what to offer.
 *
 * <pre>safe-rebuild [--engine-config FILE] [--config-dir DIR]... [--plan NAME] [--theme light|dark]</pre>
 */
public record AppSettings(Path engineConfig, List<String> configDirs, String plan, boolean dark) {

    public static AppSettings parse(List<String> args) {
        Path engineConfig = null;
        List<String> dirs = new ArrayList<>();
        String plan = null;
        boolean dark = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String v = i + 1 < args.size() ? args.get(i + 1) : null;
            switch (a) {
                case "--engine-config" -> engineConfig = Path.of(need(a, v));
                case "--config-dir" -> dirs.add(need(a, v));
                case "--plan" -> plan = need(a, v);
                case "--theme" -> dark = "dark".equals(need(a, v));
                default -> throw new IllegalArgumentException("unknown argument \"" + a + "\". Usage: safe-rebuild"
                        + " [--engine-config FILE] [--config-dir DIR]... [--plan NAME] [--theme light|dark]");
            }
            i++;
        }
        if (dirs.isEmpty()) {
            dirs.add("/etc/nixos");
        }
        if (plan == null) {
            // The bind plan follows the machine: NixOS has /etc/NIXOS; anything else is a test host.
            plan = Files.exists(Path.of("/etc/NIXOS")) ? "nixos" : "debian-test";
        }
        return new AppSettings(engineConfig, List.copyOf(dirs), plan, dark);
    }

    private static String need(String flag, String value) {
        if (value == null) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return value;
    }
}
