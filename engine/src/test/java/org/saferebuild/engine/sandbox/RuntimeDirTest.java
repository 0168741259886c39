package org.saferebuild.engine.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;

/**
 * The sandboxes' work directories and locks live in the runtime directory (settings: runtimeDir;
 * /run/safe-rebuild by default, a tmpfs on NixOS), not beside the state; work directories an
 * earlier engine left in the state directory are still removed.
 */
@Tag("root")
class RuntimeDirTest {
    private Path base;

    @AfterEach
    void clean() {
        if (base != null) {
            EngineHarness.removeTree(base);
        }
    }

    @Test
    void theDefaultsPutTheRuntimeDirectoryInRunUnlessOnlyTheStateDirectoryIsSet() {
        EngineConfig nixos = EngineConfig.defaults();
        assertThat(nixos.runtime()).isEqualTo(Path.of("/run/safe-rebuild"));
        assertThat(nixos.state()).isEqualTo(Path.of("/var/lib/safe-rebuild"));
        EngineConfig ownState = new EngineConfig(null, null, "/srv/sr-state", null, null, null, null, null, null, null,
                null, null, null, null, null, null);
        assertThat(ownState.runtime()).as("a test or the demo keeps everything in its own place")
                .isEqualTo(Path.of("/srv/sr-state"));
    }

    @Test
    void workDirectoriesAndLocksAreInTheRuntimeDirectoryAndGoWithTheSandbox() throws Exception {
        base = EngineHarness.privateBase();
        Path config = Files.createDirectories(base.resolve("config"));
        Files.writeString(config.resolve("configuration.nix"), "{ }\n");
        Path run = base.resolve("run");
        Path state = base.resolve("state");
        // A work directory an engine before runtimeDir left in the state directory when it was killed.
        Path earlier = Files.createDirectories(state.resolve("sandboxes").resolve("sb-leftover0000"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwx------"));
        try (EngineHarness engine = EngineHarness.builder().base(base).set("configDirs", List.of(config.toString()))
                .set("runtimeDir", run.toString()).start()) {
            engine.handshake();
            assertThat(earlier).as("swept at start").doesNotExist();
            SandboxResult.Opened s = engine.call(id -> new SandboxRequest.Open(id, config.toString(), "debian-test",
                    SandboxRequest.Network.ISOLATED), SandboxResult.Opened.class);
            Path work = Path.of(s.workDir());
            assertThat(work.getParent()).isEqualTo(run.resolve("sandboxes"));
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(run, LinkOption.NOFOLLOW_LINKS)))
                    .isEqualTo("rwx------");
            try (var locks = Files.list(run.resolve("locks"))) {
                assertThat(locks.map(p -> p.getFileName().toString())).anyMatch(n -> n.startsWith("config-"));
            }
            SandboxResult.Closed c = engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), false),
                    SandboxResult.Closed.class);
            assertThat(c.workDirRemoved()).isTrue();
            assertThat(work).doesNotExist();
        }
    }
}
