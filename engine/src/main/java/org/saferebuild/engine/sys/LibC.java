package org.saferebuild.engine.sys;

import com.sun.jna.Native;
import com.sun.jna.Platform;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Locale;

/**
 * The few Linux system calls the engine needs and Java does not offer (issue 11): {@code openat2}
 * with {@code RESOLVE_NO_SYMLINKS}, the {@code *at} calls on a directory the engine opened,
 * {@code fsync} of a directory, {@code fallocate} and {@code fstatfs} to reserve space,
 * {@code flock}, {@code geteuid}, and a non-blocking write to a pipe. Bound with JNA's direct
 * mapping (one native call, no proxies).
 *
 * <p>Where JNA unpacks its own native part matters for a root process: by default it is
 * {@code /tmp/jna-<hash of the user name>}, a name anyone can create first and then swap the
 * library in. It is unpacked here into a fresh directory (random name, 0700, made exclusively),
 * loaded, and the directory removed; the system's library path is never searched for it.
 *
 * <p>Constants are Linux's for x86_64 and aarch64 (the {@code O_*} values differ between them).
 */
public final class LibC {
    private static final boolean ARM = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT)
            .matches("aarch64|arm64");

    public static final int AT_FDCWD = -100;
    public static final int AT_REMOVEDIR = 0x200;

    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_TRUNC = 01000;
    public static final int O_DIRECTORY = ARM ? 040000 : 0200000;
    public static final int O_NOFOLLOW = ARM ? 0100000 : 0400000;
    public static final int O_CLOEXEC = 02000000;
    public static final int O_NOCTTY = 0400;
    public static final int O_NONBLOCK = 04000;
    public static final int O_PATH = 010000000;

    public static final long RESOLVE_NO_MAGICLINKS = 0x02;
    public static final long RESOLVE_NO_SYMLINKS = 0x04;
    public static final long RESOLVE_BENEATH = 0x08;

    public static final int LOCK_EX = 2;
    public static final int LOCK_NB = 4;
    public static final int FALLOC_FL_KEEP_SIZE = 1;
    /** fcntl: a pipe's capacity in bytes (EBADF when the descriptor is not a pipe). */
    public static final int F_GETPIPE_SZ = 1032;
    /** What a write to a pipe puts in whole or not at all (Linux). */
    public static final int PIPE_BUF = 4096;

    public static final int EINTR = 4;
    public static final int ENXIO = 6;
    public static final int ENOENT = 2;
    public static final int EAGAIN = 11;
    public static final int EEXIST = 17;
    public static final int ENOTDIR = 20;
    public static final int ENOSPC = 28;
    public static final int ENOSYS = 38;
    public static final int ELOOP = 40;
    public static final int EOPNOTSUPP = 95;
    public static final int EDQUOT = 122;
    /** openat2 refused a path because it would have crossed a link (RESOLVE_NO_SYMLINKS) or left its base. */
    public static final int EXDEV = 18;

    private static final long SYS_OPENAT2 = 437; // the same number on x86_64 and aarch64
    private static final long SYS_STATX = ARM ? 291 : 332;
    private static final long SYS_GETDENTS64 = ARM ? 61 : 217;
    public static final int AT_SYMLINK_NOFOLLOW = 0x100;
    /** statx: type and mode, link count, inode, size, change time (and what else is cheap). */
    public static final int STATX_BASIC_STATS = 0x7ff;
    /** {@code struct statx} is 256 bytes with the same layout on every architecture (little-endian here). */
    public static final int STATX_SIZE = 256;

    static {
        load();
    }

    private LibC() {
    }

    private static void load() {
        if (!Platform.isLinux()) {
            throw new IllegalStateException("the engine runs on Linux only");
        }
        Path dir = null;
        if (System.getProperty("jna.tmpdir") == null) {
            try {
                dir = Files.createTempDirectory("safe-rebuild-native-",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                System.setProperty("jna.tmpdir", dir.toString());
            } catch (IOException e) {
                throw new IllegalStateException("cannot make a private directory for the native library: " + e, e);
            }
        }
        System.setProperty("jna.nosys", "true"); // never a libjnidispatch from the system's library path
        try {
            Native.register(LibC.class, Platform.C_LIBRARY_NAME);
        } finally {
            if (dir != null) {
                // JNA removes the unpacked library right after loading it (Linux keeps a loaded file alive).
                try (var left = Files.list(dir)) {
                    for (Path p : left.toList()) {
                        Files.deleteIfExists(p);
                    }
                    Files.deleteIfExists(dir);
                } catch (IOException e) {
                    // a leftover empty private directory in /tmp is harmless
                }
            }
        }
    }

    // Bound functions (direct mapping). A result of -1 means failure; errno via Native.getLastError().

    public static native int geteuid();

    public static native int getuid();

    /** setsid(2): a new session and process group led by this process, with no controlling terminal. */
    public static native int setsid();

    /**
     * Whether this process has a controlling terminal: {@code /dev/tty} opens only then (ENXIO
     * otherwise). Opened read-only, never made the controlling terminal, closed at once. When it
     * cannot be told (no {@code /dev/tty} in a minimal root), the answer is yes: the careful one.
     */
    public static boolean hasControllingTerminal() {
        int fd = openat(AT_FDCWD, "/dev/tty", O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0);
        if (fd >= 0) {
            close(fd);
            return true;
        }
        return errno() != ENXIO;
    }

    public static native long syscall(long number, int dirfd, String path, long[] how, long size);

    /** The same syscall(2) entry, for statx(dirfd, path, flags, mask, buf); the path NUL-terminated bytes. */
    public static native long syscall(long number, int dirfd, byte[] path, int flags, int mask, byte[] buf);

    /** openat with the path as NUL-terminated bytes (a name read from a directory, whatever its encoding). */
    public static native int openat(int dirfd, byte[] path, int flags, int mode);

    /**
     * Opens a directory to read it and nothing else ({@code O_RDONLY | O_DIRECTORY | O_CLOEXEC}, plus
     * {@code O_NOFOLLOW} when asked): it can neither create nor change anything, so code outside the
     * one writer may use it (EngineArchitectureTest counts {@code openat} among the writing calls).
     */
    public static int openDirectoryToRead(int dirfd, String path, boolean noFollow) {
        return openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (noFollow ? O_NOFOLLOW : 0), 0);
    }

    /** {@link #openDirectoryToRead(int, String, boolean)} for a name as NUL-terminated bytes. */
    public static int openDirectoryToRead(int dirfd, byte[] name, boolean noFollow) {
        return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (noFollow ? O_NOFOLLOW : 0), 0);
    }

    /** The same syscall(2) entry, for getdents64(fd, buf, count) into native memory. */
    public static native long syscall(long number, int fd, com.sun.jna.Pointer buf, long count);

    public static native int openat(int dirfd, String path, int flags, int mode);

    /** readlinkat(2): the link's target in {@code buf} (not NUL-terminated); its length, or -1. */
    public static native long readlinkat(int dirfd, byte[] path, byte[] buf, long size);

    public static native int mkdirat(int dirfd, String path, int mode);

    public static native int unlinkat(int dirfd, String path, int flags);

    public static native int renameat(int olddirfd, String oldpath, int newdirfd, String newpath);

    public static native int close(int fd);

    public static native int fsync(int fd);

    public static native int fdatasync(int fd);

    public static native int fchmod(int fd, int mode);

    public static native long pwrite(int fd, byte[] buf, long count, long offset);

    public static native long pread(int fd, byte[] buf, long count, long offset);

    public static native long lseek(int fd, long offset, int whence);

    public static native int ftruncate(int fd, long length);

    public static native int fallocate(int fd, int mode, long offset, long length);

    public static native int fstatfs(int fd, long[] buf);

    public static native int flock(int fd, int operation);

    /** fcntl(2) with no argument ({@link #F_GETPIPE_SZ}). */
    public static native int fcntl(int fd, int cmd);

    /** write(2) to a descriptor already open (a pipe: Pipes); the bytes written, or -1. */
    public static native long write(int fd, byte[] buf, long count);

    /**
     * A second open file description of the pipe {@code fd}, for writing, non-blocking: its writes
     * of at most {@code PIPE_BUF} bytes go in whole or fail with EAGAIN, never wait for the reader.
     * Opened through {@code /proc/self/fd} (a pipe may be opened again there; a socket may not).
     * -1 when {@code fd} is not a pipe or it cannot be opened.
     */
    public static int reopenPipeNonBlocking(int fd) {
        if (fcntl(fd, F_GETPIPE_SZ) <= 0) {
            return -1; // EBADF: not a pipe
        }
        return openat(AT_FDCWD, "/proc/self/fd/" + fd, O_WRONLY | O_NONBLOCK | O_CLOEXEC, 0);
    }

    public static native String strerror(int errnum);

    /** errno of the last call on this thread. */
    public static int errno() {
        return Native.getLastError();
    }

    /**
     * {@code openat2(dirfd, path, flags, mode, resolve)}; -1 with errno set on failure (ENOSYS before
     * Linux 5.6).
     */
    public static int openat2(int dirfd, String path, int flags, int mode, long resolve) {
        return (int) syscall(SYS_OPENAT2, dirfd, path, new long[] {flags & 0xffffffffL, mode, resolve}, 24);
    }

    /**
     * {@code statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buf)}: the entry {@code name}
     * (NUL-terminated bytes) of the directory {@code dirfd}, never through a link; 0, or -1 with errno.
     * Read the result with
     * {@link #statxMode}, {@link #statxLong} and the offsets below.
     */
    public static int lstatAt(int dirfd, byte[] name, byte[] buf) {
        return (int) syscall(SYS_STATX, dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buf);
    }

    /** Offsets in {@code struct statx}. */
    public static final int STX_NLINK = 16;
    public static final int STX_MODE = 28;
    public static final int STX_INO = 32;
    public static final int STX_SIZE = 40;
    public static final int STX_CTIME = 96;

    public static int statxMode(byte[] b) {
        return (b[STX_MODE] & 0xff) | (b[STX_MODE + 1] & 0xff) << 8;
    }

    public static int statxInt(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    public static long statxLong(byte[] b, int at) {
        return (statxInt(b, at) & 0xffffffffL) | (long) statxInt(b, at + 4) << 32;
    }

    public static final int STX_ATTRIBUTES = 8;
    public static final int STX_ATTRIBUTES_MASK = 56;
    /** statx: the path is the root of a mount (Linux 5.8 and later say so). */
    public static final long STATX_ATTR_MOUNT_ROOT = 0x2000;

    /**
     * Whether something is mounted on {@code path} (its last component, not followed, is the root
     * of a mount), as the mount namespace the path is resolved in sees it; false if nothing is
     * there. Null when it cannot be told (an old kernel, another error): the caller asks the mount
     * table instead.
     */
    public static Boolean mountedOn(String path) {
        byte[] b = new byte[STATX_SIZE];
        if (lstatAt(AT_FDCWD, (path + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8), b) != 0) {
            return errno() == ENOENT ? Boolean.FALSE : null;
        }
        if ((statxLong(b, STX_ATTRIBUTES_MASK) & STATX_ATTR_MOUNT_ROOT) == 0) {
            return null;
        }
        return (statxLong(b, STX_ATTRIBUTES) & STATX_ATTR_MOUNT_ROOT) != 0;
    }

    /** The change time of a statx result, in nanoseconds since the epoch. */
    public static long statxCtimeNanos(byte[] b) {
        return statxLong(b, STX_CTIME) * 1_000_000_000L + (statxInt(b, STX_CTIME + 8) & 0xffffffffL);
    }

    /**
     * {@code getdents64(fd, buf, buf.size())}: directory entries as {@code struct linux_dirent64}
     * (ino u64, off s64, reclen u16, type u8, name NUL-terminated); the bytes filled, 0 at the end,
     * -1 with errno. Into native memory: a Java array would be copied in and out whole around every
     * call (64 KiB per directory with a 32 KiB buffer); the caller reads back only the bytes filled.
     */
    public static long getdents64(int fd, com.sun.jna.Memory buf) {
        return syscall(SYS_GETDENTS64, fd, buf, buf.size());
    }

    /** Free bytes for root ({@code f_bfree}) and for others ({@code f_bavail}) on the filesystem of {@code fd}. */
    public static long[] freeBytes(int fd) throws IOException {
        long[] buf = new long[15]; // struct statfs on 64-bit Linux: 120 bytes
        if (fstatfs(fd, buf) != 0) {
            throw error("fstatfs", errno());
        }
        long unit = buf[9] != 0 ? buf[9] : buf[1]; // f_frsize, else f_bsize
        return new long[] {buf[3] * unit, buf[4] * unit};
    }

    /** An IOException naming the call and the error as the C library words it ("No space left on device"). */
    public static IOException error(String what, int errno) {
        String text = strerror(errno);
        return new Errno(what + ": " + text + " (errno " + errno + ")", errno);
    }

    /** An IOException that keeps the errno, so callers can tell a full disk from a planted link. */
    public static final class Errno extends IOException {
        private static final long serialVersionUID = 1L;
        private final int errno;

        public Errno(String message, int errno) {
            super(message);
            this.errno = errno;
        }

        public int errno() {
            return errno;
        }

        public boolean noSpace() {
            return errno == ENOSPC || errno == EDQUOT;
        }
    }
}
