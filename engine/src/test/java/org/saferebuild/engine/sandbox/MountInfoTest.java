package org.saferebuild.engine.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.saferebuild.protocol.SandboxResult;

class MountInfoTest {
    private static final List<String> SAMPLE = List.of(
            "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard",
            "90 27 254:0 /srv/sb/root /srv/sb/root rw,relatime - ext4 /dev/vda rw",
            "91 90 254:0 /nix /srv/sb/root/nix rw,relatime - ext4 /dev/vda rw",
            "92 90 254:0 /home/bear/my\\040config /srv/sb/root/etc/nixos ro,relatime master:3 - ext4 /dev/vda rw",
            "93 90 0:55 / /srv/sb/root/tmp rw,nosuid,nodev,relatime - tmpfs tmpfs rw,mode=1777",
            "94 27 0:56 / /srv/sb/rootless rw - tmpfs tmpfs rw");

    @Test
    void parsesFieldsEscapesAndPropagation() {
        List<MountInfo.Line> lines = MountInfo.parse(SAMPLE);
        assertThat(lines).hasSize(6);
        MountInfo.Line etc = lines.get(3);
        assertThat(etc.root()).isEqualTo("/home/bear/my config");
        assertThat(etc.readOnly()).isTrue();
        assertThat(etc.propagation()).isEqualTo("master:3");
        assertThat(lines.get(0).propagation()).isEqualTo("shared:1");
        assertThat(lines.get(4).fsType()).isEqualTo("tmpfs");
        assertThat(lines.get(4).readOnly()).isFalse();
    }

    @Test
    void theTreeIsWhatIsAtOrBelowTheRootRelativeToIt() {
        List<SandboxResult.Mount> tree = MountInfo.forProtocol(MountInfo.parse(SAMPLE), "/srv/sb/root");
        // "/srv/sb/rootless" shares a prefix but is not below the root.
        assertThat(tree).extracting(SandboxResult.Mount::mountPoint).containsExactly("/", "/nix", "/etc/nixos", "/tmp");
        assertThat(tree.get(2).propagation()).isEqualTo("master:3");
        assertThat(tree.get(1).propagation()).isEqualTo("private");
    }

    @Test
    void fstabLinesEscapeBlanks() {
        assertThat(SandboxManager.fstabLine("/home/bear/my config", "/w/root/etc/nixos", "none", "bind,ro"))
                .isEqualTo("/home/bear/my\\040config /w/root/etc/nixos none bind,ro 0 0");
        assertThat(MountInfo.unescape("/a\\040b\\134c")).isEqualTo("/a b\\c");
    }
}
