package org.saferebuild.engine.system;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;

/**
 * Whether a system's closure is all there, read from the local store only (no substituters, no
 * network: a rollback must work offline). Garbage collection or a manual {@code nix-store --delete}
 * can take a generation's store paths away while its profile link stays.
 */
public final class Closures {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    /** Hashing a large closure (several GiB) takes a while: docs/apply.md "What it costs". */
    private static final Duration VERIFY_TIMEOUT = Duration.ofMinutes(30);
    private static final int VERIFY_WORKERS = Math.min(4, Runtime.getRuntime().availableProcessors());
    private static final int PATHS_PER_EXTRA_WORKER = 500;

    private final Tools tools;
    private final NixEnv nixEnv;

    public Closures(Tools tools, NixEnv nixEnv) {
        this.tools = tools;
        this.nixEnv = nixEnv;
    }

    /**
     * Empty when {@code storePath} is valid in the nix database and every path of its closure
     * exists on disk; otherwise what is missing, in words.
     */
    public Optional<String> missing(String storePath) throws Problem {
        return requisites(storePath).gap();
    }

    /** The closure's paths ({@code nix-store --query --requisites}), or what is missing. */
    private record Requisites(List<String> paths, Optional<String> gap) {
    }

    private Requisites requisites(String storePath) throws Problem {
        if (!Files.exists(Path.of(storePath), LinkOption.NOFOLLOW_LINKS)) {
            return new Requisites(List.of(), Optional.of(storePath + " is no longer on disk"));
        }
        Exec.Outcome o = run(Command.of(tools.require("nix-store"), "--query", "--requisites", storePath));
        if (!o.ok()) {
            return new Requisites(List.of(), Optional.of(storePath + " is not valid in the nix database ("
                    + NixEnv.firstError(o.stderr()) + ")"));
        }
        List<String> paths = o.stdout().lines().filter(l -> !l.isBlank()).toList();
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
     * {@code nix-store --verify-path} on every path given (a whole closure): each path's contents
     * still hash to what nix recorded when it was added (issue 11: a file changed inside any member
     * of a closure, not only in its top path, stops an apply or rollback). A large closure is split
     * into one batch per core, hashed in parallel; docs/apply.md has the cost. Empty when all match;
     * otherwise which paths were modified.
     */
    public Optional<String> contentsChanged(List<String> paths) throws Problem {
        if (paths.isEmpty()) {
            return Optional.empty();
        }
        // One nix-store per core only for a large closure: starting one costs more than hashing a small one.
        int workers = paths.size() < PATHS_PER_EXTRA_WORKER ? 1 : Math.min(VERIFY_WORKERS,
                paths.size() / PATHS_PER_EXTRA_WORKER + 1);
        List<List<String>> batches = new ArrayList<>();
        for (int i = 0; i < workers; i++) {
            batches.add(new ArrayList<>());
        }
        for (int i = 0; i < paths.size(); i++) {
            batches.get(i % workers).add(paths.get(i)); // round robin: large and small paths spread out
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(workers,
                org.saferebuild.engine.sys.DaemonThreads.named("verify-path"));
        try {
            List<java.util.concurrent.Future<Exec.Outcome>> runs = new ArrayList<>();
            for (List<String> batch : batches) {
                runs.add(pool.submit(() -> run(Command.of(tools.require("nix-store")).args("--verify-path")
                        .args(batch), VERIFY_TIMEOUT)));
            }
            List<String> modified = new ArrayList<>();
            String other = null;
            for (java.util.concurrent.Future<Exec.Outcome> f : runs) {
                Exec.Outcome o = f.get();
                if (!o.ok()) {
                    o.stderr().lines().filter(l -> l.contains("was modified")).forEach(modified::add);
                    if (other == null) {
                        other = NixEnv.firstError(o.stderr());
                    }
                }
            }
            if (!modified.isEmpty()) {
                modified.sort(null);
                return Optional.of(modified.size() + " of " + paths.size() + " store paths were modified, first: "
                        + modified.get(0).replaceFirst("^error: ", ""));
            }
            return other == null ? Optional.empty() : Optional.of(other);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Problem p) {
                throw p;
            }
            throw Problem.internal("Verifying the closure failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Problem.internal("Interrupted while verifying the closure", e);
        } finally {
            pool.shutdownNow();
        }
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
