package org.saferebuild.engine.system;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.inspect.StoreDb;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.SafeFiles;
import org.saferebuild.protocol.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Store paths whose contents were hashed ({@code nix-store --verify-path}) and found as nix
 * recorded them, each with the {@link StoreWalk.Fingerprint} of its files taken just before the
 * hash, kept in {@code <stateDir>/verified/paths.json} (root-only, written through
 * {@link SafeFiles}). A path whose walk still gives that fingerprint has not been changed through
 * the filesystem since it was hashed, so it need not be hashed again (docs/apply.md "What it costs").
 *
 * <p>A seal counts only while the store's database still holds the same registration (row and NAR
 * hash), for at most the settings' {@code closureRehashDays}, and only if none of the path's files
 * had changed shortly before the walk that took its fingerprint ({@link #RACY}): a second change
 * within the same tick of a coarse clock could otherwise keep the ctime (git's "racy clean" entries
 * are the same problem).
 */
final class VerifiedPaths {
    private static final Logger LOG = LoggerFactory.getLogger(VerifiedPaths.class);
    /** A fingerprint is recorded only if its newest ctime is older than this before the walk began. */
    static final Duration RACY = Duration.ofSeconds(2);
    /** Thousands of store paths make a few MiB; anything much larger was not written by the engine. */
    private static final int LIMIT = 64 << 20;

    /** One path's seal: the registration it was hashed under, its fingerprint then, and when. */
    record Seal(long id, String narHash, String fingerprint, long entries, Instant hashedAt) {
        boolean holds(StoreDb.Valid v, StoreWalk.Fingerprint now, Instant notBefore) {
            return now != null && id == v.id() && narHash.equals(v.narHash()) && fingerprint.equals(now.digest())
                    && entries == now.entries() && hashedAt.isAfter(notBefore);
        }
    }

    private final Path file;
    private final Duration validFor;
    private Map<String, Seal> seals;

    /** @param validFor how long a hash is trusted on its fingerprint; zero: never (every check hashes) */
    VerifiedPaths(Path file, Duration validFor) {
        this.file = file;
        this.validFor = validFor;
    }

    Path file() {
        return file;
    }

    boolean enabled() {
        return !validFor.isZero();
    }

    /** Seals older than this are not trusted any more: the path is hashed again. */
    Instant notBefore(Instant now) {
        return now.minus(validFor);
    }

    synchronized Optional<Seal> get(String storePath) {
        return Optional.ofNullable(loaded().get(storePath));
    }

    /**
     * Records paths just hashed and found intact, with the fingerprints taken before the hash began
     * at {@code walkStarted}; a fingerprint that may have raced a change is left out. Written at once.
     */
    synchronized void sealAll(Map<StoreDb.Valid, StoreWalk.Fingerprint> hashed, Instant walkStarted) {
        if (!enabled() || hashed.isEmpty()) {
            return;
        }
        long racyFrom = walkStarted.minus(RACY).getEpochSecond() * 1_000_000_000L + walkStarted.minus(RACY).getNano();
        Map<String, Seal> m = loaded();
        int added = 0;
        for (Map.Entry<StoreDb.Valid, StoreWalk.Fingerprint> e : hashed.entrySet()) {
            StoreWalk.Fingerprint f = e.getValue();
            if (f == null || f.newestChangeNanos() >= racyFrom) {
                continue; // changed just before the walk (or the clock went back): hashed again next time
            }
            StoreDb.Valid v = e.getKey();
            m.put(v.path(), new Seal(v.id(), v.narHash(), f.digest(), f.entries(), walkStarted));
            added++;
        }
        if (added > 0) {
            save(m);
        }
    }

    /** Forgets a path (its hash failed). */
    synchronized void forget(Iterable<String> storePaths) {
        Map<String, Seal> m = loaded();
        boolean changed = false;
        for (String p : storePaths) {
            changed |= m.remove(p) != null;
        }
        if (changed) {
            save(m);
        }
    }

    private Map<String, Seal> loaded() {
        if (seals == null) {
            seals = read();
        }
        return seals;
    }

    private Map<String, Seal> read() {
        Map<String, Seal> m = new HashMap<>();
        if (!enabled()) {
            return m;
        }
        try {
            String text = SafeFiles.readString(file, LIMIT);
            if (text == null) {
                return m;
            }
            JsonNode paths = Json.mapper().readTree(text).path("paths");
            for (Iterator<Map.Entry<String, JsonNode>> it = paths.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode s = e.getValue();
                m.put(e.getKey(), new Seal(s.path("id").asLong(), s.path("narHash").asText(),
                        s.path("fingerprint").asText(), s.path("entries").asLong(),
                        Instant.parse(s.path("hashedAt").asText())));
            }
        } catch (IOException | RuntimeException e) {
            // Only a cache of work done: without it every path is hashed again.
            LOG.warn("ignoring {} ({}); the store paths it named are hashed again", file, e.toString());
            m.clear();
        }
        return m;
    }

    /** Writes the seals, dropping those too old to be trusted any more (so the file stays small). */
    private void save(Map<String, Seal> m) {
        Instant oldest = notBefore(Instant.now());
        m.values().removeIf(s -> !s.hashedAt().isAfter(oldest));
        ObjectNode root = Json.mapper().createObjectNode();
        root.put("format", 1);
        ObjectNode paths = root.putObject("paths");
        m.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            Seal s = e.getValue();
            paths.putObject(e.getKey()).put("id", s.id()).put("narHash", s.narHash())
                    .put("fingerprint", s.fingerprint()).put("entries", s.entries())
                    .put("hashedAt", s.hashedAt().toString());
        });
        try {
            WorkDirs.ensurePrivateDir(file.getParent());
            SafeFiles.replace(file, Json.encode(root));
        } catch (IOException | Problem e) {
            // Not fatal: the paths are hashed again next time.
            LOG.warn("cannot write {}: {}", file, e.getMessage());
        }
    }
}
