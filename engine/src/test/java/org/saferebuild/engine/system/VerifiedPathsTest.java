package org.saferebuild.engine.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saferebuild.engine.inspect.StoreDb;

/**
 * When a store path hashed before counts as unchanged: only with the registration nix still holds,
 * the same fingerprint, within closureRehashDays, and never when its files changed just before the
 * walk that took the fingerprint (a change within the clock's tick could keep the change time).
 */
class VerifiedPathsTest {
    private static final String PATH = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-member";
    private static final StoreDb.Valid REG = new StoreDb.Valid(PATH, 42, "sha256:" + "1".repeat(64), 1000);

    @TempDir
    Path dir;

    private VerifiedPaths paths(Duration validFor) {
        return new VerifiedPaths(dir.resolve("state/verified/paths.json"), validFor);
    }

    private static StoreWalk.Fingerprint walk(String digest, Instant newestChange) {
        return new StoreWalk.Fingerprint(digest, 7, newestChange.getEpochSecond() * 1_000_000_000L
                + newestChange.getNano());
    }

    @Test
    void aSealHoldsOnlyForTheSameRegistrationAndFingerprintWhileItIsYoungEnough() throws Exception {
        Instant walked = Instant.now();
        StoreWalk.Fingerprint f = walk("d1", walked.minusSeconds(60));
        VerifiedPaths v = paths(Duration.ofDays(7));
        v.sealAll(Map.of(REG, f), walked);

        VerifiedPaths.Seal seal = v.get(PATH).orElseThrow();
        Instant notBefore = v.notBefore(Instant.now());
        assertThat(seal.holds(REG, f, notBefore)).isTrue();
        assertThat(seal.holds(REG, walk("d2", walked.minusSeconds(60)), notBefore)).as("files changed").isFalse();
        assertThat(seal.holds(REG, null, notBefore)).as("not walked").isFalse();
        assertThat(seal.holds(new StoreDb.Valid(PATH, 43, REG.narHash(), 1000), f, notBefore))
                .as("deleted and added again").isFalse();
        assertThat(seal.holds(new StoreDb.Valid(PATH, 42, "sha256:" + "2".repeat(64), 1000), f, notBefore))
                .as("nix recorded another hash").isFalse();
        assertThat(seal.holds(REG, f, v.notBefore(Instant.now().plus(Duration.ofDays(8))))).as("eight days later")
                .isFalse();

        // Kept on disk for the next engine.
        assertThat(paths(Duration.ofDays(7)).get(PATH)).contains(seal);
        v.forget(java.util.List.of(PATH));
        assertThat(paths(Duration.ofDays(7)).get(PATH)).isEmpty();
    }

    @Test
    void filesThatChangedJustBeforeTheWalkAreNotSealed() {
        Instant walked = Instant.now();
        VerifiedPaths v = paths(Duration.ofDays(7));
        v.sealAll(Map.of(REG, walk("d1", walked.minus(VerifiedPaths.RACY).plusMillis(500))), walked);
        assertThat(v.get(PATH)).isEmpty();
        v.sealAll(Map.of(REG, walk("d1", walked.plusSeconds(30))), walked); // a clock set back
        assertThat(v.get(PATH)).isEmpty();
        v.sealAll(Map.of(REG, walk("d1", walked.minus(VerifiedPaths.RACY).minusMillis(1))), walked);
        assertThat(v.get(PATH)).isPresent();
    }

    @Test
    void zeroDaysKeepsNothingAndAnUnreadableFileIsIgnored() throws Exception {
        VerifiedPaths never = paths(Duration.ZERO);
        assertThat(never.enabled()).isFalse();
        never.sealAll(Map.of(REG, walk("d1", Instant.now().minusSeconds(60))), Instant.now());
        assertThat(Files.exists(never.file())).isFalse();

        Files.createDirectories(never.file().getParent());
        Files.writeString(never.file(), "{not json");
        VerifiedPaths v = paths(Duration.ofDays(7));
        assertThat(v.get(PATH)).as("a damaged file only costs a hash").isEmpty();
        v.sealAll(Map.of(REG, walk("d1", Instant.now().minusSeconds(60))), Instant.now());
        assertThat(paths(Duration.ofDays(7)).get(PATH)).isPresent();
    }
}
