package org.saferebuild.engine.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.saferebuild.engine.ConfigDirs;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sys.DiskSpace;
import org.saferebuild.engine.sys.Hashes;
import org.saferebuild.engine.sys.LibC;
import org.saferebuild.engine.sys.Posix;
import org.saferebuild.engine.sys.SafeFiles;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runbook steps 1, 2 and 5: opens sandboxes (holder process, a root of their own with the plan's
 * binds and virtual filesystems, made the root of their mount namespace with pivot_root), reports
 * their mount tree from the kernel, and closes them without ever deleting through a mount.
 */
public final class SandboxManager {
    private static final Logger LOG = LoggerFactory.getLogger(SandboxManager.class);
    private static final String HOLDER_COMM = "cat";

    private final EngineConfig config;
    private final Tools tools;
    private final Map<String, Sandbox> open = new ConcurrentHashMap<>();
    /** Where the last open and close spent their time (microseconds by step), for the benchmark. */
    private volatile Map<String, Long> lastOpen = Map.of();
    private volatile Map<String, Long> lastClose = Map.of();

    public SandboxManager(EngineConfig config, Tools tools) {
        this.config = config;
        this.tools = tools;
    }

    /** The sandboxes' work directories: in the runtime directory (EngineConfig#runtimeDir). */
    Path sandboxesDir() {
        return config.runtime().resolve("sandboxes");
    }

    /** One lock per configuration directory, beside them. */
    Path locksDir() {
        return config.runtime().resolve("locks");
    }

    public Optional<Sandbox> get(String id) {
        return Optional.ofNullable(open.get(id));
    }

    public Sandbox require(String id) throws Problem {
        Sandbox s = open.get(id);
        if (s == null) {
            throw Problem.notFound("There is no open sandbox " + id + ".",
                    "Open a sandbox first (the Isolate step); it may have been closed when the app restarted.");
        }
        if (!s.holderAlive()) {
            throw new Problem(ProblemCode.NOT_FOUND, "The sandbox " + id + " is gone: its holder process "
                    + s.holderPid() + " has exited, and the kernel dropped its mounts.",
                    "Close it and open a new sandbox.");
        }
        return s;
    }

    // Commands

