package org.saferebuild.engine.nix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The allow-list of Nix settings an engine's settings file may pass to nix (docs/security.md, docs/remote.md). */
class NixOptionsTest {
    @Test
    void remoteBuildersInNixConfsFormatAreAccepted() {
        String two = "ssh-ng://builder@build1 x86_64-linux /etc/nix/builder_key 8 2 big-parallel,kvm - "
                + "c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSU9NcXFua1Z6cm0wU2RHNlVPb3FLTHNhYmdINUM5b2tXaTBkaDJsK0dtS2k=; "
                + "ssh://root@[fd00::2] aarch64-linux";
        assertThat(NixOptions.validate(Map.of("builders", two, "builders-use-substitutes", "true", "max-jobs", "0")))
                .containsEntry("builders", two).containsEntry("max-jobs", "0");
        assertThat(NixOptions.validate(Map.of("builders", "@/etc/nix/machines"))).containsKey("builders");
        assertThat(NixOptions.validate(Map.of("builders", ""))).containsEntry("builders", "");
    }

    @Test
    void anythingElseMakesTheSettingsUnusable() {
        for (String bad : new String[] {"http://build1 x86_64-linux", "ssh://b1 x86_64-linux\n/etc/shadow",
                "ssh://b1 x86_64-linux $(touch /x)", "@relative/machines", "ssh://b1;rm -rf /"}) {
            assertThatThrownBy(() -> NixOptions.validate(Map.of("builders", bad)))
                    .as(bad).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("builders cannot be");
        }
        assertThatThrownBy(() -> NixOptions.validate(Map.of("builders-use-substitutes", "yes")))
                .hasMessageContaining("builders-use-substitutes cannot be");
        assertThatThrownBy(() -> NixOptions.validate(Map.of("substituters", "https://evil.example")))
                .hasMessageContaining("is not a setting the engine passes");
    }
}
