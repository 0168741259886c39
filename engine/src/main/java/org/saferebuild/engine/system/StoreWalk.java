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
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.saferebuild.engine.sys.DaemonThreads;

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
    private static final int PATHS_PER_WORKER = 64;

    private StoreWalk() {
    }

    /**
     * What a walk saw: the digest over every entry, how many entries there were and the newest
     * ctime among them (ns since the epoch), which says whether the walk may have raced a change.
     */
    record Fingerprint(String digest, long entries, long newestChangeNanos) {
    }

    /** The fingerprint of {@code path} (a store path: a directory, a file or a link). */
    static Fingerprint of(Path path) throws IOException {
        MessageDigest md = sha256();
        long[] counts = new long[] {0, Long.MIN_VALUE};
        visit(path, "", md, ByteBuffer.allocate(64), counts);
        return new Fingerprint(HEX.formatHex(md.digest()), counts[0], counts[1]);
    }

    /**
     * The fingerprints of many store paths, walked on a few threads when there are many; a path
     * that could not be walked (gone, unreadable) has none (null).
     */
    static Map<String, Fingerprint> of(List<String> paths) {
        Map<String, Fingerprint> out = new LinkedHashMap<>();
        int workers = Math.min(WORKERS, 1 + paths.size() / PATHS_PER_WORKER);
        if (workers <= 1) {
            for (String p : paths) {
                out.put(p, orNull(p));
            }
            return out;
        }
        ExecutorService pool = Executors.newFixedThreadPool(workers, DaemonThreads.named("store-walk"));
        try {
            List<List<String>> slices = new ArrayList<>();
            for (int i = 0; i < workers; i++) {
                slices.add(new ArrayList<>());
            }
            for (int i = 0; i < paths.size(); i++) {
                slices.get(i % workers).add(paths.get(i));
            }
            List<Future<Map<String, Fingerprint>>> parts = new ArrayList<>();
            for (List<String> slice : slices) {
                parts.add(pool.submit(() -> {
                    Map<String, Fingerprint> m = new LinkedHashMap<>();
                    for (String p : slice) {
                        m.put(p, orNull(p));
                    }
                    return m;
                }));
            }
            Map<String, Fingerprint> all = new java.util.HashMap<>();
            for (Future<Map<String, Fingerprint>> f : parts) {
                all.putAll(f.get());
            }
            for (String p : paths) {
                out.put(p, all.get(p));
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            paths.forEach(p -> out.putIfAbsent(p, null));
            return out;
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("walking store paths failed", e.getCause());
        } finally {
            pool.shutdownNow();
            try {
                pool.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static Fingerprint orNull(String path) {
        try {
            return of(Path.of(path));
        } catch (IOException | RuntimeException e) {
            return null; // not walked: hashed instead, and nix says what is wrong
        }
    }

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