    public SandboxResult.Opened open(SandboxRequest.Open request, OpContext ctx) throws Problem {
        long started = System.nanoTime();
        Phases phases = new Phases();
        ConfigDirs.Checked configDir = ConfigDirs.check(config, request.configDir()); // the one rule (issue 11)
        if (!config.plans().contains(request.plan())) {
            throw Problem.invalid("The bind plan \"" + request.plan() + "\" is not allowed here (allowed: "
                    + String.join(", ", config.plans()) + ").");
        }
        BindPlan plan;
        try {
            plan = BindPlan.load(request.plan());
        } catch (IOException e) {
            throw Problem.internal("The bind plan \"" + request.plan() + "\" cannot be loaded: " + e.getMessage(), e);
        }
        for (Sandbox s : open.values()) {
            if (s.configDir().equals(request.configDir())) {
                throw busy(request.configDir(), s.id());
            }
        }
        Sandbox.SandboxTools st = new Sandbox.SandboxTools(tools.require("nsenter").toString());
        Path unshareTool = tools.require("unshare");
        Path holderTool = tools.require(HOLDER_COMM);
        Path envTool = tools.require("env");
        phases.mark("checks");

        List<SafeFiles.Handle> locks = new ArrayList<>();
        Path workDir = null;
        Exec.Running unshare = null;
        SandboxRoot.Pending rootThread = null;
        try {
            List<String> unshareArgs = new ArrayList<>(List.of("--mount", "--pid", "--fork", "--mount-proc",
                    "--propagation", "private"));
            if (request.network() == SandboxRequest.Network.ISOLATED) {
                unshareArgs.add("--net");
            }
            unshareArgs.add("--");
            // The holder is the PID namespace's init, so orphans (a cancelled build's builders) are
            // re-parented to it; with SIGCHLD ignored the kernel reaps them instead of leaving zombies.
            unshareArgs.add(envTool.toString());
            unshareArgs.add("--ignore-signal=CHLD");
            unshareArgs.add(holderTool.toString());
            // Started first, so that it comes up (new, empty namespaces) while the plan's sources and
            // the free space are checked and the work directory is made: nothing is mounted before
            // all of that is done and the holder is found. Its working directory is "/" (the
            // engine's root): pivot_root moves it with its root.
            unshare = Exec.startTethered(Command.of(unshareTool).args(unshareArgs).workDir(Path.of("/"))
                    .timeout(Duration.ofDays(365)).build(), line -> LOG.warn("holder: {}", line));
            phases.mark("start holder");

            List<BindPlan.Entry> entries = checkSources(plan, request.configDir(), ctx);
            List<SandboxRoot.Step> steps;
            try {
                steps = SandboxRoot.steps(entries, request.configDir());
            } catch (IllegalArgumentException e) {
                throw Problem.internal("The bind plan \"" + plan.name() + "\" cannot be mounted: " + e.getMessage(), e);
            }
            // Runbook checklist: "Disk space sufficient". The build writes the store.
            DiskSpace.require(DiskSpace.measure("Nix store", Path.of("/nix/store"), config.minFreeBytes()));
            DiskSpace.require(DiskSpace.measure("work directory", config.state(), config.minFreeBytes()));
            ctx.progress("isolate", "Entering new mount and PID namespaces", 0L, (long) entries.size());
            phases.mark("sources, free space");

            WorkDirs.ensurePrivateDir(config.runtime());
            WorkDirs.ensurePrivateDir(locksDir());
            lock(locksDir().resolve("config-" + sha256(request.configDir()) + ".lock"), locks,
                    () -> busy(request.configDir(), "held by another Safe Rebuild engine"));
            workDir = WorkDirs.createFresh(sandboxesDir(), "sb-");
            String id = workDir.getFileName().toString();
            // The work directory itself is locked while the sandbox is open (no file of its own): the
            // sweep of a later engine leaves it alone.
            SafeFiles.Handle mine = SafeFiles.tryLockDirectory(workDir);
            if (mine == null) {
                throw Problem.internal("the lock of the fresh work directory " + workDir + " was taken", null);
            }
            locks.add(mine);
            // The host keeps only this empty directory: the root is a tmpfs mounted over it in the
            // holder's namespace, and its skeleton is made there.
            long workDirDevice = identity(workDir.toString())[0];
            // The thread that makes the root starts now, while the holder comes up.
            rootThread = SandboxRoot.prepare(request.network() == SandboxRequest.Network.ISOLATED, workDir,
                    workDirDevice, steps);
            phases.mark("work dir, locks");

            long holder = awaitHolder(unshare);
            String mntNs = Posix.namespace(holder, "mnt").orElseThrow(() -> new IOException("holder vanished"));
            phases.mark("await holder");

            SandboxRoot.Built built;
            try {
                SandboxRoot.Pending pending = rootThread;
                rootThread = null;
                built = pending.build(holder);
            } catch (SandboxRoot.Failure f) {
                throw rootProblem(f);
            }
            phases.detail("  enter, tmpfs root, skeleton", built.rootMicros());
            phases.detail("  mounts", built.mountMicros());
            phases.detail("  pivot_root, detach, enter again", built.pivotMicros());
            phases.mark("root in the namespace");
            Sandbox sandbox = new Sandbox(id, request.configDir(), plan, request.network(), workDir, unshare, holder,
                    mntNs, locks, st);
            long total = built.mounts();
            long done = 0;
            for (SandboxRoot.Step step : steps) {
                if (step instanceof SandboxRoot.Mount m) {
                    ctx.progress("isolate", "Mounted " + m.target(), ++done, total);
                }
            }
            List<MountInfo.Line> mounts = MountInfo.read(holder);
            verify(entries, mounts);
            verifyConfigDirBound(entries, configDir, holder);
            phases.mark("verify");
            open.put(id, sandbox);
            long millis = (System.nanoTime() - started) / 1_000_000;
            LOG.info("sandbox {} open for {} (holder {}, {} mounts, {} ms{})", id, request.configDir(), holder,
                    mounts.size(), millis, built.pivots() > 1 ? ", pivot_root twice: the engine runs in a chroot" : "");
            SandboxResult.Opened opened = new SandboxResult.Opened(id, request.configDir(), plan.name(),
                    request.network(), holder, workDir.toString(), MountInfo.forProtocol(mounts, "/"), millis);
            phases.mark("log, answer");
            lastOpen = phases.done();
            return opened;
        } catch (Problem | IOException | RuntimeException | Error e) {
            if (rootThread != null) {
                rootThread.cancel();
            }
            abandon(unshare, workDir, locks);
            if (e instanceof Problem p) {
                throw p;
            }
            if (e instanceof Error err) {
                throw err;
            }
            if (e instanceof SafeFiles.Planted planted) {
                throw WorkDirs.planted(planted.where());
            }
            LOG.warn("opening a sandbox failed unexpectedly", e);
            throw Problem.internal("Opening the sandbox failed: " + e.getMessage()
                    + ". Everything it had set up was removed.", e);
        }
    }

