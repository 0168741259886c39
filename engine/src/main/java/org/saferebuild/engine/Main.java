package org.saferebuild.engine;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.saferebuild.engine.sys.Posix;
import org.saferebuild.engine.sys.SafeFiles;
import org.saferebuild.engine.sys.StartGuard;
import org.saferebuild.protocol.FrameWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * safe-rebuild-engine: the only code that runs as root. It speaks the protocol on stdin/stdout
 * and logs to stderr. Usage: {@code safe-rebuild-engine [--config FILE]}.
 */
public final class Main {
    static final int EXIT_USAGE = 64;
    /** A variable that changes what code runs reached the engine, or its code is not root's alone. */
    static final int EXIT_UNSAFE_START = 65;
    static final int EXIT_NOT_ROOT = 77;
    static final int EXIT_CONFIG = 78;

    private Main() {
    }

    public static void main(String[] args) {
        fastProcessStart();
        // stdout is the protocol channel: take it for the frames and send everything else to stderr.
        FileOutputStream protocolOut = new FileOutputStream(FileDescriptor.out);
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true));
        System.exit(run(args, protocolOut));
    }

    /**
     * Processes (nix-env, switch-to-configuration, nix) start with vfork and exec, as a shell starts
     * them, instead of Java's default since 12: posix_spawn of a helper (jspawnhelper) that then
     * execs the command, two execs per process, 1-2 ms more each here. Java 17 to 21 offer it
     * (it was their default on Linux until Java 12); later releases deprecate it, and keep their default.
     */
    static void fastProcessStart() {
        int feature = Runtime.version().feature();
        if (feature >= 17 && feature <= 21 && System.getProperty("jdk.lang.Process.launchMechanism") == null) {
            System.setProperty("jdk.lang.Process.launchMechanism", "VFORK");
        }
    }

    static int run(String[] args, FileOutputStream protocolOut) {
        Path configFile = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length && configFile == null) {
                String value = args[++i];
                if (!value.startsWith("/") || value.indexOf('\0') >= 0) {
                    System.err.println("safe-rebuild-engine: --config needs an absolute path, not \"" + value
                            + "\". Usage: safe-rebuild-engine [--config FILE]");
                    return EXIT_USAGE;
                }
                configFile = Path.of(value);
            } else if (args[i].equals("--version") && args.length == 1) {
                System.err.println("safe-rebuild-engine " + Engine.version());
                return 0;
            } else {
                System.err.println("safe-rebuild-engine: unknown argument \"" + args[i] + "\"."
                        + " Usage: safe-rebuild-engine [--config FILE]");
                return EXIT_USAGE;
            }
        }
        // The installed wrapper (packaging/safe-rebuild-engine.in) starts the JVM with an empty
        // environment; if a dangerous variable got here anyway, the way the engine was started is wrong.
        List<String> dangerous = StartGuard.dangerousVariables(System.getenv());
        if (!dangerous.isEmpty()) {
            System.err.println("safe-rebuild-engine: refusing to run: its environment contains "
                    + String.join(", ", dangerous) + ", which can change what code runs as root."
                    + " Start the engine through its installed wrapper (it clears the environment),"
                    + " or unset these variables.");
            return EXIT_UNSAFE_START;
        }
        Optional<String> untrustedCode = StartGuard.untrustedCode(System.getProperty("java.home"),
                System.getProperty("java.class.path", ""));
        if (untrustedCode.isPresent()) {
            System.err.println("safe-rebuild-engine: refusing to run: " + untrustedCode.get() + "."
                    + " Install the engine and its Java runtime in root-owned directories that others cannot"
                    + " write (see docs/install.md).");
            return EXIT_UNSAFE_START;
        }
        int euid = Posix.effectiveUid();
        if (euid != 0) {
            System.err.println("safe-rebuild-engine must run as root (uid 0), but runs as uid " + euid
                    + ". The app starts it through pkexec; to try it by hand use sudo.");
            return EXIT_NOT_ROOT;
        }
        try {
            SafeFiles.usesOpenat2(); // loads the native calls every write of the engine's state needs
        } catch (LinkageError e) {
            System.err.println("safe-rebuild-engine: cannot load its native library (JNA): " + e
                    + ". Reinstall the engine with all of its jars (see docs/install.md).");
            return EXIT_CONFIG;
        }
        Logger log = LoggerFactory.getLogger(Main.class);
        if (!Posix.leaveTerminalSession()) {
            log.info("the engine keeps a controlling terminal (it leads a process group already): activations"
                    + " run under setsid");
        }
        EngineConfig config;
        try {
            if (configFile != null) {
                config = EngineConfig.load(configFile);
            } else if (Files.exists(Path.of(EngineConfig.DEFAULT_FILE))) {
                config = EngineConfig.load(Path.of(EngineConfig.DEFAULT_FILE));
            } else {
                config = EngineConfig.defaults();
            }
        } catch (Problem p) {
            System.err.println("safe-rebuild-engine: " + p.getMessage() + " " + p.fix());
            return EXIT_CONFIG;
        }
        Map<String, String> launchEnv = new HashMap<>();
        // SSH_CONNECTION: started by sshd for a remote operator (docs/remote.md); only recorded.
        for (String var : new String[] {"PKEXEC_UID", "SUDO_UID", "SSH_CONNECTION"}) {
            String v = System.getenv(var);
            if (v != null) {
                launchEnv.put(var, v);
            }
        }
        Engine engine = new Engine(config, launchEnv);
        try {
            engine.start();
        } catch (Exception e) {
            System.err.println("safe-rebuild-engine: cannot prepare " + config.stateDir() + ": " + e.getMessage());
            return EXIT_CONFIG;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(engine::shutdown, "shutdown"));
        // The app's terminal or session going away must not stop an apply or its confirm-or-revert
        // timer (issue 4, docs/apply.md): the JVM would otherwise exit on SIGHUP.
        sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sun.misc.SignalHandler.SIG_IGN);
        log.info("engine {} ready (state {}, pid {})", Engine.version(), config.stateDir(),
                ProcessHandle.current().pid());
        // An answer is written by the thread that has it when the pipe takes it at once (EventSink).
        EventSink sink = new EventSink(new FrameWriter(protocolOut), org.saferebuild.engine.sys.Pipes.nonBlocking(1));
        new EngineServer(System.in, sink, engine).serve();
        engine.awaitCriticalWork();
        log.info("engine exiting");
        return 0;
    }
}
