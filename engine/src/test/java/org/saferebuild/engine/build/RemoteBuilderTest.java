package org.saferebuild.engine.build;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.demo.DemoSystem.Variant;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Mounts;
import org.saferebuild.engine.testing.RemoteMachine;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.NixRequest;
import org.saferebuild.protocol.NixResult;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxRequest.Network;
import org.saferebuild.protocol.SandboxResult;

/**
 * Nix's distributed builds from inside the sandbox (docs/remote.md, "Build host and remote
 * builders"): the engine's settings name a second machine as a builder ({@code builders},
 * {@code max-jobs = 0}), and a build in a sandbox with the network shared runs there over ssh.
 * Nix 2.8's build hook starts ssh in a child that enters the mount namespace again (setns); under
 * a chroot that child landed outside the sandbox and could not find the host key nix had just
 * written to its /tmp. With the sandbox as the namespace's root it finds it.
 */
@Tag("root")
@Tag("nix")
class RemoteBuilderTest {

    @Test
    void aBuildInTheSandboxRunsOnARemoteBuilderOverSsh() throws Exception {
        List<String> hostBefore = Mounts.hostTable();
        // The builder's key must be readable inside the sandbox: debian-test binds /var read-only (on
        // NixOS, /etc/nix is bound, where such a key usually is). The sandbox's /tmp is its own.
        Path keys = Files.createTempDirectory(Path.of("/var/tmp"), "sandbox-builder-key-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try (RemoteMachine builder = RemoteMachine.start("builder")) {
            Path key = Files.copy(builder.operatorKey(), keys.resolve("id_ed25519"));
            DemoSystem demo = DemoSystem.install(EngineHarness.privateBase().resolve("demo"));
            Map<String, String> nixOptions = new TreeMap<>(DemoSystem.NIX_OPTIONS);
            nixOptions.put("builders", "ssh://root@" + builder.address() + " " + system() + " " + key + " 1 1 - - "
                    + builder.hostKeyBase64());
            nixOptions.put("max-jobs", "0"); // every derivation is built on the builder
            EngineHarness.Builder b = EngineHarness.builder();
            demo.settings().forEach(b::set);
            try (EngineHarness engine = b.set("nixOptions", nixOptions).start()) {
                engine.handshake();
                // An isolated sandbox cannot reach a builder: the network must be shared.
                SandboxResult.Opened s = engine.call(id -> new SandboxRequest.Open(id,
                        demo.configDir(Variant.UPDATE).toString(), "debian-test", Network.SHARED),
                        SandboxResult.Opened.class);
                List<Event> events = new CopyOnWriteArrayList<>();
                NixResult.Built built = engine.send(id -> new NixRequest.Build(id, s.sandbox(), "BearsiMac"))
                        .onEvent(events::add).result(NixResult.Built.class, Duration.ofMinutes(10));

                assertThat(built.built()).isPositive();
                assertThat(Path.of(built.storePath())).isDirectory();
                // Built there, copied back here: the builder's own store has the system too.
                assertThat(builder.storeHas(built.storePath())).as("the builder's store has %s", built.storePath())
                        .isTrue();
                String log = Files.readString(Path.of(built.logFile()));
                assertThat(log).contains("on 'ssh://root@" + builder.address() + "'")
                        .doesNotContain("host-key': No such file or directory");
                log.lines().filter(l -> l.contains("ssh://")).limit(3).forEach(l -> System.out.println("build log: " + l));
                engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), false), SandboxResult.Closed.class);
            }
        } finally {
            EngineHarness.removeTree(keys);
        }
        assertThat(Mounts.hostTable()).isEqualTo(hostBefore);
    }

    private static String system() {
        String arch = System.getProperty("os.arch");
        return arch.equals("amd64") || arch.equals("x86_64") ? "x86_64-linux" : arch + "-linux";
    }
}
