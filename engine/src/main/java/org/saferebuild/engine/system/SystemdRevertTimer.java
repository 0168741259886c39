package org.saferebuild.engine.system;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The confirm-or-revert deadline held by systemd where it runs (docs/apply.md, "The deadline
 * without an engine"): a transient timer, {@value #UNIT}.timer, that starts
 * {@value #UNIT}.service at the deadline, and that service puts the previous system back with the
 * same steps as {@link PutBack}: {@code nix-env -p <profile> --switch-generation N}, the
 * generation the apply made deleted, then the previous system's switch-to-configuration. Like
 * deploy-rs's "magic rollback", it needs no engine: every engine may be killed and the machine
 * still goes back on time. The engine that armed it, or the next one, reads what happened
 * ({@link #outcome()}, the service's journal), records it and clears the units.
 *
 * <p>It is one of the two deadlines started and stopped together (ApplyService.startCountdown,
 * stopCountdown); the engine's own {@link ConfirmTimer} keeps ticking for the countdown notices and
 * for answers from another engine. A transient unit does not survive a reboot: after one, the next
 * engine start reverts as it does without systemd.
 */
final class SystemdRevertTimer implements ConfirmDeadline {
    private static final Logger LOG = LoggerFactory.getLogger(SystemdRevertTimer.class);
    static final String UNIT = "safe-rebuild-revert";
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    /** Where the revert is: not armed here, waiting for the deadline, running, finished, or gone. */
    enum State { NONE, WAITING, REVERTING, DONE, GONE }

    /** What the service did: its state, its result, when it started, and its output (journal). */
    record Outcome(State state, boolean succeeded, String result, String startedAt, List<String> output) {
    }

    private final EngineConfig config;
    private final Tools tools;
    private final NixEnv nixEnv;
    private final Activation activation;
    private final SystemProfile profile;
    private final Map<String, String> systemdEnv;
    /** Guarded by the apply lock's monitor, like start and stop. */
    private boolean armed;

    SystemdRevertTimer(EngineConfig config, Tools tools, NixEnv nixEnv, Activation activation, SystemProfile profile) {
        this.config = config;
        this.tools = tools;
        this.nixEnv = nixEnv;
        this.activation = activation;
        this.profile = profile;
        this.systemdEnv = Map.of("PATH", String.join(":", config.toolDirs()), "SYSTEMD_COLORS", "0",
                "SYSTEMD_PAGER", "");
    }

    /** Whether systemd can hold the deadline here: it runs, and systemd-run and systemctl are there. */
    boolean available() {
        return activation.systemdRunning() && tools.find("systemd-run").isPresent()
                && tools.find("systemctl").isPresent() && tools.find("journalctl").isPresent();
    }

    /** Whether this engine armed it (or took over one a previous engine armed). */
    boolean armed() {
        return armed;
    }

    /**
     * Arms the timer for {@code p.deadline()}. If systemd does not take it (logged), {@link #armed()}
     * stays false and the engine's own timer holds the deadline alone, as where systemd does not run.
     */
    @Override
    public void start(PendingApply p) {
        try {
            clear();
            // rounded up: systemd's timer never fires before the deadline the operator was told
            long millis = Math.max(1, Duration.between(Instant.now(), Instant.parse(p.deadline())).toMillis() + 1);
            List<String> argv = new ArrayList<>(List.of("--unit=" + UNIT, "--no-ask-password", "--quiet",
                    "--description=Safe Rebuild: put generation " + p.generationBefore() + " back unless "
                            + p.applied() + " is confirmed",
                    "--on-active=" + millis + "ms", "--timer-property=AccuracySec=100ms",
                    "--property=Type=oneshot", "--property=RemainAfterExit=yes"));
            for (Map.Entry<String, String> e : environment().entrySet()) {
                argv.add("--setenv=" + e.getKey() + "=" + e.getValue());
            }
            List<Step> steps = steps(p);
            for (Step pre : steps.subList(0, steps.size() - 1)) {
                argv.add("--property=" + pre.property() + "=" + (pre.mayFail() ? "-" : "") + unitCommand(pre.argv()));
            }
            argv.add("--");
            argv.addAll(steps.get(steps.size() - 1).argv());
            Exec.Outcome o = Exec.run(Command.of(tools.require("systemd-run")).args(argv).env(environment())
                    .timeout(TIMEOUT).build());
            if (!o.ok()) {
                LOG.warn("systemd did not take the confirm-or-revert timer ({}); the engine holds the deadline alone",
                        o.stderr().strip());
                return;
            }
            armed = true;
            LOG.info("systemd holds the deadline {}: {}.timer starts {}.service", p.deadline(), UNIT, UNIT);
        } catch (IOException | Problem | RuntimeException e) {
            LOG.warn("systemd could not take the confirm-or-revert timer: {}; the engine holds the deadline alone",
                    e.toString());
        }
    }

    /** For an engine that found {@code pending.json} with the timer armed: it holds it from now on. */
    void adopt() {
        armed = true;
    }

    /**
     * Stops the timer (nothing starts at the deadline any more). A revert it has already started
     * goes on: see {@link #fired()}.
     */
    @Override
    public void stop() {
        if (!armed) {
            return;
        }
        try {
            systemctl("stop", UNIT + ".timer");
        } catch (IOException | Problem e) {
            LOG.warn("stopping {}.timer: {}", UNIT, e.toString());
        }
    }

    /** Whether the timer has started the revert (it runs or ran); false when it never did. */
    boolean fired() {
        if (!armed) {
            return false;
        }
        State s = outcome().state();
        return s == State.REVERTING || s == State.DONE;
    }

    /** What systemd says about the revert service and its timer now. */
    Outcome outcome() {
        try {
            Map<String, String> svc = show(UNIT + ".service", "LoadState,ActiveState,SubState,Result,"
                    + "InactiveExitTimestamp,ExecMainStatus");
            Map<String, String> tmr = show(UNIT + ".timer", "LoadState,ActiveState");
            String active = svc.getOrDefault("ActiveState", "");
            String started = svc.getOrDefault("InactiveExitTimestamp", "");
            boolean ran = !started.isEmpty() && !started.equals("n/a");
            State state;
            if (active.equals("activating") || active.equals("reloading")) {
                state = State.REVERTING;
            } else if (active.equals("active") || active.equals("failed") || ran) {
                state = State.DONE;
            } else if ("active".equals(tmr.get("ActiveState"))) {
                state = State.WAITING;
            } else {
                state = State.GONE;
            }
            String result = svc.getOrDefault("Result", "");
            boolean ok = state == State.DONE && result.equals("success") && !active.equals("failed");
            return new Outcome(state, ok, result, ran ? started : null, state == State.DONE ? journal() : List.of());
        } catch (IOException | Problem e) {
            LOG.warn("asking systemd about {}: {}", UNIT, e.toString());
            return new Outcome(State.GONE, false, "unknown", null, List.of());
        }
    }

    /** Waits until a revert systemd started has finished; its outcome. */
    Outcome awaitDone() {
        while (true) {
            Outcome o = outcome();
            if (o.state() != State.REVERTING) {
                return o;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return o;
            }
        }
    }

    /**
     * What the service did, in the operator's words, with what is running now read back (as
     * {@link PutBack#undo} reports its own steps).
     */
    PutBack.Recovery recovery(Outcome o, PendingApply p, PutBack putBack) {
        List<String> said = new ArrayList<>();
        boolean complete = o.succeeded();
        said.add("systemd's " + UNIT + ".service put the previous system back" + (o.startedAt() != null
                ? " (started " + java.time.Instant.ofEpochSecond(Long.parseLong(o.startedAt().substring(1))) + ")"
                : "") + (o.succeeded() ? "." : "; it FAILED (" + o.result() + (o.output().isEmpty() ? ""
                        : "; last output: " + o.output().get(o.output().size() - 1)) + ")."));
        Integer after = p.generationAfter();
        if (p.mode() != Mode.TEST && after != null && after != p.generationBefore()) {
            Integer now = profile.current().orElse(null);
            if (Integer.valueOf(p.generationBefore()).equals(now)) {
                said.add("The system profile is back at generation " + p.generationBefore() + ".");
            } else {
                complete = false;
                said.add("The system profile is at generation " + (now == null ? "?" : now) + ", NOT back at "
                        + p.generationBefore() + ".");
            }
            if (p.createdGeneration()) {
                said.add(profile.storePath(after).isEmpty() ? "Generation " + after + ", which the apply made, was"
                        + " removed." : "Generation " + after + ", which the apply made, is still there.");
            }
        }
        return putBack.readBack(p, said, complete);
    }

    /** Removes the timer and the service (stopped, failed state forgotten): nothing of them stays loaded. */
    void clear() {
        try {
            systemctl("stop", UNIT + ".timer", UNIT + ".service");
            systemctl("reset-failed", UNIT + ".timer", UNIT + ".service");
        } catch (IOException | Problem e) {
            // not loaded: nothing to clear
        }
        armed = false;
    }

    /** One command of the revert service: its unit property, whether its failure is ignored, its argv. */
    record Step(String property, boolean mayFail, List<String> argv) {
    }

    /**
     * The steps of {@link PutBack#undo} for {@code p}, in order; the last is the service's main
     * command (ExecStart), the others run before it (ExecStartPre).
     */
    List<Step> steps(PendingApply p) throws Problem {
        List<Step> steps = new ArrayList<>();
        String nixEnvTool = tools.require("nix-env").toString();
        Integer after = p.generationAfter();
        if (p.mode() != Mode.TEST && after != null && after != p.generationBefore()) {
            steps.add(new Step("ExecStartPre", false, nixEnvArgs(nixEnvTool, "--switch-generation",
                    p.generationBefore())));
            if (p.createdGeneration()) {
                // as in PutBack: the profile is back already; a generation that stays is no harm
                steps.add(new Step("ExecStartPre", true, nixEnvArgs(nixEnvTool, "--delete-generations", after)));
            }
        }
        String prev = p.previousRunning();
        if (p.mode() == Mode.SWITCH && !prev.equals(p.pathBefore())) {
            // the running system differed from the profile's (a test before): boot the one, run the other
            steps.add(new Step("ExecStartPre", false, List.of(activation.switchScript(p.pathBefore()).toString(),
                    "boot")));
            steps.add(new Step("ExecStart", false, List.of(activation.switchScript(prev).toString(), "test")));
        } else if (p.mode() == Mode.TEST) {
            steps.add(new Step("ExecStart", false, List.of(activation.switchScript(prev).toString(), "test")));
        } else {
            steps.add(new Step("ExecStart", false, List.of(activation.switchScript(p.pathBefore()).toString(),
                    "switch")));
        }
        return steps;
    }

    private List<String> nixEnvArgs(String tool, String action, int generation) {
        List<String> argv = new ArrayList<>(List.of(tool, "-p", profile.path().toString()));
        argv.addAll(nixEnv.optionArgs());
        argv.addAll(List.of(action, Integer.toString(generation)));
        return argv;
    }

    /** The service's environment: the activation's (nixos-rebuild's), and nix's HOME and NIX_PATH. */
    private Map<String, String> environment() {
        Map<String, String> env = new TreeMap<>(activation.environment());
        env.put("HOME", nixEnv.home().toString());
        env.put("NIX_PATH", nixEnv.nixPath());
        return env;
    }

    /** One command line in unit-file syntax: each argument quoted, specifiers and variables escaped. */
    static String unitCommand(List<String> argv) {
        StringBuilder b = new StringBuilder();
        for (String a : argv) {
            if (!b.isEmpty()) {
                b.append(' ');
            }
            b.append('"').append(a.replace("\\", "\\\\").replace("\"", "\\\"").replace("%", "%%")
                    .replace("$", "$$")).append('"');
        }
        return b.toString();
    }

    private List<String> journal() {
        try {
            String id = show(UNIT + ".service", "InvocationID").getOrDefault("InvocationID", "");
            List<String> args = new ArrayList<>(List.of("--no-pager", "-o", "cat"));
            args.add(id.isEmpty() ? "--unit=" + UNIT + ".service" : "_SYSTEMD_INVOCATION_ID=" + id);
            Exec.Outcome o = Exec.run(Command.of(tools.require("journalctl")).args(args).env(systemdEnv)
                    .timeout(TIMEOUT).build());
            return o.stdout().lines().toList();
        } catch (IOException | Problem e) {
            return List.of("(the journal could not be read: " + e.getMessage() + ")");
        }
    }

    private Map<String, String> show(String unit, String properties) throws IOException, Problem {
        Exec.Outcome o = systemctl("show", "--timestamp=unix", "-p", properties, "--", unit);
        Map<String, String> out = new TreeMap<>();
        for (String line : o.stdout().lines().toList()) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                out.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return out;
    }

    private Exec.Outcome systemctl(String... args) throws IOException, Problem {
        Exec.Outcome o = Exec.run(Command.of(tools.require("systemctl")).args(args).env(systemdEnv)
                .timeout(TIMEOUT).build());
        if (!o.ok()) {
            throw new IOException("systemctl " + String.join(" ", args) + " failed (exit " + o.exitCode() + "): "
                    + o.stderr().strip());
        }
        return o;
    }
}
