package org.saferebuild.engine.sandbox;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.saferebuild.engine.sys.LibC;

/**
 * Makes a sandbox's root inside its holder's namespaces, and makes it the root of that mount
 * namespace (runbook steps 1 and 2; docs/security.md, "The sandbox's promises"):
 * <ol>
 *   <li>a fresh tmpfs is mounted over the (empty) work directory — in the holder's namespace only,
 *       so the host never sees it, and only root can reach it (through /proc/&lt;holder&gt;/root);</li>
 *   <li>the skeleton (mount points and the plan's links) is made in it, each entry exclusively;</li>
 *   <li>every mount of the plan is made on it with mount(2), read-only where the plan says; then
 *       the root itself is made read-only;</li>
 *   <li>{@code pivot_root} makes it the namespace's root and the old root is detached
 *       ({@code umount -l}): nothing of the host outside the plan is reachable any more, and a
 *       process that enters the namespace ({@code setns}, as Nix 2.8's children do) lands in the
 *       sandbox, never outside it. That is checked by entering it once more at the end.</li>
 * </ol>
 * All of it runs on one short-lived thread that leaves the engine's filesystem context
 * ({@code unshare(CLONE_FS)}) and enters the holder's mount (and network) namespace with
 * {@code setns}, so no process is started for it. That thread only makes system calls: no logging,
 * no class loading by path (every class it uses is loaded first), nothing that would resolve a path
 * in the wrong root; what goes wrong is handed back to the caller's thread.
 *
 * <p>When the engine itself runs in a chroot (a rescue system, {@code nixos-enter}, the test
 * overlay), its root is not the namespace's: the first {@code pivot_root} replaces the engine's
 * root (which is the holder's), and entering the namespace then lands at the namespace's own root,
 * outside the engine's; a second {@code pivot_root} from there replaces that one too.
 */
final class SandboxRoot {

    /** One step of building the root, with its path relative to the root. */
    sealed interface Step permits Dir, File, Link, Mount {
        String path();
    }

    /** A directory mount point, made with mkdir (fails on anything already there). */
    record Dir(String path) implements Step {
    }

    /** A file mount point (for a file bind), made with O_CREAT|O_EXCL|O_NOFOLLOW. */
    record File(String path) implements Step {
    }

    /** One of the plan's links, made with symlinkat (fails on anything already there). */
    record Link(String path, String target) implements Step {
    }

    /**
     * A mount. {@code bind}: {@code source} is bound (not recursively) and then, if {@code flags}
     * is not zero, remounted with them, keeping nosuid/nodev/noexec the source's mount had; otherwise
     * a new filesystem of {@code type} with {@code data}.
     */
    record Mount(String path, String target, String source, String type, long flags, String data, boolean bind,
                 String whatOn) implements Step {
        Mount(String path, String target, String source, String type, long flags, String data, boolean bind) {
            // For a message ("bind /nix on", "mount tmpfs on"): made here, before any thread enters a namespace.
            this(path, target, source, type, flags, data, bind, (bind ? "bind " + source : "mount " + type) + " on");
        }
    }

    /** What went wrong inside the namespace: the step, the path it worked on, the error. */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;
        final String step;
        final String path;
        final int errno;
        final boolean planted;

        Failure(String step, String path, int errno, boolean planted) {
            super(null, null, false, false); // made on the namespace's thread: nothing that could read a file
            this.step = step;
            this.path = path;
            this.errno = errno;
            this.planted = planted;
        }

        /** The path worked on, absolute inside the sandbox where it was relative to its root. */
        String where() {
            return path.isEmpty() || path.startsWith("/") ? path : "/" + path;
        }

        /** The C library's words for the error ("Device or resource busy"), or "failed". */
        String reason() {
            return errno == 0 ? "failed" : LibC.strerror(errno) + " (errno " + errno + ")";
        }

