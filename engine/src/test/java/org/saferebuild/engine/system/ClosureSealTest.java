package org.saferebuild.engine.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Nix;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemResult;

/**
 * The content check hashes a store path once and afterwards walks its files (docs/apply.md "What it
 * costs"): a second apply of the same closure hashes nothing, a file changed inside a member after it
 * was hashed still stops the apply and the rollback, a hash older than closureRehashDays (or every
 * hash, with 0) is done again, and listing the generations hashes the likely rollback targets ahead.
 * What each check did is the line the apply shows ("check" log stream).
 */
@Tag("root")
@Tag("nix")
class ClosureSealTest {
    private DemoFixture fx;
    /** A closure of this test's own (a salted member and a top that refers to it): changing it disturbs nobody. */
    private String member;
    private String top;

    @BeforeEach
    void closure() throws Exception {
        fx = DemoFixture.install();
        Path scratch = Files.createDirectories(fx.base.resolve("scratch"));
        member = Nix.addToplevel(scratch, "member", "99.99", "6.6.6");
        List<String> argv = new ArrayList<>(List.of("/usr/bin/nix-build", "--no-out-link"));
        argv.addAll(Nix.DEMO_OPTIONS);
        argv.addAll(List.of("-E", "derivation { name = \"seal-test-top\"; system = builtins.currentSystem;"
                + " builder = \"/bin/sh\"; member = builtins.storePath \"" + member + "\"; args = [ \"-c\""
                + " \"/bin/mkdir -p $out/bin; echo $member > $out/member; printf '#!/bin/sh\\\\nexit 0\\\\n' >"
                + " $out/bin/switch-to-configuration; /bin/chmod +x $out/bin/switch-to-configuration\" ]; }"));
        top = Nix.run(argv.toArray(String[]::new)).lines().reduce((a, b) -> b).orElseThrow();
        Nix.run("/usr/bin/nix-store", "--realise", "--add-root",
                fx.demo.buildRoots().resolve(Path.of(top).getFileName()).toString(), top);
        Nix.setProfile(fx.demo.systemProfile(), top); // generation 2 has it too
        backToGeneration1();
        // A fingerprint is kept only for files that did not change in the last seconds before the walk
        // (VerifiedPaths.RACY); nix has just written these.
        awaitOlderThan(VerifiedPaths.RACY, member, top);
    }

    @AfterEach
    void close() throws Exception {
        fx.close();
        backToGeneration1();
        Nix.run("/usr/bin/nix-env", "-p", fx.demo.systemProfile().toString(), "--delete-generations", "2");
    }

    @Test
    void aClosureHashedOnceIsWalkedAfterwardsAndAMemberChangedSinceStopsApplyAndRollback() throws Exception {
        EngineHarness engine = fx.start();
        applyBoot(engine);
        assertThat(lastCheck(engine)).contains("hashed all 2 store paths");
        assertThat(sealed()).contains(member, top);

        applyBoot(engine);
        assertThat(lastCheck(engine)).contains("2 store paths unchanged since hashed").contains("0 hashed now");

        // The same number of bytes, and nix's own mtime put back: only the change time tells.
        Path changed = Path.of(member, "nixos-version");
        changed.toFile().setWritable(true);
        Files.writeString(changed, "99.98\n", StandardOpenOption.WRITE);
        changed.toFile().setWritable(false);
        Files.setLastModifiedTime(changed, FileTime.fromMillis(1000));

        for (Event.Failure f : List.of(
                engine.fail(id -> new SystemRequest.Apply(id, top, null, Mode.BOOT, null)),
                engine.fail(id -> new SystemRequest.Rollback(id, 2, SystemRequest.RollbackMode.SWITCH)))) {
            assertThat(f.code()).as(f.message()).isEqualTo(ProblemCode.CLOSURE_INCOMPLETE);
            assertThat(f.message()).contains("1 of 2 store paths were modified").contains(member)
                    .contains("Nothing was changed");
            assertThat(lastCheck(engine)).contains("1 store path unchanged since hashed").contains("1 hashed now");
        }
        assertThat(fx.profileLink()).isEqualTo("system-1-link");
        assertThat(sealed()).as("a path found modified is not trusted any more").contains(top).doesNotContain(member);
    }

