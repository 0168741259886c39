package org.saferebuild.engine.system;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.inspect.StoreDb;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sys.DaemonThreads;

/**
 * Whether the files of store paths still have the contents nix recorded for them (issue 11: a file
 * changed inside any member of a closure stops an apply or rollback). A path is hashed with
 * {@code nix-store --verify-path}, as nix's own {@code --verify --check-contents} does, unless it
 * was hashed before and a walk of its files ({@link StoreWalk}) shows nothing changed since
 * ({@link VerifiedPaths}); docs/apply.md "What it costs" has the reasoning and the figures.
 */
final class ContentCheck {
    /** Hashing a large closure (several GiB) takes a while: docs/apply.md "What it costs". */
    private static final Duration VERIFY_TIMEOUT = Duration.ofMinutes(30);
    private static final int VERIFY_WORKERS = Math.min(4, Runtime.getRuntime().availableProcessors());
    private static final int PATHS_PER_EXTRA_WORKER = 500;
    private static final Pattern MODIFIED = Pattern.compile("path '(/nix/store/[^']+)' was modified");

    private final Tools tools;
    private final NixEnv nixEnv;
    private final VerifiedPaths verified;
    /** The background's nix-store, killed when the engine exits (it hashes nothing anyone waits for). */
    private final AtomicReference<Exec.Running> backgroundRun = new AtomicReference<>();

    ContentCheck(Tools tools, NixEnv nixEnv, VerifiedPaths verified) {
        this.tools = tools;
        this.nixEnv = nixEnv;
        this.verified = verified;
    }

    /** Whether what is hashed is remembered (the settings' closureRehashDays is not 0). */
    boolean sealing() {
        return verified.enabled();
    }

    /**
     * How a check ended: what was modified (empty: nothing), how many paths were found unchanged
     * since they were hashed, and how many were hashed now.
     */
    record Outcome(Optional<String> changed, int unchanged, int hashed, long files, long walkNanos,
                   long hashNanos) {
        String summary() {
            String walk = files == 0 ? "" : String.format(java.util.Locale.ROOT, "; %d files walked in %.1f ms", files,
                    walkNanos / 1e6);
            String hash = hashed == 0 ? "" : String.format(java.util.Locale.ROOT, "; hashed in %.1f ms",
                    hashNanos / 1e6);
            if (unchanged == 0) {
                return "hashed all " + hashed + " store paths" + walk + hash;
            }
            return unchanged + " store path" + (unchanged == 1 ? "" : "s") + " unchanged since hashed (their files'"
                    + " inodes, sizes, modes and change times), " + hashed + " hashed now" + walk + hash;
        }
    }

    /**
     * Checks {@code paths}; {@code registrations} gives what the store's database holds for each
     * (null where it is not known: such a path is always hashed and never sealed).
     */
    Outcome check(List<String> paths, Function<String, StoreDb.Valid> registrations, boolean background)
            throws Problem {
        if (paths.isEmpty()) {
            return new Outcome(Optional.empty(), 0, 0, 0, 0, 0);
        }
        Instant walkStarted = Instant.now();
        long t0 = System.nanoTime();
        // The walk comes before the hash: a change after it gives another fingerprint at the next walk.
        Map<String, StoreWalk.Fingerprint> walked = verified.enabled() ? StoreWalk.of(paths) : Map.of();
        long walkNanos = System.nanoTime() - t0;
        long files = walked.values().stream().filter(java.util.Objects::nonNull)
                .mapToLong(StoreWalk.Fingerprint::entries).sum();
        Instant notBefore = verified.notBefore(walkStarted);
        List<String> toHash = new ArrayList<>();
        for (String p : paths) {
            StoreDb.Valid v = registrations.apply(p);
            Optional<VerifiedPaths.Seal> seal = v == null ? Optional.empty() : verified.get(p);
            if (seal.isEmpty() || !seal.get().holds(v, walked.get(p), notBefore)) {
                toHash.add(p);
            }
        }
        int unchanged = paths.size() - toHash.size();
        if (toHash.isEmpty()) {
            return new Outcome(Optional.empty(), unchanged, 0, files, walkNanos, 0);
        }
        long t1 = System.nanoTime();
        Hashed h = hash(toHash, background);
        long hashNanos = System.nanoTime() - t1;
        if (!h.modified().isEmpty()) {
            verified.forget(h.modified().keySet());
            List<String> lines = new ArrayList<>(h.modified().values());
            lines.sort(null);
            return new Outcome(Optional.of(h.modified().size() + " of " + paths.size() + " store paths were modified,"
                    + " first: " + lines.get(0).replaceFirst("^error: ", "")), unchanged, toHash.size(), files,
                    walkNanos, hashNanos);
        }
        if (h.other() != null) {
            return new Outcome(Optional.of(h.other()), unchanged, toHash.size(), files, walkNanos, hashNanos);
        }
        Map<StoreDb.Valid, StoreWalk.Fingerprint> sealed = new LinkedHashMap<>();
        for (String p : toHash) {
            StoreDb.Valid v = registrations.apply(p);
            if (v != null && walked.get(p) != null) {
                sealed.put(v, walked.get(p));
            }
        }
        verified.sealAll(sealed, walkStarted);
        return new Outcome(Optional.empty(), unchanged, toHash.size(), files, walkNanos, hashNanos);
    }