    public SandboxResult.MountTree mounts(SandboxRequest.Mounts request) throws Problem {
        Sandbox s = require(request.sandbox());
        try {
            return new SandboxResult.MountTree(s.id(), s.holderPid(),
                    MountInfo.forProtocol(s.mounts(), "/"));
        } catch (IOException e) {
            throw Problem.internal("Cannot read the sandbox's mount table: " + e.getMessage(), e);
        }
    }

    /**
     * Closes a sandbox. Each mount is unmounted (deepest first) without lazy detaching; a busy
     * one stops the close, names the mount and the processes inside, and nothing is deleted.
     * With force, every process in the sandbox is killed first so the kernel drops the mounts.
     */
    public SandboxResult.Closed close(SandboxRequest.Close request, OpContext ctx) throws Problem {
        Sandbox s = open.get(request.sandbox());
        if (s == null) {
            throw Problem.notFound("There is no open sandbox " + request.sandbox() + ".",
                    "It is already closed; nothing needs to be done.");
        }
        synchronized (s) {
            if (!open.containsKey(s.id())) {
                throw Problem.notFound("The sandbox " + s.id() + " was just closed.", "Nothing needs to be done.");
            }
            Phases phases = new Phases();
            List<ProcessHandle> inside = null;
            if (request.force() || !s.holderAlive()) {
                killEverythingIn(s);
            } else {
                // Only the holder inside: nothing can keep a mount busy, and when the holder exits the
                // kernel drops the whole tree (as a runbook script's mounts vanish when it exits).
                // Anything else inside: take the tree down explicitly so a busy mount is named and
                // nothing is deleted.
                inside = s.processHandles();
                phases.mark("find processes inside");
                if (inside.stream().anyMatch(p -> p.pid() != s.holderPid() && p.pid() != s.unshareProcess().pid())) {
                    unmountAll(s, ctx);
                    inside = s.processHandles();
                }
                // The holder reads end of file and exits; the kernel ends its namespaces meanwhile.
                s.unshareProcess().closeStdin();
                phases.mark("end the tether");
            }
            // The host's work directory: empty (the root was a tmpfs in the holder's namespace, and
            // since pivot_root nothing of the sandbox is mounted below it in any namespace), removed
            // rmdir-style once the mount tables show nothing there, while the holder exits.
            List<String> left = WorkDirs.removeSkeleton(s.workDir(), List.of(0L, 1L));
            phases.mark("remove work dir");
            if (inside != null) {
                awaitHolderExit(s, inside);
                phases.mark("holder gone");
            }
            open.remove(s.id());
            s.releaseLocks();
            LOG.info("sandbox {} closed{}", s.id(), left.isEmpty() ? "" : "; left in place: " + left);
            phases.mark("locks, log");
            lastClose = phases.done();
            return new SandboxResult.Closed(s.id(), left.isEmpty(), left);
        }
    }

