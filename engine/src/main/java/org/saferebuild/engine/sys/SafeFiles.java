package org.saferebuild.engine.sys;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way the engine creates, replaces, appends to, locks and removes files in its own state
 * (issue 11, docs/security.md "The state directory"). Every call:
 * <ul>
 *   <li>opens the file's directory without following a link anywhere in its path
 *       ({@code openat2} with {@code RESOLVE_NO_SYMLINKS}; before Linux 5.6, which lacks openat2,
 *       one {@code openat(O_NOFOLLOW|O_DIRECTORY)} per component from {@code /}), and refuses it
 *       unless it belongs to the engine's user and nobody else can write it;</li>
 *   <li>works on the name inside that open directory only ({@code openat}, {@code renameat},
 *       {@code unlinkat} relative to its descriptor), so swapping a directory for a link after the
 *       check changes nothing;</li>
 *   <li>never opens a file through a link ({@code O_NOFOLLOW}, and {@code RESOLVE_BENEATH} where
 *       openat2 exists); creates new files exclusively ({@code O_CREAT|O_EXCL}), a name already
 *       taken is never reused;</li>
 *   <li>replaces a file by writing a new one under a fresh random name, {@code fsync}ing it,
 *       renaming it over the old one within the same directory, then {@code fsync}ing the
 *       directory: a reader sees the old or the new content, never a mix, also after a power
 *       cut; a failed write leaves the old file as it was and removes the new one.</li>
 * </ul>
 * A link where the engine expected its own file or directory is a {@link Planted} error.
 * Nothing else in the engine writes files (EngineArchitectureTest).
 */
public final class SafeFiles {
    private static final Logger LOG = LoggerFactory.getLogger(SafeFiles.class);
    private static final int OWNER_ONLY_WRITE = 0022;
    /** Tests may force the fallback (no openat2) to check it too. */
    static volatile boolean forceFallback = Boolean.getBoolean("saferebuild.noOpenat2");
    private static final boolean OPENAT2 = probeOpenat2();

    private SafeFiles() {
    }

    /** Whether openat2 is used (Linux 5.6 and later); otherwise O_NOFOLLOW per component. */
    public static boolean usesOpenat2() {
        return OPENAT2 && !forceFallback;
    }

    private static boolean probeOpenat2() {
        int fd = LibC.openat2(LibC.AT_FDCWD, "/", LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0, 0);
        if (fd < 0) {
            // ENOSYS before Linux 5.6; EPERM where a seccomp filter does not know the call yet.
            LOG.info("openat2 is not available ({}); every path component is opened with O_NOFOLLOW instead",
                    LibC.strerror(LibC.errno()));
            return false;
        }
        LibC.close(fd);
        return true;
    }

    // Errors

    /** A link (or something else the engine did not make) where its own file or directory belongs. */
    public static final class Planted extends IOException {
        private static final long serialVersionUID = 1L;
        private final transient Path where;

        Planted(Path where, String what) {
            super(what);
            this.where = where;
        }

        public Path where() {
            return where;
        }
    }

    // Creating and replacing whole files

    /**
     * Replaces {@code file} with {@code text} atomically (write a fresh file, fsync, rename over,
     * fsync the directory). The file gets {@code mode} (0600 unless said otherwise).
     */
    public static void replace(Path file, String text) throws IOException {
        replace(file, text.getBytes(StandardCharsets.UTF_8), 0600);
    }

    public static void replace(Path file, byte[] content, int mode) throws IOException {
        try (Dir dir = Dir.open(file.getParent())) {
            String name = name(file);
            String tmp = "." + name + "." + randomSuffix() + ".tmp";
            int fd = dir.create(tmp, mode);
            boolean renamed = false;
            try {
                writeAll(fd, content, 0, file);
                sync(fd, file);
                if (LibC.renameat(dir.fd, tmp, dir.fd, name) != 0) {
                    throw failure("rename to " + file, LibC.errno(), file);
                }
                renamed = true;
                dir.sync();
            } finally {
                LibC.close(fd);
                if (!renamed) {
                    LibC.unlinkat(dir.fd, tmp, 0);
                }
            }
        }
    }