        @Override
        public String getMessage() {
            return step + (path.isEmpty() ? "" : " " + where()) + ": " + reason();
        }
    }

    /** How long each part took (microseconds): the root and skeleton, the mounts, pivot_root. */
    record Built(int mounts, long rootMicros, long mountMicros, long pivotMicros, int pivots) {
    }

    static {
        loadClassesFirst();
    }

    private SandboxRoot() {
    }

    // Plan → steps

    /**
     * The steps that build the root for {@code entries}: mount points and links (skipping targets
     * that an earlier bind provides, such as /run/systemd inside /run), then the mounts in order.
     */
    static List<Step> steps(List<BindPlan.Entry> entries, String configDir) {
        List<Step> skeleton = new ArrayList<>();
        List<Step> mounts = new ArrayList<>();
        List<String> bound = new ArrayList<>();
        Set<String> made = new HashSet<>();
        for (BindPlan.Entry e : entries) {
            String rel = e.target().substring(1);
            boolean inside = bound.stream().anyMatch(b -> e.target().startsWith(b + "/"));
            if (!inside) {
                int slash = -1;
                while ((slash = rel.indexOf('/', slash + 1)) > 0) {
                    if (made.add(rel.substring(0, slash))) {
                        skeleton.add(new Dir(rel.substring(0, slash)));
                    }
                }
                if (!made.add(rel)) {
                    // already made, as the parent of an earlier target
                } else if (e.type() == BindPlan.Type.SYMLINK) {
                    skeleton.add(new Link(rel, e.source()));
                } else if (e.type() == BindPlan.Type.BIND && Files.isRegularFile(Path.of(e.resolvedSource(configDir)))) {
                    skeleton.add(new File(rel));
                } else {
                    skeleton.add(new Dir(rel));
                }
            }
            if (e.mounted()) {
                bound.add(e.target());
                mounts.add(mount(e, configDir));
            }
        }
        skeleton.addAll(mounts);
        return skeleton;
    }

    /** The mount(2) call for one entry; the plan's options are flags (ro, nosuid, nodev, noexec) or data. */
    static Mount mount(BindPlan.Entry e, String configDir) {
        long flags = e.readOnly() ? MountCalls.MS_RDONLY : 0;
        List<String> data = new ArrayList<>();
        if (e.options() != null) {
            for (String w : e.options().split(",")) {
                switch (w) {
                    case "" -> { }
                    case "ro" -> flags |= MountCalls.MS_RDONLY;
                    case "nosuid" -> flags |= MountCalls.MS_NOSUID;
                    case "nodev" -> flags |= MountCalls.MS_NODEV;
                    case "noexec" -> flags |= MountCalls.MS_NOEXEC;
                    default -> data.add(w);
                }
            }
        }
        String rel = e.target().substring(1);
        long hardened = MountCalls.MS_NOSUID | MountCalls.MS_NODEV | MountCalls.MS_NOEXEC;
        return switch (e.type()) {
            case BIND -> {
                if (!data.isEmpty()) {
                    throw new IllegalArgumentException("bind " + e.target() + " takes only ro, nosuid, nodev, noexec: "
                            + e.options());
                }
                yield new Mount(rel, e.target(), e.resolvedSource(configDir), null, flags, null, true);
            }
            // The proc filesystem of the sandbox's PID namespace: unshare --mount-proc made it at the
            // holder's /proc; a new one can be made only from inside that PID namespace, which this
            // thread is not in, so it is bound from there.
            case PROC -> new Mount(rel, e.target(), "/proc", null, flags | hardened, null, true);
            case SYSFS -> new Mount(rel, e.target(), "sysfs", "sysfs", flags | hardened, String.join(",", data), false);
            case TMPFS -> new Mount(rel, e.target(), "tmpfs", "tmpfs",
                    flags | MountCalls.MS_NOSUID | MountCalls.MS_NODEV, String.join(",", data), false);
            // newinstance: the sandbox's own ptys, not the host's terminals; /dev/ptmx finds the
            // instance mounted at pts/ beside it (Linux 4.7 and later).
            case DEVPTS -> {
                List<String> d = new ArrayList<>(List.of("newinstance", "ptmxmode=0666", "mode=0620"));
                d.addAll(data);
                yield new Mount(rel, e.target(), "devpts", "devpts", flags | MountCalls.MS_NOSUID | MountCalls.MS_NOEXEC,
                        String.join(",", d), false);
            }
            case SYMLINK -> throw new IllegalArgumentException("a link is not mounted: " + e.target());
        };
    }

    // Building

    /**
     * Starts the thread that will build the root of a sandbox over {@code workDir} (which must be
     * empty, on the device {@code workDirDevice}) and make it the namespace's root. It starts
     * before the holder is up (a thread's start costs a fraction of a millisecond, spent while the
     * holder comes up) and waits for {@link Pending#build} to name the holder, or for
     * {@link Pending#cancel}.
     *
     * @param enterNet enter the holder's network namespace too (sysfs shows the interfaces of
     *                 the namespace that mounts it)
     */
    static Pending prepare(boolean enterNet, Path workDir, long workDirDevice, List<Step> steps) {
        Builder b = new Builder(enterNet, workDir.toString(), workDirDevice, steps);
        Thread t = new Thread(() -> {
            try {
                long holder = b.handover.join();
                if (holder > 0) {
                    b.enterHolder(holder);
                    b.run();
                }
            } catch (Throwable e) { // handed to the caller's thread, which says what it was
                b.unexpected = e;
            }
        }, "sandbox-root");
        t.setDaemon(true);
        t.start();
        return new Pending(b, t);
    }

    /** The root's thread, started and waiting for the holder. */
    static final class Pending {
        private final Builder builder;
        private final Thread thread;

        private Pending(Builder builder, Thread thread) {
            this.builder = builder;
            this.thread = thread;
        }

        /** Builds the root in {@code holder}'s namespaces and waits until it is made. */
        Built build(long holder) throws Failure {
            builder.handover.complete(holder);
            joinUninterruptibly(thread);
            if (builder.unexpected != null) {
                throw new IllegalStateException("making the sandbox's root failed unexpectedly", builder.unexpected);
            }
            if (builder.failure != null) {
                throw builder.failure;
            }
            return new Built(builder.mounts, builder.micros[0], builder.micros[1], builder.micros[2], builder.pivots);
        }

        /** The open failed before the holder was up: the thread ends without doing anything. */
        void cancel() {
            builder.handover.complete(-1L);
            joinUninterruptibly(thread);
        }
    }

    /**
     * Unmounts {@code mountPoints} (paths inside the sandbox, deepest first) one by one, never
     * lazily, and stops at the first one the kernel refuses.
     *
     * @return null when all were unmounted, else the failure naming the busy mount
     */
    static Failure unmount(long holder, List<String> mountPoints) {
        Unmounter u = new Unmounter(mountPoints);
        u.enterHolder(holder);
        runOnOwnThread(u, "sandbox-umount-" + holder);
        if (u.unexpected != null) {
            throw new IllegalStateException("unmounting failed unexpectedly", u.unexpected);
        }
        return u.failure;
    }

    /**
     * Loads (and initializes) every class of ours the namespace's thread may use, before it leaves
     * the engine's root: a class loader reads a class by path the first time it is used (a
     * development class path is a directory), and after setns and pivot_root that path would be
     * looked up in the sandbox. The JDK's own classes come from its runtime image, already open.
     */
    private static void loadClassesFirst() {
        for (Class<?> c : List.of(LibC.class, MountCalls.class, Failure.class, Built.class, Builder.class,
                Unmounter.class, InNamespace.class, Dir.class, File.class, Link.class, Mount.class, Pending.class)) {
            try {
                Class.forName(c.getName(), true, c.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * A fresh thread for work in another mount namespace: its filesystem context (root, working
     * directory) is unshared from the engine's, and it ends when the work is done, so nothing else
     * ever runs in that context.
     */
    private static void runOnOwnThread(InNamespace work, String name) {
        Thread t = new Thread(() -> {
            try {
                work.run();
            } catch (Throwable e) { // handed to the caller's thread, which says what it was
                work.unexpected = e;
            }
        }, name);
        t.setDaemon(true);
        t.start();
        joinUninterruptibly(t);
    }

    /** Waits for such a thread to end, also when interrupted: it takes milliseconds, and half a root must not be left. */
    private static void joinUninterruptibly(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Leaves the engine's filesystem context and enters the holder's mount (and network) namespace. */
    private abstract static class InNamespace implements Runnable {
        private final boolean enterNet;
        String holderRoot;
        String mntNs;
        String netNs;
        Failure failure;
        volatile Throwable unexpected;
        int mntFd = -1;

        InNamespace(boolean enterNet) {
            this.enterNet = enterNet;
        }

        /** Names the holder (its /proc paths are made here, before the thread enters anything). */
        final void enterHolder(long holder) {
            this.holderRoot = "/proc/" + holder + "/root";
            this.mntNs = "/proc/" + holder + "/ns/mnt";
            this.netNs = enterNet ? "/proc/" + holder + "/ns/net" : null;
        }

        final boolean fail(String step, String path) {
            return fail(step, path, LibC.errno(), false);
        }

        final boolean fail(String step, String path, int errno, boolean planted) {
            failure = new Failure(step, path, errno, planted);
            return false;
        }

        /** Enters the namespaces; with {@code holdersRoot} also chroots to the holder's root (the engine's). */
        final boolean enter(boolean holdersRoot, int[] rootFd) {
            int netFd = -1;
            try {
                if (holdersRoot) {
                    rootFd[0] = LibC.openat(LibC.AT_FDCWD, holderRoot, LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
                    if (rootFd[0] < 0) {
                        return fail("open", holderRoot);
                    }
                }
                mntFd = LibC.openat(LibC.AT_FDCWD, mntNs, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
                if (mntFd < 0) {
                    return fail("open", mntNs);
                }
                if (netNs != null) {
                    netFd = LibC.openat(LibC.AT_FDCWD, netNs, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
                    if (netFd < 0) {
                        return fail("open", netNs);
                    }
                }
                if (MountCalls.unshare(MountCalls.CLONE_FS) != 0) {
                    return fail("unshare(CLONE_FS)", "");
                }
                // The umask belongs to the fs state this thread now has alone: the skeleton is 0755 and
                // 0644 as on a real root whatever the engine's (its installed wrapper sets 077), so a
                // build user such as nixbld can reach /bin/sh through the sandbox's "/".
                MountCalls.umask(022);
                if (MountCalls.setns(mntFd, MountCalls.CLONE_NEWNS) != 0) {
                    return fail("setns", mntNs);
                }
                if (netFd >= 0 && MountCalls.setns(netFd, MountCalls.CLONE_NEWNET) != 0) {
                    return fail("setns", netNs);
                }
                if (holdersRoot && (MountCalls.fchdir(rootFd[0]) != 0 || MountCalls.chroot(".") != 0)) {
                    return fail("chroot", holderRoot);
                }
                return true;
            } finally {
                if (netFd >= 0) {
                    LibC.close(netFd);
                }
            }
        }
    }

    /** The thread that builds the root. */
    private static final class Builder extends InNamespace {
        private final String workDir;
        private final long workDirDevice;
        private final List<Step> steps;
        final long[] micros = new long[3];
        final java.util.concurrent.CompletableFuture<Long> handover = new java.util.concurrent.CompletableFuture<>();
        int mounts;
        int pivots;

        Builder(boolean enterNet, String workDir, long workDirDevice, List<Step> steps) {
            super(enterNet);
            this.workDir = workDir;
            this.workDirDevice = workDirDevice;
            this.steps = steps;
        }

        @Override
        public void run() {
            int[] rootFd = {-1};
            int sandboxFd = -1;
            try {
                long t0 = System.nanoTime();
                if (!enter(true, rootFd)) {
                    return;
                }
                // The sandbox's root: a tmpfs over the work directory, in this namespace only.
                if (MountCalls.mount("tmpfs", workDir, "tmpfs", MountCalls.MS_NOSUID | MountCalls.MS_NODEV,
                        "mode=0755") != 0) {
                    fail("mount tmpfs on", workDir);
                    return;
                }
                sandboxFd = LibC.openat(LibC.AT_FDCWD, workDir,
                        LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
                if (sandboxFd < 0) {
                    fail("open", workDir);
                    return;
                }
                long[] fs = new long[15];
                long[] id = MountCalls.identity(sandboxFd, "");
                if (LibC.fstatfs(sandboxFd, fs) != 0 || id == null) {
                    fail("stat", workDir);
                    return;
                }
                if (fs[0] != MountCalls.TMPFS_MAGIC || id[0] == workDirDevice) {
                    fail("the sandbox root is not the fresh tmpfs at", workDir, 0, true);
                    return;
                }
                if (MountCalls.fchdir(sandboxFd) != 0) {
                    fail("chdir", workDir);
                    return;
                }
                if (!skeleton()) {
                    return;
                }
                long t1 = System.nanoTime();
                micros[0] = (t1 - t0) / 1000;
                if (!mountAll()) {
                    return;
                }
                // The root itself is read-only: only what the plan makes writable can be written.
                if (MountCalls.mount(null, ".", null, MountCalls.MS_REMOUNT | MountCalls.MS_BIND | MountCalls.MS_RDONLY
                        | MountCalls.MS_NOSUID | MountCalls.MS_NODEV, null) != 0) {
                    fail("remount read-only", "/");
                    return;
                }
                long t2 = System.nanoTime();
                micros[1] = (t2 - t1) / 1000;
                if (!pivot(sandboxFd)) {
                    return;
                }
                micros[2] = (System.nanoTime() - t2) / 1000;
            } finally {
                if (sandboxFd >= 0) {
                    LibC.close(sandboxFd);
                }
                if (rootFd[0] >= 0) {
                    LibC.close(rootFd[0]);
                }
                if (mntFd >= 0) {
                    LibC.close(mntFd);
                }
            }
        }

        /** Mount points and links, each created exclusively: anything already there was planted. */
        private boolean skeleton() {
            for (Step s : steps) {
                int r;
                if (s instanceof Dir d) {
                    r = LibC.mkdirat(LibC.AT_FDCWD, d.path(), 0755);
                } else if (s instanceof File f) {
                    r = LibC.openat(LibC.AT_FDCWD, f.path(), LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL
                            | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0644);
                    if (r >= 0) {
                        LibC.close(r);
                        r = 0;
                    }
                } else if (s instanceof Link l) {
                    r = MountCalls.symlinkat(l.target(), LibC.AT_FDCWD, l.path());
                } else {
                    continue;
                }
                if (r != 0) {
                    int errno = LibC.errno();
                    return fail("create", s.path(), errno, errno == LibC.EEXIST);
                }
            }
            return true;
        }

        private boolean mountAll() {
            for (Step s : steps) {
                if (!(s instanceof Mount m)) {
                    continue;
                }
                if (m.bind()) {
                    if (MountCalls.mount(m.source(), m.path(), null, MountCalls.MS_BIND, null) != 0) {
                        return fail(m.whatOn(), m.target());
                    }
                    if (m.flags() != 0) {
                        long kept = MountCalls.mountFlags(m.path());
                        if (kept < 0) {
                            return fail("statvfs", m.target());
                        }
                        if (MountCalls.mount(null, m.path(), null, MountCalls.MS_REMOUNT | MountCalls.MS_BIND | m.flags()
                                | (kept & MountCalls.ST_KEPT), null) != 0) {
                            return fail("remount", m.target());
                        }
                    }
                } else if (MountCalls.mount(m.source(), m.path(), m.type(), m.flags(), m.data()) != 0) {
                    return fail(m.whatOn(), m.target());
                }
                mounts++;
            }
            return true;
        }

        /**
         * pivot_root into the sandbox root, detach the old root, then enter the namespace again as a
         * newcomer would: it must land in the sandbox root. If it lands at the namespace's own root
         * instead (the engine runs in a chroot), pivot once more from there.
         */
        private boolean pivot(int sandboxFd) {
            long[] sandbox = MountCalls.identity(sandboxFd, "");
            for (int attempt = 0; attempt < 2; attempt++) {
                if (attempt > 0 && MountCalls.mount(null, "/", null, MountCalls.MS_REC | MountCalls.MS_PRIVATE, null) != 0) {
                    return fail("make private", "/");
                }
                int oldRoot = LibC.openat(LibC.AT_FDCWD, "/", LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
                if (oldRoot < 0) {
                    return fail("open", "/");
                }
                try {
                    if (MountCalls.fchdir(sandboxFd) != 0) {
                        return fail("chdir", workDir);
                    }
                    // new root ".", old root stacked on it at "."; then the old root is detached with all below it.
                    if (MountCalls.pivotRoot(".", ".") != 0) {
                        return fail("pivot_root", workDir);
                    }
                    pivots++;
                    if (MountCalls.fchdir(oldRoot) != 0 || MountCalls.umount2(".", MountCalls.MNT_DETACH) != 0) {
                        return fail("detach the old root", "");
                    }
                } finally {
                    LibC.close(oldRoot);
                }
                // What Nix 2.8's restoreMountNamespace does: setns to the namespace, then look at "/".
                if (MountCalls.setns(mntFd, MountCalls.CLONE_NEWNS) != 0) {
                    return fail("setns", mntNs);
                }
                long[] landed = MountCalls.identity(LibC.AT_FDCWD, "/");
                if (landed == null) {
                    return fail("stat", "/");
                }
                if (landed[0] == sandbox[0] && landed[1] == sandbox[1]) {
                    return true;
                }
            }
            return fail("a process entering the sandbox's mount namespace does not land in its root", "", 0, false);
        }
    }

    /** The thread that unmounts, deepest first, for a close with something still running inside. */
    private static final class Unmounter extends InNamespace {
        private final List<String> mountPoints;

        Unmounter(List<String> mountPoints) {
            super(false);
            this.mountPoints = mountPoints;
        }

        @Override
        public void run() {
            try {
                if (!enter(false, new int[] {-1})) {
                    return;
                }
                for (String mp : mountPoints) {
                    if (MountCalls.umount2(mp, 0) != 0 && LibC.errno() != MountCalls.EINVAL) {
                        fail("umount", mp);
                        return;
                    }
                }
            } finally {
                if (mntFd >= 0) {
                    LibC.close(mntFd);
                }
            }
        }
    }
}
