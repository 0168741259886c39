package org.saferebuild.engine.fresh;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Mounts;

/**
 * Issue 9: a user's own /etc/nix/nix.conf is never rewritten or silently changed. The machine's
 * set-up (script/lib/common.sh ensure_nix_setup, what script/test and script/demo run), a demo
 * installation and a real build through the engine all run with a nix.conf that turns Nix's
 * sandbox on (which the demo's builders cannot use); the demo's own settings are passed on nix's
 * command line, so the build works, and the file is the same byte for byte, with the same
 * modification time, and nothing is added beside it.
 *
 * <p>The machine's real /etc is never touched: the run happens in a private mount namespace
 * whose /etc is a private copy holding the user's nix.conf.
 */
@Tag("root")
@Tag("nix")
class UsersNixConfTest {
    private static final String USERS_NIX_CONF = """
            # My own Nix settings. Safe Rebuild must leave this file alone.
            sandbox = true
            build-users-group = nixbld
            max-jobs = 3
            """;

    @Test
    void aUsersNixConfIsLeftByteForByteAsItWasAndTheDemoStillBuilds() throws Exception {
        List<String> hostMounts = Mounts.hostTable();
        Path base = EngineHarness.privateBase();
        Path etc = base.resolve("etc");
        run(List.of("cp", "-a", "/etc", etc.toString()), base.resolve("cp.log"), 60);
        Path nixDir = etc.resolve("nix");
        Files.createDirectories(nixDir);
        try (Stream<Path> old = Files.list(nixDir)) {
            for (Path p : old.toList()) {
                Files.delete(p);
            }
        }
        Path conf = nixDir.resolve("nix.conf");
        Files.writeString(conf, USERS_NIX_CONF);
        byte[] bytesBefore = Files.readAllBytes(conf);
        BasicFileAttributes before = Files.readAttributes(conf, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        List<String> entriesBefore = entries(nixDir);

        Path repo = repoRoot();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // mount(8) and the set-up script are the real ones; the argv is fixed, the paths are passed as arguments.
        String script = "mount --bind \"$1\" /etc && cd \"$2\" && bash -euc '. script/lib/common.sh; ensure_nix_setup'"
                + " && exec \"$3\" -cp \"$4\" " + UsersNixConfProbe.class.getName() + " \"$5\"";
        Path out = base.resolve("probe.out");
        int exit = run(List.of("unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh",
                etc.toString(), repo.toString(), java, System.getProperty("java.class.path"), base.toString()),
                out, 600);
        String probe = Files.readString(out, StandardCharsets.UTF_8);

        assertThat(exit).as("probe output:%n%s", probe).isZero();
        assertThat(probe).as("nix read the user's file").contains("max-jobs: 3");
        assertThat(probe).contains("preflight nix configuration: PASS nix reads /etc/nix/nix.conf; Safe Rebuild never"
                + " changes it. The engine passes its own settings to nix on the command line: build-users-group = \"\", sandbox = false.");
        assertThat(probe).contains("preflight nix build users: PASS nix builds as root (build-users-group is empty).");
        assertThat(probe).as("the user's /etc/nix is in the sandbox, read-only").contains("mount /etc/nix: ro");
        assertThat(probe).containsPattern("built: /nix/store/[a-z0-9]{32}-nixos-system-BearsiMac-");
        assertThat(probe).contains("engine exit: 0");

        assertThat(Files.readAllBytes(conf)).as("nix.conf, byte for byte").isEqualTo(bytesBefore);
        BasicFileAttributes after = Files.readAttributes(conf, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        assertThat(after.lastModifiedTime()).isEqualTo(before.lastModifiedTime());
        assertThat(after.fileKey()).as("the same file, not a replacement").isEqualTo(before.fileKey());
        assertThat(entries(nixDir)).as("nothing added beside it").isEqualTo(entriesBefore);
        assertThat(Mounts.hostTable()).as("the namespace's mounts stayed in it").isEqualTo(hostMounts);
    }

    private static List<String> entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** The checkout: the directory above the engine module this test runs in. */
    private static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("script/lib/common.sh"))) {
            p = p.getParent();
        }
        assertThat(p).as("the repository root above %s", Path.of("").toAbsolutePath()).isNotNull();
        return p;
    }

    private static int run(List<String> argv, Path output, int seconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        p.getOutputStream().close();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", argv.subList(0, 3)) + " did not finish in " + seconds + " s: "
                    + Files.readString(output));
        }
        return p.exitValue();
    }
}
