package org.saferebuild.engine.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Mounts;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;

/**
 * Symlink races on the work directory (docs/security.md "Hardening tests"). While the real engine
 * opens sandboxes over and over, a racing thread plants links to a victim directory at every name
 * under the state directory that the engine is about to create (lock files, the sandboxes and
 * locks directories) and, inside each fresh work directory, at every name of the sandbox's
 * skeleton (the root, each mount point): the engine makes the skeleton in a tmpfs it mounts over
 * the work directory inside the holder's namespace, so those links must redirect nothing either.
 * The racer behaves like another user in a sticky directory: it may create names, never remove the
 * engine's. Whatever it wins, nothing is created in or mounted on the victim; each open either
 * succeeds with every mount inside its own root, or is refused as planted with nothing left mounted.
 */
@Tag("root")
class SymlinkRaceTest {
    private static final Map<String, List<String>> NAMES = Map.of(
            "", List.of("nix", "etc", "usr", "bin", "sbin", "lib", "lib64", "var", "run", "proc", "sys", "dev", "tmp"),
            "etc", List.of("nixos", "nix", "passwd", "group"),
            "run", List.of("systemd"),
            "dev", List.of("shm"));

    @Test
    void linksPlantedWhileSandboxesOpenRedirectNothing() throws Exception {
        long seed = Long.getLong("race.seed", System.nanoTime());
        int rounds = Integer.getInteger("race.rounds", 16);
        System.out.println("SymlinkRaceTest: seed=" + seed + " rounds=" + rounds);
        Path base = EngineHarness.privateBase();
        Path config = Files.createDirectories(base.resolve("config"));
        Files.writeString(config.resolve("configuration.nix"), "{ }\n");
        Path victim = Files.createDirectories(base.resolve("victim"));
        Files.writeString(victim.resolve("canary"), "untouched\n");
        List<String> hostBefore = Mounts.hostTable();

        try (EngineHarness engine = EngineHarness.builder().base(base)
                .set("configDirs", List.of(config.toString())).start()) {
            engine.handshake();
            Path state = engine.stateDir();
            // One quiet open first, so the race reaches past the sandboxes and locks directories.
            close(engine, open(engine, config));
            String lockName = "config-" + sha256(config.toString()) + ".lock";

            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger planted = new AtomicInteger();
            Map<String, Integer> plantedAt = new ConcurrentHashMap<>();
            Random rnd = new Random(seed);
            Thread racer = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        for (Path target : targets(state, lockName)) {
                            // To the victim itself (a directory: mkdir through it would create there) or
                            // to a new name in it (a file: open with O_CREAT through it would create there).
                            Path to = rnd.nextBoolean() ? victim : victim.resolve(target.getFileName().toString());
                            if (rnd.nextInt(3) == 0 && plant(target, to)) {
                                planted.incrementAndGet();
                                plantedAt.merge(state.relativize(target).toString().replaceAll("sb-[a-z0-9]{12}",
                                        "sb-*"), 1, Integer::sum);
                            }
                        }
                        Thread.sleep(rnd.nextInt(3));
                    } catch (IOException | InterruptedException e) {
                        // the engine removed what we were looking at; look again
                    }
                }
            }, "racer");

            int opened = 0;
            List<String> refusals = new ArrayList<>();
            racer.start();
            try {
                for (int i = 0; i < rounds; i++) {
                    EngineConnection.Call call = engine.send(id -> new SandboxRequest.Open(id, config.toString(),
                            "debian-test", SandboxRequest.Network.ISOLATED));
                    try {
                        SandboxResult.Opened s = call.result(SandboxResult.Opened.class, java.time.Duration.ofMinutes(2));
                        opened++;
                        List<String> holderTable = Mounts.table(s.holderPid());
                        assertThat(Mounts.below(holderTable, victim)).as("mounts on the victim (seed %d)", seed).isEmpty();
                        // The holder's root is the sandbox's: its table is exactly the reported mounts.
                        assertThat(holderTable).as("every mount is the sandbox's").hasSize(s.mounts().size());
                        assertThat(s.mounts()).extracting(SandboxResult.Mount::mountPoint).contains("/", "/nix", "/tmp");
                        engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), true), SandboxResult.Closed.class);
                    } catch (EngineConnection.EngineFailure f) {
                        Event.Failure e = f.failure();
                        if (e.code() != ProblemCode.NOT_AUTHORIZED) {
                            throw new AssertionError("refusal " + e.code() + " " + e.message() + " (seed " + seed
                                    + "); engine log:\n" + engine.log());
                        }
                        assertThat(e.message()).containsAnyOf("Something other than the engine created",
                                "not a plain directory", "outside the sandbox root");
                        assertThat(e.fix()).isNotBlank();
                        refusals.add(e.message());
                    }
                    assertThat(Mounts.hostTable()).as("host mount table (seed %d)", seed).isEqualTo(hostBefore);
                    assertThat(Mounts.below(Mounts.table(ProcessHandle.current().pid()), base)).isEmpty();
                }
            } finally {
                stop.set(true);
                racer.join();
            }
            System.out.println("SymlinkRaceTest: " + opened + " opened cleanly, " + refusals.size()
                    + " refused as planted; " + planted.get() + " links planted: " + plantedAt);
            assertThat(opened + refusals.size()).isEqualTo(rounds);
        }
        try (Stream<Path> v = Files.list(victim)) {
            assertThat(v.map(p -> p.getFileName().toString())).as("nothing was made in the victim (seed %d)", seed)
                    .containsExactly("canary");
        }
        assertThat(victim.resolve("canary")).hasContent("untouched");
        assertThat(Mounts.hostTable()).isEqualTo(hostBefore);
    }

    /** Every name the engine may be about to create under the state directory. */
    private static List<Path> targets(Path state, String lockName) throws IOException {
        List<Path> out = new ArrayList<>(List.of(state.resolve("sandboxes"), state.resolve("locks"),
                state.resolve("locks").resolve(lockName)));
        Path sandboxes = state.resolve("sandboxes");
        if (!Files.isDirectory(sandboxes, LinkOption.NOFOLLOW_LINKS)) {
            return out;
        }
        List<Path> dirs;
        try (Stream<Path> s = Files.list(sandboxes)) {
            dirs = s.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).toList();
        }
        for (Path sb : dirs) {
            // The host side of the work directory: the root's skeleton is made in a tmpfs over it, in
            // the holder's namespace; links planted here must not be followed.
            out.add(sb.resolve("root"));
            for (Map.Entry<String, List<String>> e : NAMES.entrySet()) {
                Path dir = e.getKey().isEmpty() ? sb : sb.resolve(e.getKey());
                e.getValue().forEach(n -> out.add(dir.resolve(n)));
            }
        }
        return out;
    }

    /** Creates a link only where nothing is (never removing anything): true when it was planted. */
    private static boolean plant(Path at, Path to) {
        try {
            // Only inside real directories: never through a link the racer made itself.
            if (!Files.isDirectory(at.getParent(), LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
            Files.createSymbolicLink(at, to);
            return true;
        } catch (FileAlreadyExistsException | NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    private static SandboxResult.Opened open(EngineHarness engine, Path config) throws Exception {
        return engine.call(id -> new SandboxRequest.Open(id, config.toString(), "debian-test",
                SandboxRequest.Network.ISOLATED), SandboxResult.Opened.class);
    }

    private static void close(EngineHarness engine, SandboxResult.Opened s) throws Exception {
        engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), false), SandboxResult.Closed.class);
    }

    private static String sha256(String s) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)))
                .substring(0, 24);
    }
}
