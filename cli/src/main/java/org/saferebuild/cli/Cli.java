package org.saferebuild.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.saferebuild.app.client.EngineClient;
import org.saferebuild.app.client.Problems;
import org.saferebuild.app.client.RemoteTarget;
import org.saferebuild.app.launch.EngineLaunchers;
import org.saferebuild.app.launch.LaunchException;
import org.saferebuild.app.launch.SshTarget;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.InspectRequest;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.ResultBody;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;
import org.saferebuild.protocol.SystemRef;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * The commands, in the runbook's order (docs/cli.md): preflight, isolate, build, diff,
 * switch/test/boot with confirm-or-revert, confirm, revert, status, verify, generations,
 * rollback, audit verify, audit export. Each one is a few engine operations; the rebuild itself is
 * {@link Rebuild}.
 */
final class Cli {
    // Exit codes (docs/cli.md, "Exit codes").
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;
    static final int NOT_VERIFIED = 3;
    static final int REVERTED = 4;
    static final int AUDIT_BROKEN = 5;
    static final int NO_ENGINE = 6;

    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(120);

    private static final List<String> TARGET = List.of("--target-host", "--ssh-config", "--target-engine",
            "--target-engine-config");
    private static final List<String> BUILD = List.of("--config-dir", "--host", "--plan", "--network");
    private static final Map<String, Set<String>> VALUED = new LinkedHashMap<>();
    private static final Map<String, Set<String>> FLAGS = new LinkedHashMap<>();

    static {
        option("preflight", List.of("--config-dir"), List.of());
        option("isolate", List.of("--config-dir", "--plan", "--network"), List.of());
        option("build", BUILD, List.of("--print-build-logs"));
        option("diff", concat(BUILD, TARGET, List.of("--system", "--generation")), List.of("--print-build-logs",
                "--target-sudo", "--use-substitutes"));
        for (String mode : List.of("switch", "test", "boot")) {
            option(mode, concat(BUILD, TARGET, List.of("--confirm-within", "--operator", "--parallel")),
                    List.of("--print-build-logs", "--target-sudo", "--use-substitutes", "--maintenance-window",
                            "--auto-confirm", "--no-wait"));
        }
        for (String c : List.of("confirm", "revert", "status", "verify", "generations", "audit verify")) {
            option(c, TARGET, List.of("--target-sudo"));
        }
        option("rollback", concat(TARGET, List.of("--to")), List.of("--target-sudo", "--boot"));
        option("audit export", concat(TARGET, List.of("--output", "--from")), List.of("--target-sudo"));
    }

    private static void option(String command, List<String> valued, List<String> flags) {
        Set<String> v = new HashSet<>(valued);
        v.add("--engine-config");
        Set<String> f = new HashSet<>(flags);
        f.add("--json");
        VALUED.put(command, v);
        FLAGS.put(command, f);
    }

    @SafeVarargs
    private static List<String> concat(List<String>... lists) {
        List<String> out = new ArrayList<>();
        for (List<String> l : lists) {
            out.addAll(l);
        }
        return out;
    }

