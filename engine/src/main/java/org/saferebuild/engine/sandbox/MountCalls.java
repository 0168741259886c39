package org.saferebuild.engine.sandbox;

import com.sun.jna.Native;
import com.sun.jna.Platform;
import java.util.Locale;
import org.saferebuild.engine.sys.LibC;

/**
 * The system calls that build a sandbox's root inside the holder's namespaces ({@link SandboxRoot}):
 * entering a mount namespace from one thread, mounting, {@code pivot_root} and detaching the old
 * root. Bound with JNA's direct mapping after {@link LibC} has loaded JNA's native part its own safe
 * way (a fresh private directory, never a shared /tmp name). Nothing else in the engine mounts.
 *
 * <p>Constants are Linux's; the system call numbers differ between x86_64 and aarch64.
 */
final class MountCalls {
    private static final boolean ARM = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT)
            .matches("aarch64|arm64");

    static final int CLONE_FS = 0x00000200;
    static final int CLONE_NEWNS = 0x00020000;
    static final int CLONE_NEWNET = 0x40000000;

    static final long MS_RDONLY = 1;
    static final long MS_NOSUID = 2;
    static final long MS_NODEV = 4;
    static final long MS_NOEXEC = 8;
    static final long MS_REMOUNT = 32;
    static final long MS_BIND = 4096;
    static final long MS_REC = 16384;
    static final long MS_PRIVATE = 1 << 18;

    /** statvfs's f_flag bits with the same meaning as MS_NOSUID, MS_NODEV, MS_NOEXEC. */
    static final long ST_KEPT = 2 | 4 | 8;

    static final int MNT_DETACH = 2;
    static final int AT_EMPTY_PATH = 0x1000;
    static final long TMPFS_MAGIC = 0x01021994L;

    static final int EPERM = 1;
    static final int EBUSY = 16;
    static final int EINVAL = 22;

    private static final long SYS_PIVOT_ROOT = ARM ? 41 : 155;
    private static final long SYS_NEWFSTATAT = ARM ? 79 : 262;

    static {
        LibC.errno(); // loads JNA the engine's way first (LibC's static initializer)
        Native.register(MountCalls.class, Platform.C_LIBRARY_NAME);
    }

    private MountCalls() {
    }

    static native int unshare(int flags);

    static native int umask(int mask);

    static native int setns(int fd, int nstype);

    static native int fchdir(int fd);

    static native int chdir(String path);

    static native int chroot(String path);

    static native int mount(String source, String target, String type, long flags, String data);

    static native int umount2(String target, int flags);

    static native int symlinkat(String target, int dirfd, String path);

    static native int statvfs(String path, long[] buf);

    static native long syscall(long number, String a, String b);

    static native long syscall(long number, int dirfd, String path, long[] buf, long flags);

    /** {@code pivot_root(newRoot, putOld)}: there is no C library wrapper. */
    static int pivotRoot(String newRoot, String putOld) {
        return (int) syscall(SYS_PIVOT_ROOT, newRoot, putOld);
    }

    /**
     * Device and inode of {@code path} relative to {@code dirfd} ({@code ""} with an fd: the fd
     * itself), as {@code [dev, ino]}, or null (errno set). st_dev and st_ino are the first two
     * fields of struct stat on both architectures.
     */
    static long[] identity(int dirfd, String path) {
        long[] st = new long[32]; // struct stat: 144 bytes on x86_64, 128 on aarch64
        long r = syscall(SYS_NEWFSTATAT, dirfd, path, st, path.isEmpty() ? AT_EMPTY_PATH : 0);
        return r == 0 ? new long[] {st[0], st[1]} : null;
    }

    /** f_flag of statvfs(path), or -1 (errno set). */
    static long mountFlags(String path) {
        long[] buf = new long[16]; // struct statvfs on 64-bit Linux: 112 bytes; f_flag is the tenth field
        return statvfs(path, buf) == 0 ? buf[9] : -1;
    }
}