    /** Closes every sandbox by force: the connection ended or the engine is stopping. */
    public void closeAll() {
        for (Sandbox s : List.copyOf(open.values())) {
            try {
                close(new SandboxRequest.Close(1, s.id(), true), OpContext.detached());
            } catch (Problem p) {
                LOG.error("could not close sandbox {}: {}", s.id(), p.getMessage());
            }
        }
    }

    /**
     * Removes work directories left by an engine that was killed: their holder died with it, so
     * nothing is mounted there, and their lock is free.
     */
    public void sweepStale() {
        sweep(sandboxesDir());
        Path earlier = config.state().resolve("sandboxes"); // where engines before runtimeDir made them
        if (!earlier.equals(sandboxesDir())) {
            sweep(earlier);
        }
    }

    private void sweep(Path dir) {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var entries = Files.list(dir)) {
            for (Path p : entries.filter(e -> Files.isDirectory(e, LinkOption.NOFOLLOW_LINKS)).toList()) {
                String id = p.getFileName().toString();
                if (open.containsKey(id)) {
                    continue;
                }
                // Engines before this one locked <id>.lock beside the directory: respected too.
                Path legacyLock = dir.resolve(id + ".lock");
                boolean legacy = Files.exists(legacyLock, LinkOption.NOFOLLOW_LINKS);
                try (SafeFiles.Handle l = SafeFiles.tryLockDirectory(p);
                     SafeFiles.Handle old = legacy ? SafeFiles.tryLock(legacyLock) : null) {
                    if (l == null || legacy && old == null) {
                        continue; // another engine has it open
                    }
                    List<String> left = WorkDirs.removeSkeleton(p, List.of(0L, 1L));
                    LOG.info("removed stale sandbox directory {}{}", p, left.isEmpty() ? "" : "; left: " + left);
                    deleteQuietly(dir.resolve(id + ".fstab")); // the mount plan earlier engines wrote
                } catch (Problem | IOException e) {
                    LOG.warn("not removing stale {}: {}", p, e.getMessage());
                    continue;
                }
                if (legacy) {
                    deleteQuietly(legacyLock);
                }
            }
        } catch (IOException e) {
            LOG.warn("cannot sweep {}: {}", dir, e.toString());
        }
    }

    /** The steps of the last open and the last close, with the microseconds each took (docs/security.md, "Speed"). */
    public Map<String, Map<String, Long>> lastPhases() {
        return Map.of("open", lastOpen, "close", lastClose);
    }

    public List<Sandbox> openSandboxes() {
        return List.copyOf(open.values());
    }

    // Steps

    private List<BindPlan.Entry> checkSources(BindPlan plan, String configDir, OpContext ctx) throws Problem {
        List<BindPlan.Entry> out = new ArrayList<>();
        for (BindPlan.Entry e : plan.entries()) {
            if (e.type() == BindPlan.Type.BIND) {
                Path src = Path.of(e.resolvedSource(configDir));
                if (!Files.exists(src)) {
                    if (e.optional()) {
                        ctx.log("sandbox", "optional " + e.target() + " skipped: " + src + " does not exist; "
                                + e.ifAbsent());
                        continue;
                    }
                    throw new Problem(ProblemCode.SOURCE_MISSING, "The bind source " + src + " (for " + e.target()
                            + ", " + e.why() + ") does not exist.", src.toString().equals(configDir)
                            ? "Check the configuration directory; it must exist before it can be built."
                            : e.ifAbsent() != null ? e.ifAbsent()
                            : "This host lacks " + src + "; choose the plan that matches this host (plan \""
                                    + plan.name() + "\" is for: " + plan.description() + ")");
                }
            }
            out.add(e);
        }
        return out;
    }

    /**
     * Waits for unshare's forked child to have its own namespaces and to be running the holder
     * program ({@code cat}): by then unshare has made the mounts private and mounted the PID
     * namespace's /proc, which the root needs, and no exec is left that pivot_root could disturb.
     */
    private static long awaitHolder(Exec.Running unshare) throws Problem, IOException {
        String ourNs = Posix.namespace(ProcessHandle.current().pid(), "mnt").orElse("");
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!unshare.alive()) {
                Exec.Outcome o = unshare.await(1000);
                throw new Problem(ProblemCode.NAMESPACES_UNAVAILABLE,
                        "Permission denied creating the sandbox's namespaces: " + o.stderr().strip(),
                        "Run the engine as root; check cat /proc/sys/kernel/unprivileged_userns_clone (1 where it"
                                + " exists) and that the kernel supports mount, PID and network namespaces.");
            }
            Optional<Long> child = firstChild(unshare.pid());
            if (child.isPresent()) {
                long pid = child.get();
                Optional<String> ns = Posix.namespace(pid, "mnt");
                if (ns.isPresent() && !ns.get().equals(ourNs) && HOLDER_COMM.equals(Posix.comm(pid))) {
                    return pid;
                }
            }
            java.util.concurrent.locks.LockSupport.parkNanos(200_000);
            if (Thread.interrupted()) {
                throw new IOException("interrupted");
            }
        }
        throw new Problem(ProblemCode.NAMESPACES_UNAVAILABLE, "The sandbox holder did not start within 5 s.",
                "Check the engine log; the machine may be overloaded.");
    }

    /** Device and inode of what {@code path} leads to (one stat). */
    private static long[] identity(String path) throws IOException {
        long[] id = MountCalls.identity(LibC.AT_FDCWD, path);
        if (id == null) {
            int errno = LibC.errno();
            throw new LibC.Errno("stat " + path + ": " + LibC.strerror(errno), errno);
        }
        return id;
    }

    /** What the operator reads when the root could not be made in the holder's namespace. */
    private static Problem rootProblem(SandboxRoot.Failure f) {
        if (f.planted) {
            return new Problem(ProblemCode.NOT_AUTHORIZED, "Something other than the engine created " + f.where()
                    + " in the new sandbox's root while the engine was setting it up (" + f.getMessage()
                    + "). Nothing was done through it; the sandbox was discarded.",
                    "Only root can reach a sandbox being set up (through /proc/<holder>/root): find out what"
                            + " else runs as root and writes there, stop it, and open the sandbox again.");
        }
        if (f.step.equals("pivot_root")) {
            return new Problem(ProblemCode.NAMESPACES_UNAVAILABLE, "The kernel refused to make the sandbox the"
                    + " root of its mount namespace (pivot_root: " + f.reason() + "). Nothing was left mounted.",
                    "This happens when the engine runs from an initramfs (a root that is not a mount) or with"
                            + " shared mount propagation it cannot change; run it from the installed system.");
        }
        return new Problem(ProblemCode.INTERNAL, "Mounting the sandbox failed: " + f.getMessage() + ".",
                "Nothing was left mounted (the holder was stopped, and every mount was in its namespace only);"
                        + " the engine log has the details.");
    }

    /**
     * The plan as an fstab under {@code root}, as a hand-written runbook script would mount it with
     * {@code mount --all --fstab} (the isolation benchmark's peer): the root bound onto itself, then
     * every mount whose source exists.
     */
    public static List<String> fstab(String planName, String configDir, Path root) throws IOException {
        BindPlan plan = BindPlan.load(planName);
        String r = root.toString();
        List<String> fstab = new ArrayList<>();
        fstab.add(fstabLine(r, r, "none", "bind"));
        for (BindPlan.Entry e : plan.entries()) {
            if (!e.mounted() || e.type() == BindPlan.Type.BIND && !Files.exists(Path.of(e.resolvedSource(configDir)))) {
                continue;
            }
            String target = r + e.target();
            String extra = e.options() == null ? "" : "," + e.options();
            fstab.add(switch (e.type()) {
                case BIND -> fstabLine(e.resolvedSource(configDir), target, "none", (e.readOnly() ? "bind,ro" : "bind")
                        + extra);
                case PROC -> fstabLine("proc", target, "proc", "nosuid,nodev,noexec" + extra);
                case SYSFS -> fstabLine("sysfs", target, "sysfs", (e.readOnly() ? "ro," : "") + "nosuid,nodev,noexec"
                        + extra);
                case TMPFS -> fstabLine("tmpfs", target, "tmpfs", "nosuid,nodev" + extra);
                case DEVPTS -> fstabLine("devpts", target, "devpts", "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620"
                        + extra);
                default -> throw new IllegalStateException(e.type().toString());
            });
        }
        return fstab;
    }

    /** One fstab line; fstab escapes blanks and backslashes as octal. */
    static String fstabLine(String source, String target, String type, String options) {
        return fstabEscape(source) + " " + fstabEscape(target) + " " + type + " " + options + " 0 0";
    }

    static String fstabEscape(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            switch (c) {
                case ' ' -> b.append("\\040");
                case '\t' -> b.append("\\011");
                case '\n' -> b.append("\\012");
                case '\\' -> b.append("\\134");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /**
     * The kernel's table for the holder, whose root is now the sandbox's: it must show the read-only
     * tmpfs root, every planned mount (read-only where the plan says so), all private, and nothing
     * else — no mount of the host's tree, nothing a planted link made land elsewhere.
     */
    private static void verify(List<BindPlan.Entry> entries, List<MountInfo.Line> mounts) throws Problem {
        java.util.Set<String> planned = new java.util.HashSet<>(List.of("/"));
        MountInfo.Line root = mounts.stream().filter(l -> l.mountPoint().equals("/")).findFirst().orElse(null);
        if (root == null || !root.fsType().equals("tmpfs") || !root.readOnly()) {
            throw Problem.internal("The kernel does not show the sandbox's read-only tmpfs as its root"
                    + (root == null ? "" : " (it shows " + root.fsType() + ", " + root.options() + ")")
                    + "; refusing to continue.", null);
        }
        for (BindPlan.Entry e : entries) {
            if (!e.mounted()) {
                continue;
            }
            planned.add(e.target());
            MountInfo.Line line = null;
            for (MountInfo.Line l : mounts) {
                if (l.mountPoint().equals(e.target())) {
                    line = l; // the last one at that point is the one on top
                }
            }
            if (line == null) {
                throw Problem.internal("The kernel does not show " + e.target() + " as mounted in the sandbox.", null);
            }
            if (e.readOnly() && !line.readOnly()) {
                throw Problem.internal("The kernel shows " + e.target() + " writable although the plan makes it"
                        + " read-only; refusing to continue.", null);
            }
        }
        for (MountInfo.Line l : mounts) {
            if (!"private".equals(l.propagation())) {
                throw Problem.internal("The kernel shows " + l.mountPoint() + " with propagation " + l.propagation()
                        + "; sandbox mounts must be private. Refusing to continue.", null);
            }
        }
        if (mounts.size() != planned.size() || !mounts.stream().allMatch(l -> planned.contains(l.mountPoint()))) {
            String extra = mounts.stream().map(MountInfo.Line::mountPoint).filter(mp -> !planned.contains(mp))
                    .findFirst().orElse("a second mount on a planned point");
            throw new Problem(ProblemCode.NOT_AUTHORIZED, "The sandbox shows a mount the plan does not make: " + extra
                    + " (" + mounts.size() + " mounts, " + planned.size() + " planned). Something mounted there while"
                    + " the sandbox was being set up, or a link made a mount land elsewhere. The sandbox was"
                    + " discarded with everything mounted in it.",
                    "Only root can reach a sandbox being set up: find out what else runs as root and mounts or"
                            + " writes in the engine's state directory, stop it, and open the sandbox again.");
        }
    }

    /**
     * The directory bound from the configuration directory is the one the rule checked (same device
     * and inode, seen from inside the sandbox): had it been swapped for another between the check and
     * the mount, which follows links in its source, the sandbox would build something else.
     */
    private static void verifyConfigDirBound(List<BindPlan.Entry> entries, ConfigDirs.Checked configDir, long holder)
            throws Problem, IOException {
        for (BindPlan.Entry e : entries) {
            if (e.type() != BindPlan.Type.BIND || !e.mounted()
                    || !e.resolvedSource(configDir.dir()).equals(configDir.dir())) {
                continue;
            }
            long[] bound = identity("/proc/" + holder + "/root" + e.target());
            SafeFiles.Identity checked = configDir.identity();
            if (checked == null || bound[0] != checked.device() || bound[1] != checked.inode()) {
                throw new Problem(ProblemCode.NOT_AUTHORIZED, "The directory bound at " + e.target() + " is not "
                        + configDir.dir() + " as it was checked: it was replaced while the sandbox was being set up."
                        + " The sandbox was discarded.", "Find out what changes " + configDir.dir()
                        + ", then open the sandbox again.");
            }
        }
    }

    /**
     * Takes the plan's mounts down one by one, deepest first, never lazily (the root stays: it goes
     * with the namespace). If one is busy, the close stops there, names it and the processes
     * inside, and deletes nothing.
     */
    private void unmountAll(Sandbox s, OpContext ctx) throws Problem {
        ctx.progress("close", "Unmounting the sandbox", null, null);
        List<String> points;
        try {
            points = new ArrayList<>(s.mounts().stream().map(MountInfo.Line::mountPoint)
                    .filter(mp -> !mp.equals("/")).toList());
        } catch (IOException e) {
            throw Problem.internal("Cannot read the sandbox's mount table: " + e.getMessage(), e);
        }
        java.util.Collections.reverse(points); // mounted later, unmounted earlier
        points.sort(java.util.Comparator.comparingLong((String mp) -> mp.chars().filter(c -> c == '/').count())
                .reversed());
        SandboxRoot.Failure f = SandboxRoot.unmount(s.holderPid(), points);
        List<String> left;
        try {
            left = s.mounts().stream().map(MountInfo.Line::mountPoint).filter(mp -> !mp.equals("/")).toList();
        } catch (IOException e) {
            throw Problem.internal("Cannot read the sandbox's mount table: " + e.getMessage(), e);
        }
        if (f == null && left.isEmpty()) {
            return;
        }
        String busy = f != null && !f.path.isEmpty() ? f.where() : left.stream()
                .max(java.util.Comparator.comparingLong(mp -> mp.chars().filter(c -> c == '/').count())).orElse("/");
        String reason = f == null ? "still mounted" : f.errno == MountCalls.EBUSY ? "target is busy" : f.reason();
        List<String> inside = othersInside(s).stream().map(pid -> pid + " (" + Posix.comm(pid) + ")").toList();
        throw new Problem(ProblemCode.UNMOUNT_FAILED, "Could not unmount " + busy + " in sandbox " + s.id()
                + ": " + reason + " (" + left.size() + " mounts are still in place). "
                + (inside.isEmpty() ? "" : "Still running inside: " + String.join(", ", inside) + ". ")
                + "Nothing was deleted; every file is where it was.",
                "Stop what is running inside (or close with force, which kills it) and close again.");
    }

    /**
     * The first child of a process, from /proc/&lt;pid&gt;/task/&lt;pid&gt;/children (one read) where the
     * kernel offers it; ProcessHandle.children scans every process in /proc.
     */
    private static Optional<Long> firstChild(long pid) {
        Path children = Path.of("/proc", Long.toString(pid), "task", Long.toString(pid), "children");
        try {
            String s = Files.readString(children).strip();
            return s.isEmpty() ? Optional.empty() : Optional.of(Long.parseLong(s.split(" ")[0]));
        } catch (IOException | NumberFormatException e) {
            return ProcessHandle.of(pid).flatMap(h -> h.children().findFirst()).map(ProcessHandle::pid);
        }
    }

    /** Processes in the sandbox's mount namespace other than the holder and its unshare parent. */
    private static List<Long> othersInside(Sandbox s) {
        long unsharePid = s.unshareProcess().pid();
        return s.processes().stream().filter(pid -> pid != s.holderPid() && pid != unsharePid).toList();
    }

    /**
     * Waits for the holder to end after its tether was closed; the kernel then ends everything in
     * its PID namespace. {@code inside}: the processes in the sandbox, found while the holder was
     * alive, killed if it does not end within 2 s.
     */
    private static void awaitHolderExit(Sandbox s, List<ProcessHandle> inside) {
        try {
            s.unshareProcess().await(2000);
        } catch (IOException e) {
            LOG.warn("waiting for holder: {}", e.toString());
        }
        if (s.unshareProcess().alive()) {
            inside.forEach(ProcessHandle::destroyForcibly);
            s.unshareProcess().kill();
            awaitExit(s, inside);
        }
        // Otherwise unshare has exited, so its child (the PID namespace's init) is gone and the
        // kernel has killed everything in that namespace; close() checked nothing else was inside.
    }

    /**
     * SIGKILLs every process in the sandbox, the holder first (the kernel then kills the rest of
     * its PID namespace), and lets unshare reap the holder before the engine reaps unshare, so no
     * zombie is left holding a pid. Processes are identified before anything dies, by handle
     * (pid + start time), never by namespace number afterwards.
     */
    private static void killEverythingIn(Sandbox s) {
        List<ProcessHandle> inside = s.processHandles();
        s.holder().ifPresent(ProcessHandle::destroyForcibly);
        inside.forEach(ProcessHandle::destroyForcibly);
        try {
            s.unshareProcess().await(2000);
        } catch (IOException e) {
            LOG.warn("waiting for unshare: {}", e.toString());
        }
        if (s.unshareProcess().alive()) {
            s.unshareProcess().kill();
        }
        awaitExit(s, inside);
    }

    private static void awaitExit(Sandbox s, List<ProcessHandle> processes) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        for (ProcessHandle p : processes) {
            long left = deadline - System.nanoTime();
            try {
                p.onExit().get(Math.max(left, 1), java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                LOG.warn("process {} in sandbox {} still running after 5 s", p.pid(), s.id());
            } catch (java.util.concurrent.ExecutionException e) {
                LOG.debug("waiting for {}: {}", p.pid(), e.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Undoes a half-made open: kill the holder (the kernel drops its mounts), remove what was made. */
    private void abandon(Exec.Running unshare, Path workDir, List<SafeFiles.Handle> locks) {
        if (unshare != null) {
            unshare.handle().descendants().forEach(ProcessHandle::destroyForcibly);
            unshare.kill();
            try {
                unshare.await(5000);
            } catch (IOException e) {
                LOG.warn("waiting for abandoned holder: {}", e.toString());
            }
        }
        if (workDir != null) {
            try {
                List<String> left = WorkDirs.removeSkeleton(workDir, List.of(0L, 1L));
                if (!left.isEmpty()) {
                    LOG.warn("left in place after a failed open: {}", left);
                }
            } catch (Problem p) {
                LOG.error("not removing {}: {}", workDir, p.getMessage());
            }
        }
        locks.forEach(SafeFiles.Handle::close);
    }

    private interface ProblemSupplier {
        Problem get();
    }

    private static void lock(Path file, List<SafeFiles.Handle> locks, ProblemSupplier busy)
            throws IOException, Problem {
        SafeFiles.Handle l;
        try {
            l = SafeFiles.tryLock(file); // O_NOFOLLOW: a link where the lock file belongs is refused
        } catch (SafeFiles.Planted e) {
            throw WorkDirs.planted(file);
        }
        if (l == null) {
            throw busy.get();
        }
        locks.add(l);
    }

    private static Problem busy(String configDir, String holder) {
        return new Problem(ProblemCode.BUSY, "A sandbox for " + configDir + " is already open (" + holder + ").",
                "Close that sandbox first (or finish its build); only one sandbox per configuration may be open.");
    }

    private static void deleteQuietly(Path p) {
        SafeFiles.deleteQuietly(p);
    }

    static String sha256(String s) {
        return Hashes.sha256(s).substring(0, 24);
    }
}
