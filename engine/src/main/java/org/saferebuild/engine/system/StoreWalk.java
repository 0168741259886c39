package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.saferebuild.engine.sys.DaemonThreads;
import org.saferebuild.engine.sys.LibC;

/**
 * A fingerprint of what a store path is on disk, read with {@code lstat} only (no file is opened):
 * for every file, directory and link under it, its name, type and mode, inode, size, link count and
 * inode change time (ctime, in nanoseconds). The kernel sets ctime itself on every write, truncate,
 * chmod, chown, link, unlink and rename of the inode, and no system call lets a process set it (only
 * the clock it is taken from), so a file changed through the filesystem after a walk gives another
 * fingerprint at the next walk, and a file replaced by another one has another inode
 * (docs/apply.md "What it costs", docs/security.md).
 *
 * <p>A walk does not follow links and never leaves the path (it descends only into what
 * {@code lstat} calls a directory).
 */
final class StoreWalk {
    private static final String ATTRIBUTES = "unix:mode,ino,size,nlink,ctime";
    private static final int S_IFMT = 0170000;
    private static final int S_IFDIR = 0040000;
    private static final HexFormat HEX = HexFormat.of();
    /** Walking a large closure is spread over a few threads: most of its time is lstat in the kernel. */
    private static final int WORKERS = Math.min(4, Runtime.getRuntime().availableProcessors());
    private static final int PATHS_PER_WORKER = 16;

    private StoreWalk() {
    }

    /**
     * What a walk saw: the digest over every entry, how many entries there were and the newest
     * ctime among them (ns since the epoch), which says whether the walk may have raced a change.
     */
    record Fingerprint(String digest, long entries, long newestChangeNanos) {
    }

    /** Whether statx and getdents64 answer here (Linux 4.11 and later, no seccomp filter refusing them). */
    private static final boolean NATIVE = probe();