    static final String USAGE_TEXT = """
            Usage: safe-rebuild COMMAND [options]        (safe-rebuild with no command opens the window)

            The runbook, step by step:
              preflight   [--config-dir DIR]                      what the runbook needs, each problem with its fix
              isolate     [--config-dir DIR] [--plan P] [--network isolated|shared]
                                                                  open the sandbox, show its mount tree, close it
              build       [--config-dir DIR] [--host H] [--print-build-logs]
                                                                  build in the sandbox; prints the store path
              diff        [build options | --system PATH | --generation N]
                                                                  packages, units and reboot advice against the running system
              switch | test | boot  [build options] [--confirm-within SECONDS] [--operator NAME]
                          [--maintenance-window] [--auto-confirm | --no-wait]
                                                                  build, diff, sign off, apply with confirm-or-revert
              confirm | revert | status                           keep or undo the applied system; show the countdown
              verify                                              the running system against the baseline
              generations                                         the system profile's generations
              rollback    --to N [--boot]                         back to generation N, now or at next boot
              audit verify | audit export [--output FILE] [--from LINE]

            Another machine (its engine over ssh, the system copied with nix copy):
              --target-host [HOST=][user@]machine   (repeatable; HOST is the flake's host for that machine)
              --ssh-config FILE  --target-engine PATH  --target-engine-config FILE  --target-sudo
              --use-substitutes  --parallel N  (with several targets: --auto-confirm or --no-wait)

            Everywhere: --json (one JSON document on stdout), --engine-config FILE (this machine's engine settings).
            Exit codes: 0 done, 1 failed, 2 usage, 3 verify found a failure, 4 reverted, 5 audit trail broken,
            6 the engine could not be started or reached. See docs/cli.md.""";

    private final InputStream in;
    private final PrintStream out;
    private final PrintStream err;
    private final boolean stdinTerminal;
    private final boolean stderrTerminal;
    private Io io;
    private Args args;
    private final List<AutoCloseable> open = new ArrayList<>();

    Cli(InputStream in, PrintStream out, PrintStream err, boolean stdinTerminal, boolean stderrTerminal) {
        this.in = in;
        this.out = out;
        this.err = err;
        this.stdinTerminal = stdinTerminal;
        this.stderrTerminal = stderrTerminal;
    }

    int run(String[] argv) {
        List<String> words = List.of(argv);
        if (words.isEmpty() || words.contains("--help") || words.get(0).equals("help")) {
            out.println(USAGE_TEXT);
            return words.isEmpty() ? USAGE : OK;
        }
        try {
            args = Args.parse(words, VALUED, FLAGS);
        } catch (Args.UsageException e) {
            err.println("safe-rebuild: " + e.getMessage() + ".\n\n" + USAGE_TEXT);
            return USAGE;
        }
        io = new Io(in, out, err, args.has("--json"), stdinTerminal, stderrTerminal);
        try {
            return dispatch();
        } catch (Args.UsageException e) {
            return usage(e.getMessage());
        } catch (LaunchException e) {
            return fail(NO_ENGINE, new Event.Failure(1, ProblemCode.NOT_AUTHORIZED, e.getMessage(), e.fix()));
        } catch (EngineConnection.EngineFailure e) {
            return fail(FAILED, e.failure());
        } catch (RuntimeException e) {
            e.printStackTrace(err);
            return fail(FAILED, new Event.Failure(1, ProblemCode.INTERNAL, "safe-rebuild failed: " + e + ".",
                    "This is a bug in safe-rebuild; report it with the output above. The engine's log is "
                            + logFile("engine.log") + "."));
        } finally {
            for (int i = open.size() - 1; i >= 0; i--) {
                try {
                    open.get(i).close();
                } catch (Exception e) {
                    // closing an engine that is gone already
                }
            }
        }
    }

