package org.saferebuild.engine.inspect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.SafeFiles;
import org.saferebuild.protocol.ProblemCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A system's closure from ONE nix query: {@code nix path-info -r -s PATH} lists every path of the
 * closure with its NAR size. Its plain-text output ("path TAB size") is the same from Nix 2.8 to
 * current releases (the --json layout changed in 2.19), and it is the cheapest query that gives
 * sizes.
 *
 * <p>Closures are cached by top-level path, in memory and in the engine's state directory
 * ({@code closures/}): the references of a valid store path never change, and a path stays valid
 * with its whole closure for as long as it exists. A cached closure is used only while the top
 * path's inode change time is the one recorded, so a path that was garbage-collected and built
 * again is listed again. The running system and the inspected build are then known when compare
 * needs them, and that costs a file read instead of a traversal of the Nix database.
 */
public final class ClosureQuery {
    private static final Logger LOG = LoggerFactory.getLogger(ClosureQuery.class);
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final int CACHE_ENTRIES = 8;
    private static final int DISK_ENTRIES = 64;
    private static final String HEADER = "safe-rebuild closure 1";

    private final Tools tools;
    private final NixEnv nixEnv;
    /** Where closures are kept between engine runs; null: memory only. */
    private final Path diskDir;
    /** Closures by top-level path; a pending entry lets a second caller wait for the first one's query. */
    private final Map<String, FutureTask<Closure>> cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, FutureTask<Closure>> eldest) {
            return size() > CACHE_ENTRIES;
        }
    };

    public ClosureQuery(Tools tools, NixEnv nixEnv, Path diskDir) {
        this.tools = tools;
        this.nixEnv = nixEnv;
        this.diskDir = diskDir;
    }

    /**
     * The closure of a store path: names (the part after the hash) and NAR sizes, in two parallel
     * arrays so that 7,000 paths cost two small arrays rather than 7,000 objects.
     */
    public record Closure(String top, String[] names, long[] sizes, long totalBytes) {
        public int size() {
            return names.length;
        }
    }

    /**
     * From the cache if this path's closure was asked before (or is being asked right now, or
     * was listed by an earlier engine run), otherwise from nix.
     */
    public Closure of(String storePath) throws Problem {
        FutureTask<Closure> task;
        boolean mine = false;
        synchronized (cache) {
            task = cache.get(storePath);
            if (task == null) {
                task = new FutureTask<>(() -> {
                    Optional<Closure> saved = load(storePath);
                    if (saved.isPresent()) {
                        return saved.get();
                    }
                    Closure c = query(storePath);
                    save(c);
                    return c;
                });
                cache.put(storePath, task);
                mine = true;
            }
        }
        if (mine) {
            task.run();
        }
        try {
            return task.get();
        } catch (ExecutionException e) {
            synchronized (cache) {
                cache.remove(storePath, task); // a failure is not remembered: the next call asks again
            }
            if (e.getCause() instanceof Problem p) {
                throw p;
            }
            throw Problem.internal("Listing the closure of " + storePath + " failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Problem.internal("Interrupted while listing the closure of " + storePath, e);
        }
    }

    /** Forgets every cached closure, in memory and on disk (the benchmark's "nothing cached"). */
    public void forget() {
        synchronized (cache) {
            cache.clear();
        }
        if (diskDir != null && Files.isDirectory(diskDir)) {
            try (Stream<Path> s = Files.list(diskDir)) {
                for (Path p : s.toList()) {
                    SafeFiles.delete(p);
                }
            } catch (IOException e) {
                LOG.warn("could not clear {}: {}", diskDir, e.toString());
            }
        }
    }

    /** The inode change time of the top path: it changes when the path is deleted and made again. */
    private static long changeTime(String storePath) throws IOException {
        FileTime t = (FileTime) Files.getAttribute(Path.of(storePath), "unix:ctime", LinkOption.NOFOLLOW_LINKS);
        return t.to(TimeUnit.NANOSECONDS);
    }

    private Optional<Closure> load(String storePath) {
        if (diskDir == null) {
            return Optional.empty();
        }
        Path file = diskDir.resolve(Path.of(storePath).getFileName().toString());
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        try {
            String text = SafeFiles.readString(file, 256 << 20);
            if (text == null) {
                return Optional.empty();
            }
            int first = text.indexOf('\n');
            int second = first < 0 ? -1 : text.indexOf('\n', first + 1);
            if (second < 0 || !text.substring(0, first).equals(HEADER)
                    || !text.substring(first + 1, second).equals(storePath + "\t" + changeTime(storePath))) {
                return Optional.empty();
            }
            return Optional.of(parse(storePath, text.substring(second + 1)));
        } catch (IOException | Problem | RuntimeException e) {
            LOG.debug("cached closure {} not used: {}", file, e.toString());
            return Optional.empty();
        }
    }

    /** Same lines as nix prints ("path TAB size"), after a header naming the top path and its ctime. */
    private void save(Closure c) {
        if (diskDir == null) {
            return;
        }
        try {
            WorkDirs.ensurePrivateDir(diskDir);
            StringBuilder sb = new StringBuilder(c.size() * 80);
            sb.append(HEADER).append('\n').append(c.top()).append('\t').append(changeTime(c.top())).append('\n');
            for (int i = 0; i < c.size(); i++) {
                sb.append(StoreFiles.STORE).append("00000000000000000000000000000000-").append(c.names()[i])
                        .append('\t').append(c.sizes()[i]).append('\n');
            }
            Path file = diskDir.resolve(Path.of(c.top()).getFileName().toString());
            SafeFiles.replace(file, sb.toString()); // a fresh temporary name, never through a link
            prune();
        } catch (IOException | Problem e) {
            LOG.warn("could not keep the closure of {} in {}: {}", c.top(), diskDir, e.toString());
        }
    }

    /** Keeps the newest {@value #DISK_ENTRIES} closures on disk. */
    private void prune() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(diskDir)) {
            files = s.sorted(Comparator.comparing((Path p) -> {
                try {
                    return Files.getLastModifiedTime(p);
                } catch (IOException e) {
                    return FileTime.fromMillis(0);
                }
            }).reversed()).toList();
        }
        for (int i = DISK_ENTRIES; i < files.size(); i++) {
            SafeFiles.delete(files.get(i));
        }
    }

    /** Always asks nix (the benchmark measures this path). */
    public Closure query(String storePath) throws Problem {
        Command cmd = Command.of(tools.require("nix"))
                .args("path-info", "--extra-experimental-features", "nix-command")
                .args(NixEnv.offlineArgs())
                .args("--recursive", "--size", storePath)
                .env(nixEnv.hostEnv())
                .timeout(TIMEOUT)
                .build();
        Exec.Outcome out;
        try {
            out = Exec.run(cmd);
        } catch (IOException e) {
            throw Problem.internal("Could not run nix path-info: " + e.getMessage(), e);
        }
        if (!out.ok()) {
            throw new Problem(ProblemCode.CLOSURE_INCOMPLETE, "Nix could not list the closure of " + storePath
                    + ": " + NixEnv.firstError(out.stderr()),
                    "This typically happens when the system was garbage-collected or copied without its"
                            + " dependencies. To fix this build it again (the Build step), or pick another generation.");
        }
        return parse(storePath, out.stdout());
    }

    /** Parses "PATH  TAB  SIZE" lines; anything else is a bug worth hearing about. */
    static Closure parse(String top, String text) throws Problem {
        List<String> names = new ArrayList<>(8192);
        long[] sizes = new long[8192];
        long total = 0;
        int n = 0;
        int pos = 0;
        int len = text.length();
        while (pos < len) {
            int eol = text.indexOf('\n', pos);
            if (eol < 0) {
                eol = len;
            }
            int pathEnd = pos;
            while (pathEnd < eol && !Character.isWhitespace(text.charAt(pathEnd))) {
                pathEnd++;
            }
            if (pathEnd > pos) {
                int numEnd = eol;
                while (numEnd > pathEnd && Character.isWhitespace(text.charAt(numEnd - 1))) {
                    numEnd--;
                }
                int numStart = numEnd;
                while (numStart > pathEnd && Character.isDigit(text.charAt(numStart - 1))) {
                    numStart--;
                }
                if (numStart == numEnd || !text.startsWith("/nix/store/", pos) || pathEnd - pos < 11 + 33) {
                    throw Problem.internal("Unexpected line from nix path-info: "
                            + text.substring(pos, Math.min(eol, pos + 200)), null);
                }
                long size = Long.parseLong(text, numStart, numEnd, 10);
                if (n == sizes.length) {
                    sizes = java.util.Arrays.copyOf(sizes, n * 2);
                }
                names.add(text.substring(pos + 11 + 33, pathEnd));
                sizes[n++] = size;
                total += size;
            }
            pos = eol + 1;
        }
        return new Closure(top, names.toArray(new String[0]), java.util.Arrays.copyOf(sizes, n), total);
    }
}
