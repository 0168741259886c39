package org.saferebuild.engine.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.sandbox.BindPlan.Entry;
import org.saferebuild.engine.sandbox.BindPlan.Type;

class BindPlanTest {

    private static Entry entry(BindPlan plan, String target) {
        return plan.entries().stream().filter(e -> e.target().equals(target)).findFirst().orElseThrow();
    }

    @Test
    void theNixosPlanIsTheRunbooksListCorrected() throws IOException {
        BindPlan p = BindPlan.load("nixos");
        assertThat(p.entries()).extracting(Entry::target).contains("/nix", "/etc/nixos", "/etc/nix", "/etc/static",
                "/var", "/run", "/run/systemd", "/bin", "/usr", "/proc", "/sys", "/dev", "/tmp");
        // Only the store and the private scratch space are writable.
        assertThat(p.entries()).filteredOn(e -> e.type() == Type.BIND && !e.readOnly())
                .extracting(Entry::target).containsExactly("/nix");
        assertThat(entry(p, "/etc/nixos").source()).isEqualTo("${configDir}");
        assertThat(entry(p, "/etc/nixos").resolvedSource("/etc/nixos")).isEqualTo("/etc/nixos");
        assertThat(entry(p, "/run/systemd").optional()).isTrue();
        assertThat(entry(p, "/run").optional()).isFalse();
        assertThat(entry(p, "/tmp").type()).isEqualTo(Type.TMPFS);
        assertThat(p.tools().get("nix")).first().isEqualTo("/run/current-system/sw/bin/nix");
        assertThat(p.entries()).allSatisfy(e -> assertThat(e.why()).isNotBlank());
    }

    @Test
    void theDebianTestPlanGivesAShellAndDebiansNix() throws IOException {
        BindPlan p = BindPlan.load("debian-test");
        assertThat(entry(p, "/usr").readOnly()).isTrue();
        assertThat(entry(p, "/bin").type()).isEqualTo(Type.SYMLINK);
        assertThat(entry(p, "/bin").source()).isEqualTo("usr/bin");
        assertThat(p.tools().get("nix")).containsExactly("/usr/bin/nix");
        assertThat(p.env()).containsEntry("HOME", "/tmp/home");
        // Debian's nix-bin installs no /etc/nix; a fresh machine has no /nix until Nix is set up.
        assertThat(entry(p, "/etc/nix").optional()).isTrue();
        assertThat(entry(p, "/etc/nix").ifAbsent()).contains("built-in defaults");
        assertThat(entry(p, "/nix").optional()).isFalse();
        assertThat(entry(p, "/nix").ifAbsent()).contains("nixbld group").contains("nix-store --init");
    }

    @Test
    void anOptionalSourceMustSayWhatHappensWithoutIt() {
        assertThatThrownBy(() -> new Entry(Type.BIND, "/etc/x", "/etc/x", true, true, null, "x", null))
                .hasMessageContaining("must say what happens without it");
    }

    @Test
    void unknownPlansAndEscapingLinksAreRefused() {
        assertThatThrownBy(() -> BindPlan.load("../../etc/passwd")).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> BindPlan.load("nope")).isInstanceOf(IOException.class).hasMessage("no plan named nope");
        assertThatThrownBy(() -> new Entry(Type.SYMLINK, "/etc", "/bin", false, false, null, "x", null))
                .hasMessageContaining("must be relative");
        assertThatThrownBy(() -> new Entry(Type.SYMLINK, "../x", "/bin", false, false, null, "x", null))
                .hasMessageContaining("stay inside the root");
    }
}