    private static boolean probe() {
        try {
            return LibC.lstatAt(LibC.AT_FDCWD, "/\0".getBytes(StandardCharsets.US_ASCII), new byte[LibC.STATX_SIZE]) == 0;
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    /** The fingerprint of {@code path} (a store path: a directory, a file or a link). */
    static Fingerprint of(Path path) throws IOException {
        MessageDigest md = sha256();
        long[] counts = new long[] {0, Long.MIN_VALUE};
        if (NATIVE) {
            Path parent = path.toAbsolutePath().getParent();
            int dir = LibC.openDirectoryToRead(LibC.AT_FDCWD, parent.toString(), false);
            if (dir < 0) {
                throw LibC.error("open " + parent, LibC.errno());
            }
            try {
                visit(dir, zeroTerminated(path.getFileName().toString().getBytes(StandardCharsets.UTF_8)), new byte[0],
                        md, new Scratch(), counts);
            } finally {
                LibC.close(dir);
            }
            return new Fingerprint(HEX.formatHex(md.digest()), counts[0], counts[1]);
        }
        return ofWithJava(path);
    }

    /** The walk through java.nio that is used where statx is missing (the tests compare both). */
    static Fingerprint ofWithJava(Path path) throws IOException {
        MessageDigest md = sha256();
        long[] counts = new long[] {0, Long.MIN_VALUE};
        visit(path, "", md, ByteBuffer.allocate(64), counts);
        return new Fingerprint(HEX.formatHex(md.digest()), counts[0], counts[1]);
    }

    /** Buffers one walk reuses. */
    private static final class Scratch {
        final byte[] stat = new byte[LibC.STATX_SIZE];
        final ByteBuffer fields = ByteBuffer.allocate(64);
        final byte[] dents = new byte[32 * 1024];
        /** getdents64 fills this; only what it filled is copied into {@link #dents}. */
        final com.sun.jna.Memory filled = new com.sun.jna.Memory(32 * 1024);
    }

    /** One entry, read with statx relative to its directory's descriptor (no path is resolved again). */
    private static void visit(int dirfd, byte[] nameZ, byte[] rel, MessageDigest md, Scratch s, long[] counts)
            throws IOException {
        if (LibC.lstatAt(dirfd, nameZ, s.stat) != 0) {
            throw LibC.error("statx " + new String(rel, StandardCharsets.UTF_8), LibC.errno());
        }
        int mode = LibC.statxMode(s.stat);
        long ctime = LibC.statxCtimeNanos(s.stat);
        md.update(rel);
        s.fields.clear();
        s.fields.put((byte) 0).putInt(mode).putLong(LibC.statxLong(s.stat, LibC.STX_INO))
                .putLong(LibC.statxLong(s.stat, LibC.STX_SIZE)).putInt(LibC.statxInt(s.stat, LibC.STX_NLINK))
                .putLong(ctime);
        md.update(s.fields.array(), 0, s.fields.position());
        counts[0]++;
        counts[1] = Math.max(counts[1], ctime);
        if ((mode & S_IFMT) != S_IFDIR) {
            return;
        }
        int fd = LibC.openDirectoryToRead(dirfd, nameZ, true);
        if (fd < 0) {
            throw LibC.error("open " + new String(rel, StandardCharsets.UTF_8), LibC.errno());
        }
        try {
            List<byte[]> names = new ArrayList<>();
            while (true) {
                long n = LibC.getdents64(fd, s.filled);
                if (n < 0) {
                    throw LibC.error("getdents64 " + new String(rel, StandardCharsets.UTF_8), LibC.errno());
                }
                if (n == 0) {
                    break;
                }
                s.filled.read(0, s.dents, 0, (int) n);
                for (int at = 0; at < n; ) {
                    int reclen = (s.dents[at + 16] & 0xff) | (s.dents[at + 17] & 0xff) << 8;
                    int from = at + 19;
                    int end = from;
                    while (s.dents[end] != 0) {
                        end++;
                    }
                    int len = end - from;
                    boolean dot = len == 1 && s.dents[from] == '.';
                    boolean dotdot = len == 2 && s.dents[from] == '.' && s.dents[from + 1] == '.';
                    if (!dot && !dotdot) {
                        names.add(Arrays.copyOfRange(s.dents, from, end));
                    }
                    at += reclen;
                }
            }
            names.sort(Arrays::compareUnsigned);
            for (byte[] name : names) {
                byte[] childRel = new byte[rel.length + 1 + name.length];
                System.arraycopy(rel, 0, childRel, 0, rel.length);
                childRel[rel.length] = '/';
                System.arraycopy(name, 0, childRel, rel.length + 1, name.length);
                visit(fd, zeroTerminated(name), childRel, md, s, counts);
            }
        } finally {
            LibC.close(fd);
        }
    }

    private static byte[] zeroTerminated(byte[] name) {
        return Arrays.copyOf(name, name.length + 1);
    }

    /**
     * The fingerprints of many store paths, walked on a few threads when there are many; a path
     * that could not be walked (gone, unreadable) has none (null).
     */
    static Map<String, Fingerprint> of(List<String> paths) {
        int workers = Math.min(WORKERS, 1 + paths.size() / PATHS_PER_WORKER);
        if (workers <= 1) {
            return slice(paths);
        }
        List<List<String>> slices = new ArrayList<>();
        for (int i = 0; i < workers; i++) {
            slices.add(new ArrayList<>());
        }
        for (int i = 0; i < paths.size(); i++) {
            slices.get(i % workers).add(paths.get(i));
        }
        List<Future<Map<String, Fingerprint>>> parts = new ArrayList<>();
        for (List<String> slice : slices.subList(1, workers)) {
            parts.add(POOL.submit(() -> slice(slice)));
        }
        Map<String, Fingerprint> all = new java.util.HashMap<>(slice(slices.get(0))); // this thread walks one too
        try {
            for (Future<Map<String, Fingerprint>> f : parts) {
                all.putAll(f.get());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("walking store paths failed", e.getCause());
        }
        Map<String, Fingerprint> out = new LinkedHashMap<>();
        for (String p : paths) {
            out.put(p, all.get(p)); // null where a walk failed or was interrupted: such a path is hashed
        }
        return out;
    }

    /** Threads for {@link #of(List)}; idle ones end after a minute. */
    private static final ExecutorService POOL = Executors.newCachedThreadPool(DaemonThreads.named("store-walk"));

    /** Walks {@code paths} on this thread, opening each parent directory (the store) once. */
    private static Map<String, Fingerprint> slice(List<String> paths) {
        Map<String, Fingerprint> out = new LinkedHashMap<>();
        if (!NATIVE) {
            for (String p : paths) {
                out.put(p, orNull(p));
            }
            return out;
        }
        Map<Path, Integer> parents = new java.util.HashMap<>();
        Scratch scratch = new Scratch();
        MessageDigest md = sha256();
        try {
            for (String p : paths) {
                Path path = Path.of(p);
                Path parent = path.getParent();
                Integer dir = parents.get(parent);
                if (dir == null) {
                    dir = LibC.openDirectoryToRead(LibC.AT_FDCWD, parent.toString(), false);
                    if (dir < 0) {
                        out.put(p, null);
                        continue;
                    }
                    parents.put(parent, dir);
                }
                long[] counts = new long[] {0, Long.MIN_VALUE};
                md.reset();
                try {
                    visit(dir, zeroTerminated(path.getFileName().toString().getBytes(StandardCharsets.UTF_8)),
                            new byte[0], md, scratch, counts);
                    out.put(p, new Fingerprint(HEX.formatHex(md.digest()), counts[0], counts[1]));
                } catch (IOException | RuntimeException e) {
                    out.put(p, null); // not walked: hashed instead, and nix says what is wrong
                }
            }
        } finally {
            parents.values().forEach(LibC::close);
        }
        return out;
    }

    private static Fingerprint orNull(String path) {
        try {
            return of(Path.of(path));
        } catch (IOException | RuntimeException e) {
            return null; // not walked: hashed instead, and nix says what is wrong
        }
    }

    /** The same walk through java.nio (where statx is missing), names sorted as Java strings. */
    private static void visit(Path p, String rel, MessageDigest md, ByteBuffer buf, long[] counts)
            throws IOException {
        Map<String, Object> a = Files.readAttributes(p, ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        long ctime = ((FileTime) a.get("ctime")).to(TimeUnit.NANOSECONDS);
        md.update(rel.getBytes(StandardCharsets.UTF_8));
        buf.clear();
        buf.put((byte) 0).putInt(mode).putLong((Long) a.get("ino")).putLong((Long) a.get("size"))
                .putInt((Integer) a.get("nlink")).putLong(ctime);
        md.update(buf.array(), 0, buf.position());
        counts[0]++;
        counts[1] = Math.max(counts[1], ctime);
        if ((mode & S_IFMT) != S_IFDIR) {
            return;
        }
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
            for (Path k : ds) {
                names.add(k.getFileName().toString());
            }
        }
        names.sort(null);
        for (String n : names) {
            visit(p.resolve(n), rel + "/" + n, md, buf, counts);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
