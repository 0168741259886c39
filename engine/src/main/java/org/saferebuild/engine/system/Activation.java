package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sys.LibC;
import org.saferebuild.protocol.ProblemCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@code <system>/bin/switch-to-configuration <action>} the way nixos-rebuild does (runbook
 * step 6). Where systemd runs, in a transient unit through {@code systemd-run … --wait}, so the
 * activation finishes even if the engine itself is killed; elsewhere (a chroot, a test machine)
 * directly with nixos-rebuild's fallback environment, in a session of its own so a hang-up of the
 * operator's terminal does not reach it.
 */
public final class Activation {
    private static final Logger LOG = LoggerFactory.getLogger(Activation.class);
    /** nixos-rebuild uses one fixed unit name too: two activations can never run at once. */
    static final String UNIT = "safe-rebuild-switch-to-configuration";
    /** Activation has no natural bound (services may take long to restart); this only ends a hang. */
    private static final Duration TIMEOUT = Duration.ofHours(2);
    private static final String LOCALE_ARCHIVE = "/run/current-system/sw/lib/locale/locale-archive";

    private final EngineConfig config;
    private final Tools tools;
    private final Path systemdMarker;

    /** How an activation ended, and whether it ran under systemd. */
    public record Result(int exitCode, boolean timedOut, boolean viaSystemd, List<String> lastLines) {
        public boolean ok() {
            return exitCode == 0 && !timedOut;
        }

        /** How it ended, in the operator's words: the exit code or the timeout, and its last line. */
        public String ended() {
            String how = timedOut ? "it did not finish in time and was stopped" : "exit code " + exitCode;
            if (!lastLines.isEmpty()) {
                how += "; last output: " + lastLines.get(lastLines.size() - 1);
            }
            return how;
        }
    }

    public Activation(EngineConfig config, Tools tools) {
        this(config, tools, Path.of("/run/systemd/system"));
    }

    Activation(EngineConfig config, Tools tools, Path systemdMarker) {
        this.config = config;
        this.tools = tools;
        this.systemdMarker = systemdMarker;
    }

    /** sd_booted(): systemd is PID 1 exactly when this directory exists. */
    public boolean systemdRunning() {
        return Files.isDirectory(systemdMarker);
    }

    /** The switch script of a system, checked to be an executable file inside the nix store. */
    public Path switchScript(String system) throws Problem {
        Path script = Path.of(system, "bin", "switch-to-configuration");
        try {
            Path real = script.toRealPath();
            if (!real.startsWith("/nix/store/") || !Files.isRegularFile(real) || !Files.isExecutable(real)) {
                throw notASystem(system);
            }
        } catch (IOException e) {
            throw notASystem(system);
        }
        return script;
    }

    /**
     * Runs the action and streams its output lines to {@code lines} (stdout and stderr alike, as a
     * terminal would show them). Never throws for a failed activation: the caller decides what
     * to put back.
     */
    public Result run(String system, String action, Consumer<String> lines) throws Problem {
        return run(system, action, lines, pid -> { });
    }

    /** As {@link #run(String, String, Consumer)}; {@code started} gets the process id once it runs. */
    public Result run(String system, String action, Consumer<String> lines, LongConsumer started) throws Problem {
        Path script = switchScript(system);
        Map<String, String> env = environment();
        boolean viaSystemd = systemdRunning() && tools.find("systemd-run").isPresent() && systemdRunWorks(env);
        Command command;
        if (viaSystemd) {
            command = Command.of(tools.require("systemd-run")).args(systemdRunArgs())
                    .args(script.toString(), action).env(env).timeout(TIMEOUT).build();
        } else if (LibC.hasControllingTerminal()) {
            // A hang-up of the operator's terminal would reach it: it runs in a session of its own.
            command = Command.of(tools.require("setsid")).args("--wait", script.toString(), action)
                    .env(env).timeout(TIMEOUT).build();
        } else {
            // The engine left the operator's session at start (Posix.leaveTerminalSession): no
            // terminal can reach it or what it starts, and a setsid process would only cost time.
            command = Command.of(script.toString()).args(action).env(env).timeout(TIMEOUT).build();
        }
        LOG.info("activating: {}", command.display());
        try {
            Exec.Running r = Exec.stream(command, lines::accept, lines::accept);
            started.accept(r.pid());
            Exec.Outcome o = r.await();
            return new Result(o.exitCode(), o.timedOut(), viaSystemd, o.stderrTail());
        } catch (IOException e) {
            throw new Problem(ProblemCode.ACTIVATION_FAILED, "switch-to-configuration " + action + " of " + system
                    + " could not be started: " + e.getMessage(),
                    "Check that the system's bin/switch-to-configuration is intact (nix-store --verify-path "
                            + system + ").", e);
        }
    }

    /** switch-to-configuration's environment: nixos-rebuild's fallback, plus PATH = the engine's tool directories. */
    Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        // nixos-rebuild's own fallback is `env -i LOCALE_ARCHIVE=… NIXOS_INSTALL_BOOTLOADER=…`.
        if (Files.exists(Path.of(LOCALE_ARCHIVE))) {
            env.put("LOCALE_ARCHIVE", LOCALE_ARCHIVE);
        }
        env.put("NIXOS_INSTALL_BOOTLOADER", "");
        env.put("PATH", String.join(":", config.toolDirs()));
        return env;
    }

    /** nixos-rebuild's transient unit options; LOCALE_ARCHIVE and the bootloader flag are passed on. */
    static List<String> systemdRunArgs() {
        return List.of("-E", "LOCALE_ARCHIVE", "-E", "NIXOS_INSTALL_BOOTLOADER", "--collect", "--no-ask-password",
                "--pipe", "--quiet", "--service-type=exec", "--unit=" + UNIT, "--wait");
    }

    /** nixos-rebuild checks the same way: a working systemd-run can run {@code true}. */
    private boolean systemdRunWorks(Map<String, String> env) {
        try {
            Command probe = Command.of(tools.require("systemd-run")).args(systemdRunArgs())
                    .args(tools.require("true").toString()).env(env).timeout(Duration.ofSeconds(30)).build();
            boolean ok = Exec.run(probe).ok();
            if (!ok) {
                LOG.warn("systemd-run does not work here; activating directly");
            }
            return ok;
        } catch (IOException | Problem e) {
            return false;
        }
    }

    private static Problem notASystem(String system) {
        return new Problem(ProblemCode.INVALID_ARGUMENT, system + " is not a NixOS system: it has no executable"
                + " bin/switch-to-configuration in the nix store.",
                "Apply the result of a build of nixosConfigurations.<host>.config.system.build.toplevel, or a"
                        + " generation from the list.");
    }
}