    @Test
    void aHashOlderThanClosureRehashDaysIsDoneAgainAndZeroDaysHashesEveryTime() throws Exception {
        EngineHarness first = fx.start();
        applyBoot(first);
        assertThat(lastCheck(first)).contains("hashed all 2 store paths");
        first.closeAndWait();

        // Eight days pass (the default is seven).
        Path file = seals();
        ObjectNode root = (ObjectNode) Json.mapper().readTree(Files.readString(file));
        root.get("paths").forEach(s -> ((ObjectNode) s).put("hashedAt",
                Instant.now().minus(Duration.ofDays(8)).toString()));
        Files.writeString(file, Json.mapper().writeValueAsString(root));

        EngineHarness later = fx.start();
        applyBoot(later);
        assertThat(lastCheck(later)).contains("hashed all 2 store paths");
        applyBoot(later);
        assertThat(lastCheck(later)).contains("2 store paths unchanged since hashed");
        later.closeAndWait();

        EngineHarness always = fx.start("closureRehashDays", 0);
        for (int i = 0; i < 2; i++) {
            applyBoot(always);
            assertThat(lastCheck(always)).contains("hashed all 2 store paths").doesNotContain("walked");
        }
    }

    @Test
    void listingTheGenerationsHashesTheLikelyRollbackTargetsAheadSoTheRollbackOnlyWalks() throws Exception {
        EngineHarness engine = fx.start();
        SystemResult.GenerationList list = engine.call(id -> new SystemRequest.Generations(id),
                SystemResult.GenerationList.class);
        assertThat(list.generations()).extracting(SystemResult.Generation::number).contains(1, 2);
        DemoFixture.awaitTrue("generation 2's closure hashed in the background", Duration.ofSeconds(60),
                () -> sealed().containsAll(List.of(member, top)));

        engine.call(id -> new SystemRequest.Rollback(id, 2, SystemRequest.RollbackMode.BOOT),
                SystemResult.RolledBack.class);
        assertThat(lastCheck(engine)).contains("2 store paths unchanged since hashed").contains("0 hashed now");
        assertThat(fx.profileLink()).isEqualTo("system-2-link");
    }

    private void applyBoot(EngineHarness engine) throws Exception {
        engine.call(id -> new SystemRequest.Apply(id, top, null, Mode.BOOT, null), SystemResult.Applied.class);
        backToGeneration1();
    }

    private void backToGeneration1() throws Exception {
        Nix.run("/usr/bin/nix-env", "-p", fx.demo.systemProfile().toString(), "--switch-generation", "1");
    }

    /** The last line the content check wrote to the app ("Contents of the N store paths of …: …"). */
    private static String lastCheck(EngineHarness engine) {
        String last = null;
        for (Event e : engine.events()) {
            if (e instanceof Event.Log l && l.stream().equals("check")) {
                last = l.lines().get(l.lines().size() - 1);
            }
        }
        assertThat(last).as("the check's line").isNotNull();
        return last;
    }

    private Path seals() {
        return fx.demo.stateDir().resolve("verified/paths.json");
    }

    /** The store paths the engine holds as hashed and unchanged. */
    private List<String> sealed() throws Exception {
        List<String> out = new ArrayList<>();
        if (!Files.exists(seals(), LinkOption.NOFOLLOW_LINKS)) {
            return out;
        }
        JsonNode root = Json.mapper().readTree(Files.readString(seals()));
        root.get("paths").fieldNames().forEachRemaining(out::add);
        return out;
    }

    /** Waits until every file under the given store paths last changed longer than {@code age} ago. */
    private static void awaitOlderThan(Duration age, String... storePaths) throws Exception {
        long newest = 0;
        for (String p : storePaths) {
            try (var walk = Files.walk(Path.of(p))) {
                for (Path f : walk.toList()) {
                    FileTime ctime = (FileTime) Files.getAttribute(f, "unix:ctime", LinkOption.NOFOLLOW_LINKS);
                    newest = Math.max(newest, ctime.to(TimeUnit.MILLISECONDS));
                }
            }
        }
        long wait = newest + age.toMillis() + 100 - System.currentTimeMillis();
        if (wait > 0) {
            Thread.sleep(wait);
        }
    }
}