    /** Paths reported modified (path → nix's line) and any other error. */
    private record Hashed(Map<String, String> modified, String other) {
    }

    /**
     * {@code nix-store --verify-path} on every path given. A large list is split into one batch per
     * core, hashed in parallel (in the background: one batch, at the lowest priority).
     */
    private Hashed hash(List<String> paths, boolean background) throws Problem {
        int workers = background || paths.size() < PATHS_PER_EXTRA_WORKER ? 1 : Math.min(VERIFY_WORKERS,
                paths.size() / PATHS_PER_EXTRA_WORKER + 1);
        List<List<String>> batches = new ArrayList<>();
        for (int i = 0; i < workers; i++) {
            batches.add(new ArrayList<>());
        }
        for (int i = 0; i < paths.size(); i++) {
            batches.get(i % workers).add(paths.get(i)); // round robin: large and small paths spread out
        }
        ExecutorService pool = Executors.newFixedThreadPool(workers, DaemonThreads.named("verify-path"));
        try {
            List<Future<Exec.Outcome>> runs = new ArrayList<>();
            for (List<String> batch : batches) {
                runs.add(pool.submit(() -> verifyPath(batch, background)));
            }
            Map<String, String> modified = new LinkedHashMap<>();
            String other = null;
            for (Future<Exec.Outcome> f : runs) {
                Exec.Outcome o = Problem.await(f, "verifying the closure");
                if (!o.ok()) {
                    for (String line : o.stderrTail()) {
                        Matcher m = MODIFIED.matcher(line);
                        if (m.find()) {
                            modified.put(m.group(1), line);
                        }
                    }
                    if (other == null) {
                        other = NixEnv.firstError(o.stderr());
                    }
                }
            }
            return new Hashed(modified, other);
        } finally {
            pool.shutdownNow();
        }
    }

    private Exec.Outcome verifyPath(List<String> batch, boolean background) throws Problem {
        Command.Builder b;
        if (background && tools.find("nice").isPresent()) {
            b = Command.of(tools.require("nice")).args("-n", "19", tools.require("nix-store").toString());
        } else {
            b = Command.of(tools.require("nix-store"));
        }
        Command command = b.args("--verify-path").args(batch).env(nixEnv.hostEnv()).timeout(VERIFY_TIMEOUT).build();
        try {
            Exec.Running r = Exec.stream(command, null, null);
            if (background) {
                backgroundRun.set(r);
            }
            try {
                return r.await();
            } finally {
                backgroundRun.compareAndSet(r, null);
            }
        } catch (IOException e) {
            throw Problem.internal("Cannot run " + command.argv().get(0) + ": " + e.getMessage(), e);
        }
    }

    /** Stops the background's hashing (the engine is exiting). */
    void stopBackground() {
        Exec.Running r = backgroundRun.getAndSet(null);
        if (r != null) {
            r.kill();
        }
    }
}
