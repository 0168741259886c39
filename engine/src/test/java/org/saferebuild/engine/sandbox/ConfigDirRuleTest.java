package org.saferebuild.engine.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Mounts;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.NixRequest;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;
import org.saferebuild.protocol.SystemRequest;

/**
 * One rule for a configuration directory, applied by every operation that names one (issue 11): an
 * allowed directory replaced by a link, or reached through a link above it, is refused alike by
 * preflight, sandbox.open, validate and baseline; nothing of the other tree is ever bound.
 */
@Tag("root")
class ConfigDirRuleTest {

    @Test
    void anAllowedDirectoryReplacedByALinkIsRefusedByEveryOperation() throws Exception {
        Path base = EngineHarness.privateBase();
        Path config = Files.createDirectories(base.resolve("config"));
        Files.writeString(config.resolve("configuration.nix"), "{ allowed = true; }\n");
        Path other = Files.createDirectories(base.resolve("other"));
        Files.writeString(other.resolve("configuration.nix"), "{ other = true; }\n");
        List<String> hostBefore = Mounts.hostTable();
        try (EngineHarness engine = EngineHarness.builder().base(base).env("SUDO_UID", "0")
                .set("configDirs", List.of(config.toString())).start()) {
            engine.handshake();
            SandboxResult.Opened s = open(engine, config);

            // Someone replaces the allowed directory with a link to another tree.
            Files.move(config, base.resolve("config.moved"));
            Files.createSymbolicLink(config, other);
            refusedAlike(engine, config, s.sandbox(), config + " is a link");
            engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), true), SandboxResult.Closed.class);
            assertThat(Mounts.below(Mounts.table(ProcessHandle.current().pid()), other)).isEmpty();
        }
        assertThat(Mounts.hostTable()).isEqualTo(hostBefore);
    }

    @Test
    void aLinkAboveTheAllowedDirectoryIsRefusedToo() throws Exception {
        Path base = EngineHarness.privateBase();
        Path real = Files.createDirectories(base.resolve("real/config"));
        Files.writeString(real.resolve("configuration.nix"), "{ }\n");
        Files.createSymbolicLink(base.resolve("via"), base.resolve("real"));
        Path config = base.resolve("via/config");
        try (EngineHarness engine = EngineHarness.builder().base(base).env("SUDO_UID", "0")
                .set("configDirs", List.of(config.toString())).start()) {
            engine.handshake();
            refusedAlike(engine, config, null, base.resolve("via") + " is a link in the path of " + config);
        }
    }

    /** preflight, sandbox.open, validate (on an open sandbox) and baseline give the same refusal. */
    private static void refusedAlike(EngineHarness engine, Path config, String sandbox, String why) throws Exception {
        List<LongFunction<Request>> ops = new java.util.ArrayList<>(List.of(
                id -> new Request.Preflight(id, config.toString()),
                id -> new SandboxRequest.Open(id, config.toString(), "debian-test", SandboxRequest.Network.ISOLATED),
                id -> new SystemRequest.Baseline(id, config.toString())));
        if (sandbox != null) {
            ops.add(id -> new NixRequest.Validate(id, sandbox, null));
        }
        for (LongFunction<Request> op : ops) {
            Event.Failure f = engine.fail(op);
            assertThat(f.code()).as(f.message()).isEqualTo(ProblemCode.NOT_AUTHORIZED);
            assertThat(f.message()).contains(why).contains("never through a link, for every operation");
            assertThat(f.fix()).contains("configDirs");
        }
        try (var s = Files.list(engine.stateDir().resolve("sandboxes"))) {
            assertThat(s.filter(p -> Files.isDirectory(p) && !p.getFileName().toString().equals(sandbox)))
                    .as("no other sandbox was opened").isEmpty();
        } catch (java.nio.file.NoSuchFileException e) {
            // none at all
        }
        assertThat(engine.stateDir().resolve("backups")).as("nothing was backed up").doesNotExist();
    }

    private static SandboxResult.Opened open(EngineHarness engine, Path config) throws Exception {
        return engine.call(id -> new SandboxRequest.Open(id, config.toString(), "debian-test",
                SandboxRequest.Network.ISOLATED), SandboxResult.Opened.class);
    }
}
