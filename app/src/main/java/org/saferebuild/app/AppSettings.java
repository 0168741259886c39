package org.saferebuild.app;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.saferebuild.app.launch.SshTarget;

/**
 * The app's command line. Everything privileged is decided by the engine's own root-owned
 * settings; these only say which engine settings file to start it with and what to offer.
 *
 * <pre>safe-rebuild [--engine-config FILE] [--config-dir DIR]... [--plan NAME] [--theme light|dark]
 *              [--target-host [user@]host [--ssh-config FILE] [--target-engine PATH]
 *               [--target-engine-config FILE] [--target-sudo] [--use-substitutes]]</pre>
 *
 * With {@code --target-host} the machine being changed is another one, reached over ssh
 * (docs/remote.md): this machine builds, the target's engine compares, applies and verifies.
 *
 * @param target the machine to change when it is not this one, else null
 */
public record AppSettings(Path engineConfig, List<String> configDirs, String plan, boolean dark, SshTarget target,
                          boolean useSubstitutes) {
    static final String USAGE = "Usage: safe-rebuild [--engine-config FILE] [--config-dir DIR]... [--plan NAME]"
            + " [--theme light|dark] [--target-host [user@]host [--ssh-config FILE] [--target-engine PATH]"
            + " [--target-engine-config FILE] [--target-sudo] [--use-substitutes]]; safe-rebuild --help lists the"
            + " command line's commands";

    public static AppSettings parse(List<String> args) {
        Path engineConfig = null;
        List<String> dirs = new ArrayList<>();
        String plan = null;
        boolean dark = false;
        String host = null;
        Path sshConfig = null;
        String engine = null;
        String engineSettings = null;
        boolean sudo = false;
        boolean substitutes = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String v = i + 1 < args.size() ? args.get(i + 1) : null;
            if (a.equals("--target-sudo") || a.equals("--use-substitutes")) {
                sudo |= a.equals("--target-sudo");
                substitutes |= a.equals("--use-substitutes");
                continue;
            }
            switch (a) {
                case "--engine-config" -> engineConfig = Path.of(need(a, v));
                case "--config-dir" -> dirs.add(need(a, v));
                case "--plan" -> plan = need(a, v);
                case "--theme" -> dark = "dark".equals(need(a, v));
                case "--target-host" -> host = need(a, v);
                case "--ssh-config" -> sshConfig = Path.of(need(a, v)).toAbsolutePath();
                case "--target-engine" -> engine = need(a, v);
                case "--target-engine-config" -> engineSettings = need(a, v);
                default -> throw new IllegalArgumentException("unknown argument \"" + a + "\". " + USAGE);
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
        SshTarget target = host == null ? null : new SshTarget(host, sshConfig, engine, engineSettings, sudo);
        return new AppSettings(engineConfig, List.copyOf(dirs), plan, dark, target, substitutes);
    }

    private static String need(String flag, String value) {
        if (value == null) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return value;
    }
}
