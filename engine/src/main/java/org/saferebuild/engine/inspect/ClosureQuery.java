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
import java.util.concurrent.CompletableFuture;
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
 * Systems' closures: every store path with its NAR size and its origin (the derivation that made
 * it, see {@link StoreName#parse(String, String)}).
 *
 * <p>Where from, cheapest first: the store's own database, read-only ({@link StoreDb}: both sides
 * of a comparison in one read, no process started); otherwise ONE nix call for all the paths
 * asked at once, {@code nix path-info --json --recursive A B}, whose references give each side's
 * closure (the --json layout of Nix 2.8–2.18, a list, and of 2.19 and later, an object by path,
 * are both read); and if nix's JSON has a shape this engine does not know, one plain
 * {@code nix path-info -r -s} per path ("path TAB size", the same in every Nix release), without
 * origins.
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
    private static final String HEADER = "safe-rebuild closure 2";

    /** Where closures come from when they are not cached. */
    public enum Source {
        /** the store's database if it can answer, else nix */
        STORE,
        /** nix only (the benchmark's and the tests' other path) */
        NIX
    }

    private final Tools tools;
    private final NixEnv nixEnv;
    /** Where closures are kept between engine runs; null: memory only. */
    private final Path diskDir;
    private final StoreDb storeDb;
    private volatile Source source = Source.STORE;
    /** Closures by top-level path; a pending entry lets a second caller wait for the first one's query. */
    private final Map<String, CompletableFuture<Closure>> cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, CompletableFuture<Closure>> eldest) {
            return size() > CACHE_ENTRIES;
        }
    };

    public ClosureQuery(Tools tools, NixEnv nixEnv, Path diskDir) {
        this(tools, nixEnv, diskDir, diskDir == null ? null : new StoreDb(StoreDb.DEFAULT,
                diskDir.resolveSibling("native")));
    }

    ClosureQuery(Tools tools, NixEnv nixEnv, Path diskDir, StoreDb storeDb) {
        this.tools = tools;
        this.nixEnv = nixEnv;
        this.diskDir = diskDir;
        this.storeDb = nixEnv.usesDefaultStore() ? storeDb : null;
    }

    /** Loads what reading the store's database needs (see {@link StoreDb#prepare()}); for a background thread. */
    public void prepare() {
        if (storeDb != null && source == Source.STORE) {
            storeDb.prepare();
        }
    }

    /** Chooses where uncached closures come from (default: the store's database, else nix). */
    public ClosureQuery source(Source s) {
        this.source = s;
        return this;
    }

    /**
     * The closure of a store path: names (the part after the hash), NAR sizes and origins, in
     * parallel arrays so that 7,000 paths cost three small arrays rather than 7,000 objects.
     *
     * @param origins per path: the name of the derivation that made it, {@link StoreName#ADDED_DIRECTLY},
     *                or null where the store does not say
     */
    public record Closure(String top, String[] names, long[] sizes, String[] origins, long totalBytes) {
        public Closure {
            if (names.length != sizes.length || names.length != origins.length) {
                throw new IllegalArgumentException("names, sizes and origins must be parallel");
            }
        }

        public int size() {
            return names.length;
        }
    }

    /** A path's origin from what the store records: its deriver, and whether it is content-addressed. */
    static String origin(String deriver, boolean contentAddressed) {
        if (deriver != null && !deriver.isEmpty()) {
            String name = StoreName.nameOf(deriver);
            return name.endsWith(".drv") ? name.substring(0, name.length() - 4) : null;
        }
        // Without a deriver, a content-addressed path was added as it is (builtins.toFile, a path
        // literal, nix-store --add): never an output. Otherwise nobody knows.
        return contentAddressed ? StoreName.ADDED_DIRECTLY : null;
    }

    /**
     * From the cache if this path's closure was asked before (or is being asked right now, or
     * was listed by an earlier engine run), otherwise from the store.
     */
    public Closure of(String storePath) throws Problem {
        return of(List.of(storePath)).get(0);
    }

    /**
     * The closures of several paths (the two sides of a comparison): those not cached are listed
     * together, in one read of the store's database or one nix call.
     */
    public List<Closure> of(List<String> storePaths) throws Problem {
        List<CompletableFuture<Closure>> futures = new ArrayList<>();
        Map<String, CompletableFuture<Closure>> mine = new LinkedHashMap<>();
        synchronized (cache) {
            for (String p : storePaths) {
                CompletableFuture<Closure> f = cache.get(p);
                if (f == null) {
                    f = mine.computeIfAbsent(p, k -> new CompletableFuture<>());
                    cache.put(p, f);
                }
                futures.add(f);
            }
        }
        if (!mine.isEmpty()) {
            fill(mine);
        }
        List<Closure> out = new ArrayList<>();
        for (int i = 0; i < futures.size(); i++) {
            out.add(await(storePaths.get(i), futures.get(i)));
        }
        return out;
    }

    private void fill(Map<String, CompletableFuture<Closure>> mine) {
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, CompletableFuture<Closure>> e : mine.entrySet()) {
            Optional<Closure> saved = load(e.getKey());
            if (saved.isPresent()) {
                e.getValue().complete(saved.get());
            } else {
                missing.add(e.getKey());
            }
        }
        if (missing.isEmpty()) {
            return;
        }
        try {
            Map<String, Closure> listed = list(missing);
            for (String p : missing) {
                Closure c = listed.get(p);
                save(c);
                mine.get(p).complete(c);
            }
        } catch (Problem | RuntimeException e) {
            for (String p : missing) {
                mine.get(p).completeExceptionally(e);
            }
        }
    }

    private Closure await(String storePath, CompletableFuture<Closure> f) throws Problem {
        try {
            return f.get();
        } catch (ExecutionException e) {
            synchronized (cache) {
                cache.remove(storePath, f); // a failure is not remembered: the next call asks again
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

    /**
     * Lines like nix's plain output ("path TAB size") plus the origin ("TAB d:DRVNAME", "TAB a" for
     * added directly, nothing where unknown), after a header naming the top path and its ctime.
     */
    private void save(Closure c) {
        if (diskDir == null) {
            return;
        }
        try {
            WorkDirs.ensurePrivateDir(diskDir);
            StringBuilder sb = new StringBuilder(c.size() * 100);
            sb.append(HEADER).append('\n').append(c.top()).append('\t').append(changeTime(c.top())).append('\n');
            for (int i = 0; i < c.size(); i++) {
                sb.append(StoreFiles.STORE).append("00000000000000000000000000000000-").append(c.names()[i])
                        .append('\t').append(c.sizes()[i]);
                String o = c.origins()[i];
                if (o != null) {
                    sb.append('\t').append(o.isEmpty() ? "a" : "d:" + o);
                }
                sb.append('\n');
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

    /** Always asks the store (the database, else nix), never the cache: the benchmark measures this. */
    public Map<String, Closure> list(List<String> storePaths) throws Problem {
        if (source == Source.STORE && storeDb != null) {
            Optional<Map<String, Closure>> fromDb = storeDb.closures(storePaths);
            if (fromDb.isPresent()) {
                return fromDb.get();
            }
        }
        return listWithNix(storePaths);
    }

    /** One {@code nix path-info --json --recursive} for all the paths; each closure follows the references. */
    private Map<String, Closure> listWithNix(List<String> storePaths) throws Problem {
        Exec.Outcome out = pathInfo(List.of("--json", "--recursive"), storePaths);
        Optional<Map<String, Closure>> parsed = PathInfoJson.closures(out.stdout(), storePaths);
        if (parsed.isPresent()) {
            return parsed.get();
        }
        LOG.warn("nix path-info --json printed a layout this engine does not know; listing each closure as text");
        Map<String, Closure> m = new LinkedHashMap<>();
        for (String p : storePaths) {
            m.put(p, parse(p, pathInfo(List.of("--recursive", "--size"), List.of(p)).stdout()));
        }
        return m;
    }

    private Exec.Outcome pathInfo(List<String> flags, List<String> storePaths) throws Problem {
        Command cmd = Command.of(tools.require("nix"))
                .args("path-info", "--extra-experimental-features", "nix-command")
                .args(nixEnv.optionArgs())
                .args(NixEnv.offlineArgs())
                .args(flags)
                .args(storePaths)
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
            throw new Problem(ProblemCode.CLOSURE_INCOMPLETE, "Nix could not list the closure of "
                    + String.join(" and ", storePaths) + ": " + NixEnv.firstError(out.stderr()),
                    "This typically happens when the system was garbage-collected or copied without its"
                            + " dependencies. To fix this build it again (the Build step), or pick another generation.");
        }
        return out;
    }

    /**
     * Parses "PATH  TAB  SIZE" lines (nix path-info -r -s), optionally followed by "TAB d:DRVNAME"
     * or "TAB a" (the closure cache); anything else is a bug worth hearing about.
     */
    static Closure parse(String top, String text) throws Problem {
        List<String> names = new ArrayList<>(8192);
        List<String> origins = new ArrayList<>(8192);
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
            int lineEnd = eol;
            String origin = null;
            int tab = text.lastIndexOf('\t', eol - 1);
            if (tab > pos && tab + 1 < eol && (text.startsWith("d:", tab + 1) || (tab + 2 == eol && text.charAt(tab + 1) == 'a'))) {
                origin = text.charAt(tab + 1) == 'a' ? StoreName.ADDED_DIRECTLY : text.substring(tab + 3, eol);
                lineEnd = tab;
            }
            int pathEnd = pos;
            while (pathEnd < lineEnd && !Character.isWhitespace(text.charAt(pathEnd))) {
                pathEnd++;
            }
            if (pathEnd > pos) {
                int numEnd = lineEnd;
                while (numEnd > pathEnd && Character.isWhitespace(text.charAt(numEnd - 1))) {
                    numEnd--;
                }
                int numStart = numEnd;
                while (numStart > pathEnd && Character.isDigit(text.charAt(numStart - 1))) {
                    numStart--;
                }
                if (numStart == numEnd || !text.startsWith(StoreFiles.STORE, pos) || pathEnd - pos < 11 + 33) {
                    throw Problem.internal("Unexpected line from nix path-info: "
                            + text.substring(pos, Math.min(eol, pos + 200)), null);
                }
                long size = Long.parseLong(text, numStart, numEnd, 10);
                if (n == sizes.length) {
                    sizes = java.util.Arrays.copyOf(sizes, n * 2);
                }
                names.add(text.substring(pos + 11 + 33, pathEnd));
                origins.add(origin);
                sizes[n++] = size;
                total += size;
            }
            pos = eol + 1;
        }
        return new Closure(top, names.toArray(new String[0]), java.util.Arrays.copyOf(sizes, n),
                origins.toArray(new String[0]), total);
    }
}
