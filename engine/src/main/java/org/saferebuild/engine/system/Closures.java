package org.saferebuild.engine.system;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.inspect.StoreDb;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.protocol.Json;
import org.saferebuild.engine.sys.DaemonThreads;
import org.saferebuild.protocol.ProblemCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether a system's closure is all there and as nix recorded it, read from the local store only
 * (no substituters, no network: a rollback must work offline). Garbage collection or a manual
 * {@code nix-store --delete} can take a generation's store paths away while its profile link stays.
 *
 * <p>The closure comes from the store's database, read-only ({@link StoreDb}, no process), or from
 * {@code nix-store --query --requisites} where the database cannot answer. Contents are checked by
 * {@link ContentCheck}; closures the operator is likely to apply next (a build, a comparison, the
 * generations listed) are hashed ahead in the background, so that an apply mostly walks.
 */
public final class Closures {
    private static final Logger LOG = LoggerFactory.getLogger(Closures.class);
    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    /** A background batch is at most this much to hash (a fraction of a second), so it yields soon. */
    private static final long BATCH_BYTES = 256L << 20;
    private static final int BATCH_PATHS = 500;

    private final Tools tools;
    private final NixEnv nixEnv;
    /** The store's database; null where the engine does not use the default store. */
    private final StoreDb storeDb;
    private final ContentCheck contents;
    /** What the database recorded for paths of the closures listed last (for sealing what was hashed). */
    private final Map<String, StoreDb.Valid> registrations = new ConcurrentHashMap<>();
    /** Foreground checks running now: the background waits while there are any. */
    private int foreground;
    private final Object turns = new Object();
    private final Set<String> queued = new LinkedHashSet<>();
    private Thread worker;
    private volatile boolean stopping;

    public Closures(EngineConfig config, Tools tools, NixEnv nixEnv) {
        this.tools = tools;
        this.nixEnv = nixEnv;
        this.storeDb = nixEnv.usesDefaultStore() ? new StoreDb(config.state().resolve("native")) : null;
        this.contents = new ContentCheck(tools, nixEnv, new VerifiedPaths(config.state().resolve("verified")
                .resolve("paths.json"), Duration.ofDays(config.closureRehashDays())));
    }

    /** Opens the store's database once (schema, native library), off the request path. */
    public void prepareInBackground() {
        if (storeDb != null) {
            DaemonThreads.named("store-db").newThread(storeDb::prepare).start();
        }
    }

    /**
     * Empty when {@code storePath} is valid in the nix database and every path of its closure
     * exists on disk; otherwise what is missing, in words.
     */
    public Optional<String> missing(String storePath) throws Problem {
        return requisites(storePath).gap();
    }

    /** The closure's paths (as {@code nix-store --query --requisites} lists them), or what is missing. */
    private record Requisites(List<String> paths, Optional<String> gap) {
    }

    private Requisites requisites(String storePath) throws Problem {
        if (!Files.exists(Path.of(storePath), LinkOption.NOFOLLOW_LINKS)) {
            return new Requisites(List.of(), Optional.of(storePath + " is no longer on disk"));
        }
        List<String> paths;
        Optional<List<StoreDb.Valid>> fromDb = storeDb == null ? Optional.empty() : storeDb.requisites(storePath);
        if (fromDb.isPresent()) {
            paths = new ArrayList<>(fromDb.get().size());
            for (StoreDb.Valid v : fromDb.get()) {
                paths.add(v.path());
                registrations.put(v.path(), v);
            }
        } else {
            // Not in the database (nix says why), or the database cannot be read here.
            Exec.Outcome o = run(Command.of(tools.require("nix-store"), "--query", "--requisites", storePath));
            if (!o.ok()) {
                return new Requisites(List.of(), Optional.of(storePath + " is not valid in the nix database ("
                        + NixEnv.firstError(o.stderr()) + ")"));
            }
            paths = o.stdout().lines().filter(l -> !l.isBlank()).toList();
        }
        List<String> missing = new ArrayList<>();
        for (String p : paths) {
            if (!Files.exists(Path.of(p), LinkOption.NOFOLLOW_LINKS)) {
                missing.add(p);
            }
        }
        if (!missing.isEmpty()) {
            return new Requisites(paths, Optional.of(missing.size() + " path(s) of its closure are missing on disk,"
                    + " first " + missing.get(0)));
        }
        return new Requisites(paths, Optional.empty());
    }

    /**
     * Throws CLOSURE_INCOMPLETE with what is missing and what to do, for {@code what} ("generation 3");
     * returns the closure's paths.
     */
    public List<String> requireComplete(String storePath, String what) throws Problem {
        Requisites r = requisites(storePath);
        if (r.gap().isPresent()) {
            throw new Problem(ProblemCode.CLOSURE_INCOMPLETE, "The system of " + what + " cannot be activated: "
                    + r.gap().get() + ". Nothing was changed.",
                    "This typically happens when garbage collection (nix-collect-garbage) removed it. To fix this,"
                            + " choose a generation whose system is marked as on disk, or rebuild this"
                            + " configuration. Pin generations you may want to return to, so that garbage"
                            + " collection keeps them.");
        }
        return r.paths();
    }

    /**
     * Whether every path given (a whole closure, from {@link #requireComplete}) still has the
     * contents nix recorded when it was added (issue 11: a file changed inside any member of a
     * closure, not only in its top path, stops an apply or rollback). Each path is hashed
     * ({@code nix-store --verify-path}) unless it was hashed before and its files are unchanged
     * since; docs/apply.md has the cost. Empty when all match; otherwise which paths were modified.
     */
    public Optional<String> contentsChanged(List<String> paths) throws Problem {
        return contentsChanged(paths, summary -> { });
    }

