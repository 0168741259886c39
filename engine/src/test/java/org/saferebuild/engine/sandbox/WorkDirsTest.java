package org.saferebuild.engine.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.ProblemCode;

/**
 * Removing a sandbox's work directory never reaches through a mount in another mount namespace:
 * there rmdir would not refuse a mount point but detach it (Linux 3.18 and later), so the quick
 * way for an empty directory asks that namespace first (docs/security.md).
 */
@Tag("root")
class WorkDirsTest {
    private Path base;
    private Process other;

    @BeforeEach
    void setUp() throws Exception {
        base = EngineHarness.privateBase();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (other != null) {
            other.destroyForcibly();
            other.waitFor(10, TimeUnit.SECONDS);
        }
        EngineHarness.removeTree(base);
    }

    /**
     * A process in a mount namespace of its own (private propagation) that first runs {@code setup}
     * ({@code $0} is {@code arg}) and then waits; its pid once it is ready.
     */
    private long otherNamespace(String setup, String arg) throws Exception {
        other = new ProcessBuilder("/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                setup + "echo ready && exec sleep 60", arg).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(other.getInputStream(), StandardCharsets.UTF_8));
        assertThat(out.readLine()).isEqualTo("ready");
        return other.pid();
    }

    @Test
    void anEmptyDirectoryMountedOnInAnotherNamespaceIsNotRemovedNorDetached() throws Exception {
        Path dir = Files.createDirectory(base.resolve("sb-test"));
        // Another mount namespace, as the holder's was before pivot_root: a tmpfs on the directory.
        long pid = otherNamespace("mount -t tmpfs none \"$0\" && ", dir.toString());

        assertThatThrownBy(() -> WorkDirs.removeSkeleton(dir, List.of(0L, pid)))
                .isInstanceOf(Problem.class)
                .satisfies(e -> assertThat(((Problem) e).code()).isEqualTo(ProblemCode.UNMOUNT_FAILED))
                .hasMessageContaining(dir.toString()).hasMessageContaining("Nothing was deleted");
        assertThat(dir).isDirectory();
        assertThat(Files.readString(Path.of("/proc/" + pid + "/mountinfo")))
                .as("the other namespace keeps its mount").contains(" " + dir + " ");

        other.destroyForcibly();
        other.waitFor(10, TimeUnit.SECONDS);
        // That namespace is gone with its process: nothing is mounted anywhere, the directory goes.
        assertThat(WorkDirs.removeSkeleton(dir, List.of(0L, pid))).isEmpty();
        assertThat(dir).doesNotExist();
    }

    @Test
    void anEmptyDirectoryIsRemovedWhenNoNamespaceHasAMountOnIt() throws Exception {
        Path dir = Files.createDirectory(base.resolve("sb-empty"));
        long pid = otherNamespace("", "sh");

        assertThat(WorkDirs.removeSkeleton(dir, List.of(0L, pid))).isEmpty();
        assertThat(dir).doesNotExist();
    }

    @Test
    void aDirectoryWithAMountBelowItHereIsRefusedAndKept() throws Exception {
        Path dir = Files.createDirectory(base.resolve("sb-below"));
        Path sub = Files.createDirectory(dir.resolve("nix"));
        Process m = new ProcessBuilder("/usr/bin/mount", "-t", "tmpfs", "none", sub.toString()).start();
        assertThat(m.waitFor()).isZero();
        try {
            assertThatThrownBy(() -> WorkDirs.removeSkeleton(dir, List.of(0L, 1L)))
                    .isInstanceOf(Problem.class).hasMessageContaining(sub.toString());
            assertThat(sub).isDirectory();
        } finally {
            assertThat(new ProcessBuilder("/usr/bin/umount", sub.toString()).start().waitFor()).isZero();
        }
        assertThat(WorkDirs.removeSkeleton(dir, List.of(0L, 1L))).isEmpty();
        assertThat(dir).doesNotExist();
    }
}
