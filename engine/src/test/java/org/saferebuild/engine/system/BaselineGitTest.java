package org.saferebuild.engine.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * The configuration backup of a git work tree that belongs to an ordinary user (a flake in the
 * operator's home): the commit and whether the tree is dirty are recorded, links are recorded and
 * not followed, and the repository's own configuration cannot make git run a program as root.
 */
@Tag("root")
class BaselineGitTest {
    private static final int NOBODY = 65534;

    private Path outside;
    private Path repo;
    private Path marker;
    private EngineHarness engine;

    private static String run(Path dir, String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0).as(String.join(" ", argv) + ": " + out)
                .isTrue();
        return out;
    }

    @BeforeEach
    void setUp() throws Exception {
        // The repository must be reachable by its owner, so it lives outside the root-only test base.
        outside = Files.createTempDirectory("safe-rebuild-git-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> EngineHarness.removeTree(outside)));
        repo = Files.createDirectory(outside.resolve("nixos"));
        marker = outside.resolve("fsmonitor-ran-as-root");
        Files.writeString(repo.resolve("flake.nix"), "{ outputs = { self }: { }; }\n");
        Files.writeString(repo.resolve("configuration.nix"), "{ services.field.chakra.enable = true; }\n");
        Files.createSymbolicLink(repo.resolve("result"), Path.of("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-x"));
        run(repo, "git", "init", "-q", "-b", "main");
        run(repo, "git", "-c", "user.name=Bear", "-c", "user.email=bear@example.invalid", "add", "flake.nix",
                "configuration.nix");
        run(repo, "git", "-c", "user.name=Bear", "-c", "user.email=bear@example.invalid", "commit", "-q", "-m", "base");
        Path hook = outside.resolve("fsmonitor.sh");
        Files.writeString(hook, "#!/bin/sh\ntouch " + marker + "\n");
        hook.toFile().setExecutable(true, false);
        // What a hostile repository could say: run this program whenever git looks at the tree.
        run(repo, "git", "config", "core.fsmonitor", hook.toString());
        run(repo, "chown", "-R", NOBODY + ":" + NOBODY, repo.toString());

        engine = EngineHarness.builder().set("configDirs", List.of(repo.toString())).start();
        engine.handshake();
    }

    @AfterEach
    void tearDown() throws Exception {
        engine.close();
    }

    @Test
    void commitAndDirtinessAreRecordedWithoutRunningTheRepositorysPrograms() throws Exception {
        String head = run(repo, "git", "-c", "safe.directory=*", "-c", "core.fsmonitor=false", "rev-parse", "HEAD");
        SystemResult.Baseline clean = engine.call(id -> new SystemRequest.Baseline(id, repo.toString()),
                SystemResult.Baseline.class);
        assertThat(clean.backup().gitCommit()).isEqualTo(head);
        assertThat(clean.backup().notes()).isEmpty();
        assertThat(clean.backup().gitDirty()).isFalse();
        assertThat(marker).doesNotExist();

        // The link is recorded as a link; nothing of /nix/store is copied.
        var manifest = Json.mapper().readTree(Path.of(clean.backup().manifest()).toFile()).get("files");
        assertThat(manifest.findValuesAsText("path")).containsExactlyInAnyOrder("flake.nix", "configuration.nix",
                "result");
        assertThat(manifest.findValuesAsText("link")).containsExactly("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-x");
        assertThat(Path.of(clean.backup().dir()).resolve(".git")).doesNotExist();

        Files.writeString(repo.resolve("configuration.nix"), "{ services.field.chakra.enable = false; }\n");
        SystemResult.Baseline dirty = engine.call(id -> new SystemRequest.Baseline(id, repo.toString()),
                SystemResult.Baseline.class);
        assertThat(dirty.backup().gitDirty()).isTrue();
        assertThat(dirty.backup().treeSha256()).isNotEqualTo(clean.backup().treeSha256());
        assertThat(Files.readString(Path.of(dirty.backup().dir(), "configuration.nix"))).contains("enable = false");
        assertThat(Files.readString(Path.of(clean.backup().dir(), "configuration.nix"))).contains("enable = true");
        assertThat(marker).doesNotExist();
    }
}