    /** As {@link #contentsChanged(List)}; {@code summary} hears how many paths were hashed and how many walked. */
    public Optional<String> contentsChanged(List<String> paths, java.util.function.Consumer<String> summary)
            throws Problem {
        synchronized (turns) {
            foreground++;
        }
        try {
            ContentCheck.Outcome o = contents.check(paths, registrations::get, false);
            summary.accept(o.summary());
            return o.changed();
        } finally {
            synchronized (turns) {
                foreground--;
                turns.notifyAll();
            }
        }
    }

    /**
     * Hashes the closure of {@code storePath} ahead, in the background, where the operator waits
     * anyway (a build, a comparison, the generations listed): an apply or rollback of it then only
     * walks its files. Never blocks the caller; waits while a foreground check runs.
     */
    public void checkInBackground(String storePath) {
        if (!contents.sealing() || storePath == null) {
            return;
        }
        synchronized (turns) {
            if (stopping || !queued.add(storePath)) {
                return;
            }
            if (worker == null) {
                worker = DaemonThreads.named("closure-check").newThread(this::work);
                worker.setPriority(Thread.MIN_PRIORITY);
                worker.start();
                Runtime.getRuntime().addShutdownHook(new Thread(this::stop, "closure-check-stop"));
            }
            turns.notifyAll();
        }
    }

    private void work() {
        while (true) {
            String top;
            synchronized (turns) {
                while (!stopping && queued.isEmpty()) {
                    try {
                        turns.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (stopping) {
                    return;
                }
                top = queued.iterator().next();
            }
            try {
                hashAhead(top);
            } catch (Problem | RuntimeException e) {
                LOG.info("checking the closure of {} ahead did not finish: {}", top, e.getMessage());
            } finally {
                synchronized (turns) {
                    queued.remove(top);
                }
            }
        }
    }

    private void hashAhead(String top) throws Problem {
        Requisites r = requisites(top);
        if (r.gap().isPresent()) {
            return;
        }
        long t = System.nanoTime();
        int hashed = 0;
        List<String> batch = new ArrayList<>();
        long bytes = 0;
        for (int i = 0; i <= r.paths().size(); i++) {
            String p = i < r.paths().size() ? r.paths().get(i) : null;
            StoreDb.Valid v = p == null ? null : registrations.get(p);
            long size = v == null ? 0 : v.narSize();
            if (p == null || (!batch.isEmpty() && (bytes + size > BATCH_BYTES || batch.size() >= BATCH_PATHS))) {
                if (!awaitTurn()) {
                    return;
                }
                ContentCheck.Outcome o = contents.check(batch, registrations::get, true);
                hashed += o.hashed();
                if (o.changed().isPresent()) {
                    LOG.warn("the closure of {} does not match what nix recorded: {}", top, o.changed().get());
                    return;
                }
                batch = new ArrayList<>();
                bytes = 0;
            }
            if (p != null) {
                batch.add(p);
                bytes += size;
            }
        }
        LOG.info("checked the closure of {} ahead: {} store paths, {} hashed, in {} ms", top, r.paths().size(), hashed,
                (System.nanoTime() - t) / 1_000_000);
    }

    /** Waits while a foreground check runs; false when the engine is exiting. */
    private boolean awaitTurn() {
        synchronized (turns) {
            while (!stopping && foreground > 0) {
                try {
                    turns.wait();
                } catch (InterruptedException e) {
                    return false;
                }
            }
            return !stopping;
        }
    }

    private void stop() {
        synchronized (turns) {
            stopping = true;
            turns.notifyAll();
        }
        contents.stopBackground();
    }

    /** Closure sizes in bytes (nix's own figure) of paths whose closures are complete. */
    public Map<String, Long> closureBytes(List<String> storePaths) throws Problem {
        Map<String, Long> out = new HashMap<>();
        if (storePaths.isEmpty()) {
            return out;
        }
        Exec.Outcome o = run(Command.of(tools.require("nix")).args(nixEnv.flakeArgs())
                .args("path-info", "--json", "--closure-size").args(storePaths));
        if (!o.ok()) {
            return out;
        }
        try {
            JsonNode tree = Json.mapper().readTree(o.stdout());
            if (tree.isArray()) {
                // Nix up to 2.18: [{"path": …, "closureSize": …}, …]
                for (JsonNode n : tree) {
                    if (n.hasNonNull("path") && n.hasNonNull("closureSize")) {
                        out.put(n.get("path").asText(), n.get("closureSize").asLong());
                    }
                }
            } else {
                // Nix 2.19 and later: {"/nix/store/…": {"closureSize": …}, …}
                tree.properties().forEach(e -> {
                    if (e.getValue().hasNonNull("closureSize")) {
                        out.put(e.getKey(), e.getValue().get("closureSize").asLong());
                    }
                });
            }
        } catch (IOException e) {
            // Sizes are informative only; a listing without them is still true.
        }
        return out;
    }

    private Exec.Outcome run(Command.Builder b) throws Problem {
        return run(b, TIMEOUT);
    }

    private Exec.Outcome run(Command.Builder b, Duration timeout) throws Problem {
        try {
            return Exec.run(b.env(nixEnv.hostEnv()).timeout(timeout).build());
        } catch (IOException e) {
            throw Problem.internal("Cannot run " + b.build().argv().get(0) + ": " + e.getMessage(), e);
        }
    }
}
