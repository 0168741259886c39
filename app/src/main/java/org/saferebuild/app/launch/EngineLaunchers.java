package org.saferebuild.app.launch;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Chooses how to start the engine: already root → direct; otherwise pkexec (the desktop way), or
 * sudo -n when there is no pkexec or the operator asked for it. The choice says which and why;
 * the wizard shows it, and {@link Launched#mode()} reports what was used.
 *
 * <p>System properties (the installed app's launcher sets the first one):
 * {@value #ENGINE_PROPERTY} = the installed engine wrapper (default {@code /usr/libexec/safe-rebuild/safe-rebuild-engine});
 * {@value #LAUNCH_PROPERTY} = auto (default), pkexec, sudo or direct.
 */
public final class EngineLaunchers {
    public static final String ENGINE_PROPERTY = "saferebuild.engine";
    public static final String LAUNCH_PROPERTY = "saferebuild.launch";
    public static final Path DEFAULT_ENGINE = Path.of("/usr/libexec/safe-rebuild/safe-rebuild-engine");
    /** NixOS's setuid wrappers first: there pkexec and sudo live only in /run/wrappers/bin. Never PATH. */
    static final List<Path> PKEXEC_PLACES = List.of(Path.of("/run/wrappers/bin/pkexec"), Path.of("/usr/bin/pkexec"),
            Path.of("/bin/pkexec"));
    static final List<Path> SUDO_PLACES = List.of(Path.of("/run/wrappers/bin/sudo"), Path.of("/usr/bin/sudo"),
            Path.of("/bin/sudo"));

    private EngineLaunchers() {
    }

    /** The launcher chosen, how it starts the engine, and why that way (for the operator). */
    public record Choice(EngineLauncher launcher, Mode mode, String reason) {
    }

    /** What the choice depends on. */
    record Facts(int euid, String preference, Path engine, boolean engineInstalled, Optional<Path> pkexec,
                 Optional<Path> sudo, List<String> developmentCommand) {
    }

    /** Chooses from this app's uid, the system properties and what is installed here. */
    public static Choice choose(Path configFile, File engineLog) throws LaunchException {
        Path engine = Path.of(System.getProperty(ENGINE_PROPERTY, DEFAULT_ENGINE.toString()));
        return choose(new Facts(ProcessIds.effectiveUid(), System.getProperty(LAUNCH_PROPERTY, "auto"), engine,
                Files.isRegularFile(engine) && Files.isExecutable(engine), findPkexec(), findSudo(),
                developmentCommand()), configFile, engineLog);
    }

    static Choice choose(Facts f, Path configFile, File engineLog) throws LaunchException {
        String pref = f.preference().strip().toLowerCase();
        if (!List.of("auto", "pkexec", "sudo", "direct").contains(pref)) {
            throw new LaunchException("Unknown launch mode \"" + f.preference() + "\".",
                    "Use -D" + LAUNCH_PROPERTY + "=auto, pkexec, sudo or direct.", null);
        }
        if (pref.equals("direct") || (pref.equals("auto") && f.euid() == 0)) {
            if (f.euid() != 0) {
                throw new LaunchException("Starting the engine directly needs the app to run as root, and it runs"
                        + " as uid " + f.euid() + ".", "Use pkexec (the default) or sudo.", null);
            }
            List<String> cmd = new ArrayList<>(f.engineInstalled() ? List.of(f.engine().toString())
                    : f.developmentCommand());
            addConfig(cmd, configFile);
            return new Choice(new DirectLauncher(cmd, engineLog), Mode.DIRECT, "The app runs as root, so it starts the"
                    + " engine directly" + (f.engineInstalled() ? " (" + f.engine() + ")." : " from its own class path."));
        }
        if (!f.engineInstalled()) {
            throw new LaunchException("The engine is not installed at " + f.engine() + ".",
                    "Install Safe Rebuild (NixOS: programs.safe-rebuild.enable = true; other Linux:"
                            + " packaging/install-engine.sh, see docs/install.md), or point -D" + ENGINE_PROPERTY
                            + " at the installed engine.", null);
        }
        if (pref.equals("pkexec") || (pref.equals("auto") && f.pkexec().isPresent())) {
            Path pkexec = f.pkexec().orElseThrow(() -> new LaunchException("pkexec is not installed.",
                    "Install polkit (NixOS: security.polkit.enable = true; Debian: apt install pkexec), or use"
                            + " -D" + LAUNCH_PROPERTY + "=sudo.", null));
            return new Choice(new PkexecLauncher(pkexec, f.engine(), configFile, engineLog), Mode.PKEXEC,
                    "The engine runs as root after you authorize it in the password dialog (pkexec).");
        }
        Path sudo = f.sudo().orElseThrow(() -> new LaunchException("Neither pkexec nor sudo is installed, so the"
                + " engine cannot get root rights.", "Install polkit's pkexec (NixOS: security.polkit.enable = true;"
                + " Debian: apt install pkexec) and start the app again.", null));
        return new Choice(new SudoLauncher(sudo, f.engine(), configFile, engineLog), Mode.SUDO,
                pref.equals("sudo") ? "You asked for sudo: the engine starts with sudo -n (no password prompt)."
                        : "pkexec is not installed, so the engine starts with sudo -n (no password prompt).");
    }

    public static Optional<Path> findPkexec() {
        return firstExecutable(PKEXEC_PLACES);
    }

    public static Optional<Path> findSudo() {
        return firstExecutable(SUDO_PLACES);
    }

    /** java -cp (this app's class path, which holds the engine) org.saferebuild.engine.Main: for development. */
    public static List<String> developmentCommand() {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "org.saferebuild.engine.Main");
    }

    /** The app's LANG if it is a plain locale name, else C.UTF-8. */
    static String plainLang() {
        String lang = System.getenv("LANG");
        return lang != null && lang.matches("[A-Za-z0-9_.@-]{1,64}") ? lang : "C.UTF-8";
    }

    private static void addConfig(List<String> cmd, Path configFile) {
        if (configFile != null) {
            cmd.add("--config");
            cmd.add(configFile.toString());
        }
    }

    private static Optional<Path> firstExecutable(List<Path> places) {
        return places.stream().filter(p -> Files.isRegularFile(p) && Files.isExecutable(p)).findFirst();
    }
}