    /** Creates {@code file}, which must not exist yet, with {@code content}, synced; on failure nothing is left. */
    public static void create(Path file, byte[] content, int mode) throws IOException {
        try (Dir dir = Dir.open(file.getParent())) {
            String name = name(file);
            int fd = dir.create(name, mode);
            boolean done = false;
            try {
                writeAll(fd, content, 0, file);
                sync(fd, file);
                dir.sync();
                done = true;
            } finally {
                LibC.close(fd);
                if (!done) {
                    LibC.unlinkat(dir.fd, name, 0);
                }
            }
        }
    }

    public static void create(Path file, String text) throws IOException {
        create(file, text.getBytes(StandardCharsets.UTF_8), 0600);
    }

    /**
     * A new file (which must not exist yet) to write as a stream: a build log, a backup copy. Closing
     * it syncs it.
     */
    public static OutputStream createStream(Path file, int mode) throws IOException {
        try (Dir dir = Dir.open(file.getParent())) {
            return new FdOutputStream(dir.create(name(file), mode), file);
        }
    }

    /** Makes directory {@code dir} (mode {@code mode}) in its parent; false if something is there already. */
    public static boolean mkdir(Path dir, int mode) throws IOException {
        try (Dir parent = Dir.open(dir.getParent())) {
            if (LibC.mkdirat(parent.fd, name(dir), mode) != 0) {
                int errno = LibC.errno();
                if (errno == LibC.EEXIST) {
                    return false;
                }
                throw failure("mkdir " + dir, errno, dir);
            }
            return true;
        }
    }

    /** Removes the file (or link) {@code file} from its directory; false if it was not there. Never follows a link. */
    public static boolean delete(Path file) throws IOException {
        return remove(file, false);
    }

    /**
     * As {@link #delete}, and then the directory is synced ({@code fsync}): a removal that must
     * survive a power cut, as a write through {@link #replace} does. Without it the file can come
     * back after a power cut, as a directory's change reaches the disk on the filesystem's own
     * schedule (ext4's journal commits every 5 s, btrfs every 30 s): a confirmed apply's
     * pending.json would be found again by the next engine start, which would revert the apply.
     */
    public static boolean deleteSynced(Path file) throws IOException {
        return remove(file, true);
    }

    private static boolean remove(Path file, boolean sync) throws IOException {
        Dir dir = Dir.openIfPresent(file.getParent());
        if (dir == null) {
            return false;
        }
        try (dir) {
            if (LibC.unlinkat(dir.fd, name(file), 0) != 0) {
                int errno = LibC.errno();
                if (errno == LibC.ENOENT) {
                    return false;
                }
                throw failure("remove " + file, errno, file);
            }
            if (sync) {
                dir.sync();
            }
            return true;
        }
    }

    /** Removes {@code file} if it is there; logs instead of failing (clean-up paths). */
    public static void deleteQuietly(Path file) {
        try {
            delete(file);
        } catch (IOException e) {
            LOG.debug("cannot remove {}: {}", file, e.toString());
        }
    }

    /**
     * Reads a whole file of the engine's state, never through a link; null if it does not exist.
     * At most {@code limit} bytes (a file that grew larger was not written by the engine).
     */
    public static String readString(Path file, int limit) throws IOException {
        Dir dir = Dir.openIfPresent(file.getParent());
        if (dir == null) {
            return null;
        }
        try (dir) {
            int fd = dir.openAt(name(file), LibC.O_RDONLY, 0);
            if (fd < 0) {
                int errno = LibC.errno();
                if (errno == LibC.ENOENT) {
                    return null;
                }
                throw failure("open " + file, errno, file);
            }
            try {
                byte[] buf = new byte[Math.min(limit, 1 << 16)];
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                long at = 0;
                while (true) {
                    long n = LibC.pread(fd, buf, buf.length, at);
                    if (n < 0) {
                        throw failure("read " + file, LibC.errno(), file);
                    }
                    if (n == 0) {
                        break;
                    }
                    out.write(buf, 0, (int) n);
                    at += n;
                    if (at > limit) {
                        throw new IOException(file + " is larger than " + limit + " bytes; the engine writes no such file");
                    }
                }
                return out.toString(StandardCharsets.UTF_8);
            } finally {
                LibC.close(fd);
            }
        }
    }

    /** Where a directory is on disk (device and inode), to tell later that a mount shows the same one. */
    public record Identity(long device, long inode) {
    }

