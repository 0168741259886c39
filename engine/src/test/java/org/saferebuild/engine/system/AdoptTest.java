package org.saferebuild.engine.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.demo.DemoSystem.Variant;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Nix;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemResult;

/**
 * system.adopt: a system that is in the store but that this engine did not build (as after
 * {@code nix copy} from a build machine) can be applied only after it was adopted with the NAR
 * hash the builder reported; each refusal changes nothing. The remote tests (cli module) copy a
 * system into a second store for real; here the path comes from a build on the host, which is the
 * same situation for the engine: a valid store path without a GC root of its own.
 */
@Tag("root")
@Tag("nix")
class AdoptTest {
    private DemoFixture fx;

    @BeforeEach
    void install() throws Exception {
        fx = DemoFixture.install();
    }

    @AfterEach
    void stop() throws Exception {
        fx.close();
    }

    @Test
    void anAdoptedSystemCanBeAppliedAndOnlyWithTheBuildersHash() throws Exception {
        String update = fx.demo.buildOnHost(Variant.UPDATE);
        String hash = Nix.run("/usr/bin/nix-store", "--query", "--hash", update);
        EngineHarness engine = fx.start();

        // Not adopted yet: apply refuses it and says how to get it accepted.
        Event.Failure refused = engine.fail(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 30));
        assertThat(refused.code()).isEqualTo(ProblemCode.INVALID_ARGUMENT);
        assertThat(refused.message()).contains("nor adopted", "system.adopt");

        // Someone else's build of the same name: the hash the operator's builder reported differs.
        String other = fx.demo.buildOnHost(Variant.KERNEL);
        String otherHash = Nix.run("/usr/bin/nix-store", "--query", "--hash", other);
        Event.Failure wrong = engine.fail(id -> new SystemRequest.Adopt(id, update, otherHash));
        assertThat(wrong.code()).isEqualTo(ProblemCode.INVALID_ARGUMENT);
        assertThat(wrong.message()).contains("is not the one you built", hash, otherHash);
        assertThat(Files.exists(fx.demo.stateDir().resolve("gcroots/adopted").resolve(Path.of(update).getFileName())))
                .isFalse();

        SystemResult.Adopted adopted = engine.call(id -> new SystemRequest.Adopt(id, update, hash),
                SystemResult.Adopted.class);
        assertThat(adopted.alreadyKept()).isFalse();
        assertThat(adopted.root()).isEqualTo(fx.demo.stateDir().resolve("gcroots/adopted")
                .resolve(Path.of(update).getFileName()).toString());
        assertThat(Files.readSymbolicLink(Path.of(adopted.root())).toString()).isEqualTo(update);
        assertThat(Nix.roots(update)).anySatisfy(r -> assertThat(r).startsWith(adopted.root()));
        assertThat(adopted.nixosVersion()).isNotBlank();
        assertThat(adopted.closurePaths()).isGreaterThan(3);

        // Adopting again changes nothing; applying now works.
        assertThat(engine.call(id -> new SystemRequest.Adopt(id, update, hash), SystemResult.Adopted.class)
                .alreadyKept()).isTrue();
        SystemResult.Applied applied = engine.call(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 30),
                SystemResult.Applied.class);
        assertThat(fx.running()).isEqualTo(update);
        engine.call(SystemRequest.Confirm::new, SystemResult.Confirmed.class);
        assertThat(applied.generationAfter()).isEqualTo(2);

        // Both the refusal and the adoption are in the audit trail.
        assertThat(fx.audit()).filteredOn(a -> "system.adopt".equals(a.what())).hasSize(3);
    }

    @Test
    void onlyANixosShapedCompleteSystemThatIsInTheStoreIsAdopted() throws Exception {
        EngineHarness engine = fx.start();
        // A valid store path with a switch script but none of a NixOS system's etc/ and sw/.
        String bare = Nix.addToplevel(fx.base, "bare-system", "24.05", "6.6.1");
        String bareHash = Nix.run("/usr/bin/nix-store", "--query", "--hash", bare);
        Event.Failure notNixos = engine.fail(id -> new SystemRequest.Adopt(id, bare, bareHash));
        assertThat(notNixos.code()).isEqualTo(ProblemCode.INVALID_ARGUMENT);
        assertThat(notNixos.message()).contains("is not a NixOS system");

        // A path this store does not have (never copied here).
        String absent = "/nix/store/" + "0".repeat(32) + "-nixos-system-BearsiMac-24.05";
        Event.Failure missing = engine.fail(id -> new SystemRequest.Adopt(id, absent, bareHash));
        assertThat(missing.code()).isEqualTo(ProblemCode.NOT_FOUND);
        assertThat(missing.fix()).contains("nix copy --to ssh://");

        assertThat(Files.exists(fx.demo.stateDir().resolve("gcroots/adopted").resolve(Path.of(bare).getFileName())))
                .isFalse();
    }
}