    private int dispatch() throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
        if (!args.positional().isEmpty()) {
            throw new Args.UsageException(args.command + " takes no word \"" + args.positional().get(0) + "\"");
        }
        return switch (args.command) {
            case "preflight" -> preflight();
            case "isolate" -> isolate();
            case "build" -> new Rebuild(this).build();
            case "diff" -> new Rebuild(this).diff();
            case "switch" -> new Rebuild(this).apply(SystemRequest.Mode.SWITCH);
            case "test" -> new Rebuild(this).apply(SystemRequest.Mode.TEST);
            case "boot" -> new Rebuild(this).apply(SystemRequest.Mode.BOOT);
            case "confirm" -> confirm();
            case "revert" -> revert();
            case "status" -> status();
            case "verify" -> verify();
            case "generations" -> generations();
            case "rollback" -> rollback();
            case "audit verify" -> auditVerify();
            case "audit export" -> auditExport();
            default -> throw new Args.UsageException("unknown command \"" + args.command + "\"");
        };
    }

    // The commands that are one or two operations

    private int preflight() throws LaunchException, EngineConnection.EngineFailure {
        PreflightReport r = call(local(), id -> new Request.Preflight(id, args.get("--config-dir")),
                PreflightReport.class);
        io.say(Render.preflight(r));
        printJson(r);
        return r.ready() ? OK : FAILED;
    }

    private int isolate() throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
        EngineClient c = local();
        String dir = configDir(c);
        SandboxRequest.Network network = network();
        SandboxResult.Opened o = call(c, id -> new SandboxRequest.Open(id, dir, plan(), network),
                SandboxResult.Opened.class);
        try {
            SandboxResult.MountTree t = call(c, id -> new SandboxRequest.Mounts(id, o.sandbox()),
                    SandboxResult.MountTree.class);
            io.say(Render.mounts(o, t));
            SandboxResult.Closed closed = call(c, id -> new SandboxRequest.Close(id, o.sandbox(), false),
                    SandboxResult.Closed.class);
            io.say("Closed: " + (closed.workDirRemoved() ? "every mount gone and the work directory removed."
                    : "left behind: " + closed.left()));
            ObjectNode j = Json.mapper().createObjectNode();
            j.set("opened", Json.mapper().valueToTree(o));
            j.set("mounts", Json.mapper().valueToTree(t));
            j.set("closed", Json.mapper().valueToTree(closed));
            printJson(j);
            return OK;
        } catch (EngineConnection.EngineFailure e) {
            closeQuietly(c, o.sandbox());
            throw e;
        }
    }

    private int confirm() throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
        SystemResult.Confirmed r = call(target(), SystemRequest.Confirm::new, SystemResult.Confirmed.class);
        io.say(r.message());
        printJson(r);
        return OK;
    }

    private int revert() throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
        SystemResult.Reverted r = call(target(), SystemRequest.Revert::new, SystemResult.Reverted.class);
        io.say(r.message());
        printJson(r);
        return REVERTED;
    }

    private int status() throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
        SystemResult.ApplyState s = call(target(), SystemRequest.ApplyStatus::new, SystemResult.ApplyState.class);
        io.say(Render.status(s));
        printJson(s);
        return OK;
    }

    private int verify() throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
        SystemResult.VerifyReport v = call(target(), SystemRequest.Verify::new, SystemResult.VerifyReport.class);
        io.say(Render.verify(v));
        printJson(v);
        return v.verdict() == SystemResult.Verdict.FAIL ? NOT_VERIFIED : OK;
    }

    private int generations() throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
        SystemResult.GenerationList g = call(target(), SystemRequest.Generations::new,
                SystemResult.GenerationList.class);
        io.say(Render.generations(g));
        printJson(g);
        return OK;
    }

    private int rollback() throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
        Integer to = args.integer("--to", null, 1, Integer.MAX_VALUE);
        if (to == null) {
            throw new Args.UsageException("rollback needs --to N (safe-rebuild generations lists them)");
        }
        SystemRequest.RollbackMode mode = args.has("--boot") ? SystemRequest.RollbackMode.BOOT
                : SystemRequest.RollbackMode.SWITCH;
        SystemResult.RolledBack r = call(target(), id -> new SystemRequest.Rollback(id, to, mode),
                SystemResult.RolledBack.class);
        io.say(r.message());
        printJson(r);
        return OK;
    }

    private int auditVerify() throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
        SystemResult.AuditVerdict v = call(target(), SystemRequest.AuditVerify::new, SystemResult.AuditVerdict.class);
        io.say(Render.audit(v));
        printJson(v);
        return v.intact() ? OK : AUDIT_BROKEN;
    }

    /** Every line from --from on, exactly as stored (JSON Lines), to --output or stdout. */
    private int auditExport() throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
        EngineClient c = target();
        long from = args.integer("--from", 1, 1, Integer.MAX_VALUE);
        StringBuilder text = new StringBuilder();
        long count = 0;
        long total;
        do {
            long start = from + count;
            SystemResult.AuditLines page = call(c, id -> new SystemRequest.AuditRead(id, start, 1000),
                    SystemResult.AuditLines.class);
            total = page.total();
            for (SystemResult.AuditLine l : page.lines()) {
                text.append(l.text()).append('\n');
                count++;
            }
            if (page.lines().isEmpty()) {
                break;
            }
        } while (from + count <= total);
        SystemResult.AuditVerdict v = call(c, SystemRequest.AuditVerify::new, SystemResult.AuditVerdict.class);
        String output = args.get("--output");
        if (output == null) {
            out.print(text);
            out.flush();
        } else {
            try {
                Files.writeString(Path.of(output), text);
            } catch (IOException e) {
                return fail(FAILED, new Event.Failure(1, ProblemCode.INVALID_ARGUMENT, "Cannot write " + output + ": "
                        + e.getMessage() + ".", "Name a file in a directory you can write."));
            }
            io.note("Wrote " + count + " audit line(s) to " + output + "; " + Render.audit(v));
        }
        return v.intact() ? OK : AUDIT_BROKEN;
    }

    // Engines

    /** This machine's engine (pkexec, sudo -n, or directly when already root), started once. */
    EngineClient local() throws LaunchException, EngineConnection.EngineFailure {
        if (localClient == null) {
            Path settings = args.get("--engine-config") == null ? null : Path.of(args.get("--engine-config"))
                    .toAbsolutePath();
            EngineLaunchers.Choice choice = EngineLaunchers.choose(settings, logFile("engine.log").toFile());
            io.progress("Starting the engine: " + choice.reason().replace("The app runs", "safe-rebuild runs")
                    .replace("the app", "safe-rebuild"));
            localClient = EngineClient.connect(choice.launcher(), CONNECT_TIMEOUT);
            open.add(localClient);
        }
        return localClient;
    }

    private EngineClient localClient;

    /** The machine a one-machine command acts on: the one --target-host names, or this one. */
    private EngineClient target() throws Args.UsageException, LaunchException, EngineConnection.EngineFailure {
        List<Target> targets = targets();
        if (targets.size() > 1) {
            throw new Args.UsageException(args.command + " acts on one machine; give one --target-host");
        }
        return targets.isEmpty() ? local() : connect(targets.get(0).ssh()).engine();
    }

    /** One machine to change: the flake host to build for it, and how to reach it (null ssh: this machine). */
    record Target(String host, SshTarget ssh) {
        String name() {
            return ssh == null ? "this machine" : ssh.destination();
        }
    }

    List<Target> targets() throws Args.UsageException {
        List<Target> out = new ArrayList<>();
        for (String t : args.all("--target-host")) {
            String host = args.get("--host");
            String dest = t;
            int eq = t.indexOf('=');
            if (eq > 0) {
                host = t.substring(0, eq);
                dest = t.substring(eq + 1);
            }
            try {
                out.add(new Target(host, new SshTarget(dest, args.get("--ssh-config") == null ? null
                        : Path.of(args.get("--ssh-config")).toAbsolutePath(), args.get("--target-engine"),
                        args.get("--target-engine-config"), args.has("--target-sudo"))));
            } catch (IllegalArgumentException e) {
                throw new Args.UsageException(e.getMessage());
            }
        }
        return out;
    }

    /** Starts a target's engine over ssh (a new connection each time: auto-confirm needs a fresh one). */
    RemoteTarget connect(SshTarget t) throws LaunchException, EngineConnection.EngineFailure {
        io.progress("Connecting to " + t.destination() + " (ssh " + String.join(" ", t.remoteCommand()) + ")");
        RemoteTarget rt = RemoteTarget.connect(t, args.has("--use-substitutes"),
                logFile("engine-" + t.host() + ".log").toFile(), CONNECT_TIMEOUT);
        open.add(rt);
        return rt;
    }

    /** ~/.cache/safe-rebuild/NAME (XDG_CACHE_HOME honoured): where the engines' logs go, as the app's do. */
    static Path logFile(String name) {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path dir = (xdg != null && xdg.startsWith("/") ? Path.of(xdg) : Path.of(System.getProperty("user.home"),
                ".cache")).resolve("safe-rebuild");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            return Path.of("/dev/null");
        }
        return dir.resolve(name);
    }

    // Shared helpers

    /** Runs one operation and waits for it; progress events become progress lines. */
    <T extends ResultBody> T call(EngineClient c, java.util.function.LongFunction<Request> make, Class<T> type)
            throws EngineConnection.EngineFailure {
        return call(c, make, type, e -> {
            if (e instanceof Event.Progress p) {
                io.progress(p.message());
            }
        });
    }

    <T extends ResultBody> T call(EngineClient c, java.util.function.LongFunction<Request> make, Class<T> type,
                                  java.util.function.Consumer<Event> onEvent) throws EngineConnection.EngineFailure {
        try {
            return c.run(make, type, onEvent).result().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EngineConnection.EngineFailure(Problems.of(e));
        } catch (java.util.concurrent.ExecutionException e) {
            throw new EngineConnection.EngineFailure(Problems.of(e));
        }
    }

    String configDir(EngineClient c) throws EngineConnection.EngineFailure {
        String dir = args.get("--config-dir");
        if (dir != null) {
            return dir;
        }
        // The engine's default configuration directory is the first it accepts; preflight reports it.
        return call(c, id -> new Request.Preflight(id, null), PreflightReport.class).config().path();
    }

    String plan() {
        String p = args.get("--plan");
        return p != null ? p : Files.exists(Path.of("/etc/NIXOS")) ? "nixos" : "debian-test";
    }

    SandboxRequest.Network network() throws Args.UsageException {
        String n = args.get("--network");
        if (n == null || n.equals("isolated")) {
            return SandboxRequest.Network.ISOLATED;
        }
        if (n.equals("shared")) {
            return SandboxRequest.Network.SHARED;
        }
        throw new Args.UsageException("--network is isolated or shared, not \"" + n + "\"");
    }

    void closeQuietly(EngineClient c, String sandbox) {
        try {
            call(c, id -> new SandboxRequest.Close(id, sandbox, true), SandboxResult.Closed.class);
        } catch (EngineConnection.EngineFailure e) {
            io.note("warning: the sandbox " + sandbox + " did not close: " + e.failure().message());
        }
    }

    InspectResult.Comparison compare(EngineClient c, SystemRef to) throws EngineConnection.EngineFailure {
        return call(c, id -> new InspectRequest.Compare(id, SystemRef.current(), to), InspectResult.Comparison.class);
    }

    Io io() {
        return io;
    }

    Args args() {
        return args;
    }

    void printJson(Object value) {
        if (io.json) {
            try {
                out.println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(value));
            } catch (IOException e) {
                out.println("{\"error\":\"cannot write JSON: " + e.getMessage().replace('"', '\'') + "\"}");
            }
            out.flush();
        }
    }

    int fail(int code, Event.Failure f) {
        if (io != null && io.json) {
            ObjectNode j = Json.mapper().createObjectNode();
            j.set("error", Json.mapper().valueToTree(f));
            j.put("exit", code);
            printJson(j);
        } else if (io != null) {
            io.note(Render.failure(f));
        } else {
            err.println(Render.failure(f));
        }
        return code;
    }

    private int usage(String message) {
        err.println("safe-rebuild " + args.command + ": " + message + ". See safe-rebuild --help.");
        return USAGE;
    }
}
