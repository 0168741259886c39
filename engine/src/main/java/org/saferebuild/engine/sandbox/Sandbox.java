package org.saferebuild.engine.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.sys.SafeFiles;
import org.saferebuild.engine.sys.Posix;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SandboxRequest;

/**
 * One open sandbox: a holder process that owns private mount, PID (and optionally network)
 * namespaces whose root is the sandbox's own (a tmpfs made there, with the plan's mounts, after
 * {@code pivot_root}: {@link SandboxRoot}), an empty private work directory on the host over which
 * that tmpfs was first mounted, and the locks that keep a second sandbox for the same configuration
 * out. Commands run inside with {@code nsenter} into the holder's namespaces; no chroot.
 */
public final class Sandbox {
    private final String id;
    private final String configDir;
    private final BindPlan plan;
    private final SandboxRequest.Network network;
    private final Path workDir;
    private final Exec.Running unshare;
    private final long holderPid;
    private final ProcessHandle holder;
    private final String mountNamespace;
    private final List<SafeFiles.Handle> locks;
    private final Map<String, String> toolPaths = new LinkedHashMap<>();
    private final SandboxTools tools;
    private final long openedAtMillis = System.currentTimeMillis();

    Sandbox(String id, String configDir, BindPlan plan, SandboxRequest.Network network, Path workDir,
            Exec.Running unshare, long holderPid, String mountNamespace, List<SafeFiles.Handle> locks,
            SandboxTools tools) {
        this.id = id;
        this.configDir = configDir;
        this.plan = plan;
        this.network = network;
        this.workDir = workDir;
        this.unshare = unshare;
        this.holderPid = holderPid;
        // Captured now, while the pid is certainly the holder: a handle carries the start time, so
        // killing through it can never hit a later process that reuses the pid.
        this.holder = ProcessHandle.of(holderPid).orElse(null);
        this.mountNamespace = mountNamespace;
        this.locks = locks;
        this.tools = tools;
    }

    public String id() {
        return id;
    }

    public String configDir() {
        return configDir;
    }

    public BindPlan plan() {
        return plan;
    }

    public SandboxRequest.Network network() {
        return network;
    }

    public boolean networkIsolated() {
        return network == SandboxRequest.Network.ISOLATED;
    }

    /** The host's (empty) work directory; the sandbox's root exists only in its namespace. */
    public Path workDir() {
        return workDir;
    }

    public long holderPid() {
        return holderPid;
    }

    /** The holder as it was when the sandbox opened (empty if it was already gone). */
    public java.util.Optional<ProcessHandle> holder() {
        return java.util.Optional.ofNullable(holder);
    }

    /**
     * Handles of every process in the sandbox's mount namespace, taken only while the holder
     * keeps that namespace alive: once it is freed its inode number can be given to a new
     * namespace (another sandbox), and a scan by number would find that sandbox's processes.
     */
    public List<ProcessHandle> processHandles() {
        if (!holderAlive()) {
            return List.of();
        }
        List<ProcessHandle> out = new ArrayList<>();
        for (long pid : processes()) {
            ProcessHandle.of(pid).ifPresent(out::add);
        }
        return holderAlive() ? out : List.of();
    }

    public long openedAtMillis() {
        return openedAtMillis;
    }

    public String mountNamespace() {
        return mountNamespace;
    }

    public boolean holderAlive() {
        return unshare.alive() && Posix.namespace(holderPid, "mnt").map(mountNamespace::equals).orElse(false);
    }

    /**
     * The kernel's mount table for the sandbox, as the holder sees it: its root is the sandbox's, so
     * every line is the sandbox's, with mount points as they are inside.
     */
    public List<MountInfo.Line> mounts() throws IOException {
        return MountInfo.read(holderPid);
    }

    /**
     * A host path that reaches {@code pathInside} inside the sandbox (/proc/&lt;holder&gt;/root/…),
     * for reading files the host cannot see.
     */
    public Path viewOf(String pathInside) {
        return Path.of("/proc", Long.toString(holderPid), "root",
                pathInside.startsWith("/") ? pathInside.substring(1) : pathInside);
    }

    /**
     * The absolute path, inside the sandbox, of a tool the plan names, checked through the
     * holder's view of the root.
     */
    public synchronized String toolInside(String name) throws Problem {
        String cached = toolPaths.get(name);
        if (cached != null) {
            return cached;
        }
        List<String> candidates = plan.tools().getOrDefault(name, List.of());
        for (String c : candidates) {
            Path view = viewOf(c);
            if (Files.isExecutable(view)) {
                toolPaths.put(name, c);
                return c;
            }
        }
        throw new Problem(ProblemCode.TOOL_MISSING, "\"" + name + "\" was not found inside the sandbox (looked at "
                + String.join(", ", candidates) + ").",
                "Check that the plan \"" + plan.name() + "\" binds the directories that hold Nix on this host.");
    }

    /**
     * A command that runs {@code argv} (argv[0] an absolute path inside the sandbox) in the
     * sandbox: nsenter into the holder's mount, PID and network namespaces. The environment is the
     * plan's, plus {@code extraEnv}; nothing of the engine's own.
     */
    public Command.Builder command(List<String> argv, Map<String, String> extraEnv, Duration timeout) {
        List<String> args = new ArrayList<>(enter());
        args.addAll(argv);
        Map<String, String> env = new LinkedHashMap<>(plan.env());
        env.putAll(extraEnv);
        return Command.of(tools.nsenter()).args(args).env(env).timeout(timeout);
    }

    /**
     * nsenter's flags for the holder's mount, PID and network namespaces. Entering a mount
     * namespace puts a process at that namespace's root, which is the sandbox's own since
     * pivot_root; {@code --root --wd} take the holder's root and working directory, which are the
     * same place, so the command starts at the sandbox's "/" either way.
     */
    private List<String> enter() {
        return List.of("--target", Long.toString(holderPid), "--mount", "--pid", "--net", "--root", "--wd", "--");
    }

    /** Pids of every process in the sandbox's mount namespace (the holder included). */
    public List<Long> processes() {
        return Posix.processesIn("mnt", mountNamespace);
    }

    Exec.Running unshareProcess() {
        return unshare;
    }

    void releaseLocks() {
        locks.forEach(SafeFiles.Handle::close);
    }

    /** Absolute tool paths on the host that sandbox commands use. */
    record SandboxTools(String nsenter) {
    }
}
