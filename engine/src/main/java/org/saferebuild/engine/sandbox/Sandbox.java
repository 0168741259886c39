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
 * namespaces, a private work directory whose {@code root/} is the chroot, and the locks that
 * keep a second sandbox for the same configuration out. Commands run inside with
 * {@code nsenter} into the holder's namespaces and {@code chroot} into the root.
 */
public final class Sandbox {
    private final String id;
    private final String configDir;
    private final BindPlan plan;
    private final SandboxRequest.Network network;
    private final Path workDir;
    private final Path root;
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
        this.root = workDir.resolve("root");
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

    public Path workDir() {
        return workDir;
    }

    /** The chroot directory (host path). */
    public Path root() {
        return root;
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

    /** The kernel's mount table for the sandbox, as the holder sees it. */
    public List<MountInfo.Line> mounts() throws IOException {
        return MountInfo.under(MountInfo.read(holderPid), root.toString());
    }

    /**
     * A host path that reaches {@code pathInChroot} inside the sandbox's mount namespace
     * (/proc/&lt;holder&gt;/root/&lt;root&gt;/…), for reading files the host cannot see.
     */
    public Path viewOf(String pathInChroot) {
        return Path.of("/proc", Long.toString(holderPid), "root", root.toString().substring(1),
                pathInChroot.startsWith("/") ? pathInChroot.substring(1) : pathInChroot);
    }

    /**
     * The absolute path, inside the chroot, of a tool the plan names, checked through the
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
     * A command that runs {@code argv} (argv[0] an absolute path inside the chroot) in the
     * sandbox: nsenter into the holder's mount, PID and network namespaces, then chroot. The
     * environment is the plan's, plus {@code extraEnv}; nothing of the engine's own.
     */
    public Command.Builder command(List<String> argv, Map<String, String> extraEnv, Duration timeout) {
        List<String> args = new ArrayList<>(enter());
        args.addAll(List.of(tools.chroot(), root.toString()));
        args.addAll(argv);
        Map<String, String> env = new LinkedHashMap<>(plan.env());
        env.putAll(extraEnv);
        return Command.of(tools.nsenter()).args(args).env(env).timeout(timeout);
    }

    /** A command run in the holder's namespaces but not chrooted (mount, umount). */
    Command nsCommand(String tool, Duration timeout, String... args) {
        List<String> a = new ArrayList<>(enter());
        a.add(tool);
        a.addAll(List.of(args));
        return Command.of(tools.nsenter()).args(a).timeout(timeout).build();
    }

    /**
     * nsenter's flags for the holder's mount, PID and network namespaces. {@code --root --wd}: the
     * kernel resets the root directory to the namespace's own root on entering a mount namespace,
     * so an engine that itself runs in a chroot (nixos-enter, a rescue system, a test overlay) would
     * otherwise land outside it; these take the holder's root and directory, which are the engine's.
     */
    private List<String> enter() {
        return List.of("--target", Long.toString(holderPid), "--mount", "--pid", "--net", "--root", "--wd", "--");
    }

    /** Pids of every process in the sandbox's mount namespace (the holder included). */
    public List<Long> processes() {
        return Posix.processesIn("mnt", mountNamespace);
    }

    SandboxTools hostTools() {
        return tools;
    }

    Exec.Running unshareProcess() {
        return unshare;
    }

    void releaseLocks() {
        locks.forEach(SafeFiles.Handle::close);
    }

    /** Absolute tool paths on the host that sandbox commands use. */
    record SandboxTools(String nsenter, String chroot, String mount, String umount) {
    }
}
