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
        if (!Files.exists(Path.of(storePath), LinkOption.NOFOLLOW_LINKS)) {
            return Optional.of(storePath + " is no longer on disk");
        }
        Exec.Outcome o = run(Command.of(tools.require("nix-store"), "--query", "--requisites", storePath));
        if (!o.ok()) {
            return Optional.of(storePath + " is not valid in the nix database (" + NixEnv.firstError(o.stderr()) + ")");
        }
        List<String> missing = new ArrayList<>();
        for (String p : o.stdout().lines().filter(l -> !l.isBlank()).toList()) {
            if (!Files.exists(Path.of(p), LinkOption.NOFOLLOW_LINKS)) {
                missing.add(p);
            }
        }
        if (!missing.isEmpty()) {
            return Optional.of(missing.size() + " path(s) of its closure are missing on disk, first "
                    + missing.get(0));
        }
        return Optional.empty();
    }

    /** Throws CLOSURE_INCOMPLETE with what is missing and what to do, for {@code what} ("generation 3"). */
    public void requireComplete(String storePath, String what) throws Problem {
        Optional<String> gap = missing(storePath);
        if (gap.isPresent()) {
            throw new Problem(ProblemCode.CLOSURE_INCOMPLETE, "The system of " + what + " cannot be activated: "
                    + gap.get() + ". Nothing was changed.",
                    "This typically happens when garbage collection (nix-collect-garbage) removed it. To fix this,"
                            + " choose a generation whose system is marked as on disk, or rebuild this"
                            + " configuration. Pin generations you may want to return to, so that garbage"
                            + " collection keeps them.");
        }
    }

    /** {@code nix-store --verify-path}: the path's contents still match the hash nix recorded. */
    public Optional<String> contentsChanged(String storePath) throws Problem {
        Exec.Outcome o = run(Command.of(tools.require("nix-store"), "--verify-path", storePath));
        return o.ok() ? Optional.empty() : Optional.of(NixEnv.firstError(o.stderr()));
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
        try {
            return Exec.run(b.env(nixEnv.hostEnv()).timeout(TIMEOUT).build());
        } catch (IOException e) {
            throw Problem.internal("Cannot run " + b.build().argv().get(0) + ": " + e.getMessage(), e);
        }
    }
}
