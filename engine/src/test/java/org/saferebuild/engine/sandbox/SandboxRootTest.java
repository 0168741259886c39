package org.saferebuild.engine.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.sandbox.BindPlan.Entry;
import org.saferebuild.engine.sandbox.BindPlan.Type;

/** The plan turned into the steps that build a sandbox's root (no root needed: nothing is mounted). */
class SandboxRootTest {

    @Test
    void theSkeletonComesBeforeTheMountsParentsFirstAndNothingInsideABind() throws IOException {
        List<Entry> entries = BindPlan.load("debian-test").entries();
        List<SandboxRoot.Step> steps = SandboxRoot.steps(entries, "/srv/config");
        List<String> skeleton = steps.stream().filter(s -> !(s instanceof SandboxRoot.Mount))
                .map(s -> s.getClass().getSimpleName() + " " + s.path()).toList();
        // /etc is made once, before what is in it; /etc/passwd is a file (its source is one); the
        // plan's links are links; /run/systemd and /dev/pts are inside binds that bring them.
        assertThat(skeleton).containsSubsequence("Dir etc", "Dir etc/nixos", "File etc/passwd");
        assertThat(skeleton).contains("Dir nix", "Dir usr", "Link bin", "Dir proc", "Dir dev", "Dir tmp")
                .doesNotContain("Dir run/systemd", "Dir dev/pts", "Dir dev/shm").doesNotHaveDuplicates();
        assertThat(steps.stream().filter(s -> s instanceof SandboxRoot.Link).map(s -> ((SandboxRoot.Link) s).target()))
                .contains("usr/bin", "usr/lib64");
        int firstMount = steps.indexOf(steps.stream().filter(s -> s instanceof SandboxRoot.Mount).findFirst()
                .orElseThrow());
        assertThat(steps.subList(firstMount, steps.size())).allMatch(s -> s instanceof SandboxRoot.Mount);
        // The mounts keep the plan's order: /run before /run/systemd, /dev before /dev/pts.
        List<String> mounts = steps.subList(firstMount, steps.size()).stream()
                .map(s -> ((SandboxRoot.Mount) s).target()).toList();
        assertThat(mounts).containsSubsequence("/nix", "/etc/nixos", "/run", "/run/systemd", "/dev", "/dev/pts",
                "/tmp");
    }

    @Test
    void eachEntryBecomesItsMountCallWithTheFlagsThePlanSays() {
        long hardened = MountCalls.MS_NOSUID | MountCalls.MS_NODEV | MountCalls.MS_NOEXEC;
        SandboxRoot.Mount config = SandboxRoot.mount(
                new Entry(Type.BIND, "${configDir}", "/etc/nixos", true, false, null, "x", null), "/srv/config");
        assertThat(config).isEqualTo(new SandboxRoot.Mount("etc/nixos", "/etc/nixos", "/srv/config", null,
                MountCalls.MS_RDONLY, null, true));
        assertThat(config.whatOn()).isEqualTo("bind /srv/config on");
        SandboxRoot.Mount store = SandboxRoot.mount(new Entry(Type.BIND, "/nix", "/nix", false, false, null, "x", null),
                "/srv/config");
        assertThat(store.flags()).as("a writable bind is not remounted").isZero();
        // proc: the one unshare made for the sandbox's PID namespace, bound from the holder's root.
        SandboxRoot.Mount proc = SandboxRoot.mount(new Entry(Type.PROC, null, "/proc", false, false, null, "x", null),
                "/srv/config");
        assertThat(proc.bind()).isTrue();
        assertThat(proc.source()).isEqualTo("/proc");
        assertThat(proc.flags()).isEqualTo(hardened);
        SandboxRoot.Mount sys = SandboxRoot.mount(new Entry(Type.SYSFS, null, "/sys", true, false, null, "x", null),
                "/srv/config");
        assertThat(sys.flags()).isEqualTo(hardened | MountCalls.MS_RDONLY);
        SandboxRoot.Mount tmp = SandboxRoot.mount(new Entry(Type.TMPFS, null, "/tmp", false, false, "mode=1777", "x",
                null), "/srv/config");
        assertThat(tmp.type()).isEqualTo("tmpfs");
        assertThat(tmp.data()).isEqualTo("mode=1777");
        assertThat(tmp.flags()).isEqualTo(MountCalls.MS_NOSUID | MountCalls.MS_NODEV);
        SandboxRoot.Mount pts = SandboxRoot.mount(new Entry(Type.DEVPTS, null, "/dev/pts", false, false, null, "x",
                null), "/srv/config");
        assertThat(pts.data()).isEqualTo("newinstance,ptmxmode=0666,mode=0620");
        assertThat(pts.path()).isEqualTo("dev/pts");
    }

    @Test
    void aBindTakesFlagsOnlyNeverDataForTheKernel() {
        assertThatThrownBy(() -> SandboxRoot.mount(new Entry(Type.BIND, "/usr", "/usr", true, false, "ro,mode=0777",
                "x", null), "/srv/config")).hasMessageContaining("takes only ro, nosuid, nodev, noexec");
        SandboxRoot.Mount usr = SandboxRoot.mount(new Entry(Type.BIND, "/usr", "/usr", false, false, "ro,nosuid", "x",
                null), "/srv/config");
        assertThat(usr.flags()).isEqualTo(MountCalls.MS_RDONLY | MountCalls.MS_NOSUID);
    }
}