    /**
     * The identity of directory {@code dir}, reached without following a link anywhere in its path;
     * {@link Planted} when a link is in the way, an {@link LibC.Errno} (ENOENT, ENOTDIR) when it is
     * missing or not a directory. Unlike the engine's own directories, it may belong to anyone.
     */
    public static Identity directoryIdentity(Path dir) throws IOException {
        if (dir == null || !dir.isAbsolute() || !dir.normalize().equals(dir)) {
            throw new IOException("not an absolute, plain path: " + dir);
        }
        int fd = usesOpenat2() ? Dir.openBeneathRoot(dir) : Dir.openByComponents(dir);
        try {
            return identity(Path.of("/proc/self/fd/" + fd));
        } finally {
            LibC.close(fd);
        }
    }

    /** Device and inode of what {@code p} leads to. */
    public static Identity identity(Path p) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:dev,ino");
        return new Identity((Long) a.get("dev"), (Long) a.get("ino"));
    }

    // Files kept open: the audit trail, lock files

    /**
     * Opens {@code file} for reading and writing without following a link, creating it with
     * {@code mode} if it is missing and {@code create} is set.
     */
    public static Handle open(Path file, int mode, boolean create) throws IOException {
        try (Dir dir = Dir.open(file.getParent())) {
            String name = name(file);
            int flags = LibC.O_RDWR | (create ? LibC.O_CREAT : 0);
            int fd = dir.openAt(name, flags, mode);
            if (fd < 0) {
                throw failure("open " + file, LibC.errno(), file);
            }
            return new Handle(fd, file);
        }
    }

    /**
     * Takes an exclusive {@code flock} on {@code file} (created 0600 if missing, never through a
     * link) without waiting; null when someone else holds it. Closing the handle releases it.
     */
    public static Handle tryLock(Path file) throws IOException {
        return lockOrNull(open(file, 0600, true));
    }

    /**
     * Takes an exclusive {@code flock} on the directory {@code dir} itself (opened without following
     * a link anywhere in its path; the engine's own and writable by nobody else) without waiting;
     * null when someone else holds it. Closing the handle releases it. A lock that needs no file of
     * its own: a sandbox's work directory is locked this way while it is open.
     */
    public static Handle tryLockDirectory(Path dir) throws IOException {
        return lockOrNull(new Handle(Dir.open(dir).fd, dir)); // the handle owns the directory's descriptor
    }

    /** {@code flock(LOCK_EX | LOCK_NB)} on an open handle: the handle, or null (closed) when someone else holds it. */
    private static Handle lockOrNull(Handle h) throws IOException {
        if (LibC.flock(h.fd, LibC.LOCK_EX | LibC.LOCK_NB) != 0) {
            int errno = LibC.errno();
            h.close();
            if (errno == LibC.EAGAIN) {
                return null;
            }
            throw failure("lock " + h.path, errno, h.path);
        }
        return h;
    }

    /** An open file of the engine's state. */
    public static final class Handle implements AutoCloseable {
        private final int fd;
        private final Path path;
        private boolean closed;

        Handle(int fd, Path path) {
            this.fd = fd;
            this.path = path;
        }

        public Path path() {
            return path;
        }

        public long size() throws IOException {
            long n = LibC.lseek(fd, 0, 2 /* SEEK_END */);
            if (n < 0) {
                throw failure("size of " + path, LibC.errno(), path);
            }
            return n;
        }

        public int read(byte[] buf, int length, long at) throws IOException {
            long n = LibC.pread(fd, buf, length, at);
            if (n < 0) {
                throw failure("read " + path, LibC.errno(), path);
            }
            return (int) n;
        }

        /** Writes all of {@code bytes} at {@code at}. */
        public void write(byte[] bytes, long at) throws IOException {
            writeAll(fd, bytes, at, path);
        }

        /** Waits for an exclusive {@code flock} on this file (released when the handle is closed). */
        public void lock() throws IOException {
            while (LibC.flock(fd, LibC.LOCK_EX) != 0) {
                int errno = LibC.errno();
                if (errno != LibC.EINTR) {
                    throw failure("lock " + path, errno, path);
                }
            }
        }

        /** fdatasync: the data (and the size) are on disk. */
        public void sync() throws IOException {
            if (LibC.fdatasync(fd) != 0) {
                throw failure("fsync " + path, LibC.errno(), path);
            }
        }

        public void truncate(long size) throws IOException {
            if (LibC.ftruncate(fd, size) != 0) {
                throw failure("truncate " + path, LibC.errno(), path);
            }
        }

        /**
         * Reserves disk blocks for {@code length} bytes from {@code at} without changing the file's
         * size ({@code fallocate(FALLOC_FL_KEEP_SIZE)}); later writes there cannot fail for lack of
         * space. Returns false where the filesystem cannot reserve (then only free space can be checked).
         */
        public boolean reserve(long at, long length) throws IOException {
            if (LibC.fallocate(fd, LibC.FALLOC_FL_KEEP_SIZE, at, length) == 0) {
                return true;
            }
            int errno = LibC.errno();
            if (errno == LibC.EOPNOTSUPP || errno == LibC.ENOSYS) {
                return false;
            }
            throw failure("reserve " + length + " bytes in " + path, errno, path);
        }

        /** Free bytes on this file's filesystem, as root may use them. */
        public long freeBytes() throws IOException {
            return LibC.freeBytes(fd)[0];
        }

        public void chmod(int mode) throws IOException {
            if (LibC.fchmod(fd, mode) != 0) {
                throw failure("chmod " + path, LibC.errno(), path);
            }
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                LibC.close(fd);
            }
        }
    }

    // Directories

    /** A directory opened without following links, owned by the engine's user and writable by nobody else. */
    static final class Dir implements AutoCloseable {
        final int fd;
        final Path path;

        private Dir(int fd, Path path) {
            this.fd = fd;
            this.path = path;
        }

        static Dir open(Path dir) throws IOException {
            if (dir == null || !dir.isAbsolute()) {
                throw new IOException("not an absolute directory: " + dir);
            }
            Path p = dir.normalize();
            if (!p.equals(dir)) {
                throw new IOException("not a plain path: " + dir);
            }
            int fd = usesOpenat2() ? openBeneathRoot(p) : openByComponents(p);
            Dir d = new Dir(fd, p);
            try {
                d.requirePrivate();
            } catch (IOException e) {
                d.close();
                throw e;
            }
            return d;
        }

        /** As {@link #open}, or null when the directory does not exist. */
        static Dir openIfPresent(Path dir) throws IOException {
            try {
                return open(dir);
            } catch (LibC.Errno e) {
                if (e.errno() == LibC.ENOENT) {
                    return null;
                }
                throw e;
            }
        }

        private static int openBeneathRoot(Path p) throws IOException {
            int fd = LibC.openat2(LibC.AT_FDCWD, p.toString(), LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0,
                    LibC.RESOLVE_NO_SYMLINKS | LibC.RESOLVE_NO_MAGICLINKS);
            if (fd < 0) {
                throw dirFailure(p, LibC.errno());
            }
            return fd;
        }

        private static int openByComponents(Path p) throws IOException {
            int fd = LibC.openat(LibC.AT_FDCWD, "/", LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
            if (fd < 0) {
                throw failure("open /", LibC.errno(), p);
            }
            for (Path name : p) {
                int next = LibC.openat(fd, name.toString(),
                        LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
                int errno = LibC.errno();
                LibC.close(fd);
                if (next < 0) {
                    throw dirFailure(p, errno);
                }
                fd = next;
            }
            return fd;
        }

        /** Why a directory could not be opened: a link in its path is named as such. */
        private static IOException dirFailure(Path p, int errno) {
            if (errno == LibC.ELOOP || errno == LibC.EXDEV || errno == LibC.ENOTDIR) {
                for (Path cur = p; cur != null; cur = cur.getParent()) {
                    if (Files.isSymbolicLink(cur)) {
                        return new Planted(cur, cur + " is a link" + (cur.equals(p) ? "" : " in the path of " + p)
                                + "; the engine never writes through a link in its own directories");
                    }
                }
            }
            return failure("open directory " + p, errno, p);
        }

        private void requirePrivate() throws IOException {
            Path self = Path.of("/proc/self/fd/" + fd);
            Map<String, Object> a = Files.readAttributes(self, "unix:uid,mode");
            int uid = (Integer) a.get("uid");
            int mode = (Integer) a.get("mode");
            if (uid != LibC.geteuid()) {
                throw new Planted(path, path + " belongs to uid " + uid + ", not to the engine's user; the engine"
                        + " writes only into its own directories");
            }
            if ((mode & OWNER_ONLY_WRITE) != 0) {
                throw new Planted(path, path + " is writable by group or others (mode "
                        + Integer.toOctalString(mode & 07777) + "); the engine writes only into directories nobody"
                        + " else can change");
            }
        }

        /** openat of a name in this directory, never through a link; -1 with errno on failure. */
        int openAt(String name, int flags, int mode) {
            int f = flags | LibC.O_NOFOLLOW | LibC.O_CLOEXEC;
            int m = (flags & LibC.O_CREAT) != 0 ? mode : 0; // openat2 refuses a mode without O_CREAT
            return usesOpenat2()
                    ? LibC.openat2(fd, name, f, m, LibC.RESOLVE_BENEATH | LibC.RESOLVE_NO_SYMLINKS
                            | LibC.RESOLVE_NO_MAGICLINKS)
                    : LibC.openat(fd, name, f, m);
        }

        /** Creates {@code name} exclusively (a link or anything else there is refused), with exactly {@code mode}. */
        int create(String name, int mode) throws IOException {
            Path file = path.resolve(name);
            int created = openAt(name, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL, mode);
            if (created < 0) {
                int errno = LibC.errno();
                if (errno == LibC.EEXIST && Files.isSymbolicLink(file)) {
                    throw new Planted(file, file + " is a link; the engine never writes through a link");
                }
                throw failure("create " + file, errno, file);
            }
            if (LibC.fchmod(created, mode) != 0) { // exactly this mode, whatever the umask
                int errno = LibC.errno();
                LibC.close(created);
                LibC.unlinkat(fd, name, 0);
                throw failure("chmod " + file, errno, file);
            }
            return created;
        }

        void sync() throws IOException {
            if (LibC.fsync(fd) != 0) {
                throw failure("fsync " + path, LibC.errno(), path);
            }
        }

        @Override
        public void close() {
            LibC.close(fd);
        }
    }

    // Helpers

    /** An IOException with the errno; ELOOP at a name the engine opens means a link is there. */
    static IOException failure(String what, int errno, Path where) {
        if (errno == LibC.ELOOP || (errno == LibC.EXDEV && usesOpenat2())) {
            return new Planted(where, where + " is a link; the engine never writes through a link (" + what + ")");
        }
        return LibC.error(what, errno);
    }

    private static String name(Path file) throws IOException {
        Path n = file.getFileName();
        if (n == null || n.toString().equals(".") || n.toString().equals("..")) {
            throw new IOException("not a file name: " + file);
        }
        return n.toString();
    }

    private static void writeAll(int fd, byte[] content, long at, Path file) throws IOException {
        long done = 0;
        byte[] rest = content;
        while (done < content.length) {
            long n = LibC.pwrite(fd, rest, rest.length, at + done);
            if (n < 0) {
                int errno = LibC.errno();
                if (errno == LibC.EINTR) {
                    continue;
                }
                throw failure("write " + file, errno, file);
            }
            done += n;
            if (done < content.length) {
                rest = java.util.Arrays.copyOfRange(content, (int) done, content.length);
            }
        }
    }

    private static void sync(int fd, Path file) throws IOException {
        if (LibC.fsync(fd) != 0) {
            throw failure("fsync " + file, LibC.errno(), file);
        }
    }

    private static String randomSuffix() {
        StringBuilder b = new StringBuilder(12);
        java.security.SecureRandom r = RANDOM;
        for (int i = 0; i < 12; i++) {
            b.append("abcdefghijklmnopqrstuvwxyz0123456789".charAt(r.nextInt(36)));
        }
        return b.toString();
    }

    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    /** A stream over a file descriptor the engine created; close syncs and closes it. */
    private static final class FdOutputStream extends OutputStream {
        private final int fd;
        private final Path path;
        private long at;
        private boolean closed;

        FdOutputStream(int fd, Path path) {
            this.fd = fd;
            this.path = path;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (closed) {
                throw new IOException(path + " is closed");
            }
            byte[] chunk = off == 0 && len == b.length ? b : java.util.Arrays.copyOfRange(b, off, off + len);
            writeAll(fd, chunk, at, path);
            at += len;
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            try {
                sync(fd, path);
            } finally {
                LibC.close(fd);
            }
        }
    }
}
