package org.saferebuild.engine.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Mounts;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxRequest.Network;
import org.saferebuild.protocol.SandboxResult;

/**
 * The safety promises of issue 2 / docs/security.md, each against the real engine process, real
 * namespaces and real mounts.
 */
@Tag("root")
class SandboxSafetyTest {
    private Path base;
    private Path config;
    private EngineHarness engine;
    private final List<Process> strays = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        base = EngineHarness.privateBase();
        config = Files.createDirectories(base.resolve("config"));
        Files.writeString(config.resolve("configuration.nix"), "{ services.field.chakra.enable = true; }\n");
        engine = EngineHarness.builder().base(base)
                .set("configDirs", List.of(config.toString(), base.resolve("config2").toString()))
                .start();
        engine.handshake();
    }

    @AfterEach
    void stop() throws Exception {
        strays.forEach(Process::destroyForcibly);
        engine.close();
    }

    private SandboxResult.Opened open(Path dir, Network network) throws Exception {
        return engine.call(id -> new SandboxRequest.Open(id, dir.toString(), "debian-test", network),
                SandboxResult.Opened.class);
    }

    private SandboxResult.Closed close(SandboxResult.Opened s) throws Exception {
        return engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), false), SandboxResult.Closed.class);
    }

    @Test
    void theHostMountTableIsTheSameBeforeWhileAndAfter() throws Exception {
        List<String> before = Mounts.hostTable();
        // Our own namespace is the host's, or (in a test overlay, a chroot) one of its own: both stay as they were.
        List<String> ownBefore = Mounts.table(ProcessHandle.current().pid());
        SandboxResult.Opened s = open(config, Network.ISOLATED);
        assertThat(Mounts.hostTable()).as("host mount table while open").isEqualTo(before);
        assertThat(Mounts.table(ProcessHandle.current().pid())).as("our own table while open").isEqualTo(ownBefore);

        // The tree reported is what the kernel shows for the holder, and it is all private.
        SandboxResult.MountTree tree = engine.call(id -> new SandboxRequest.Mounts(id, s.sandbox()),
                SandboxResult.MountTree.class);
        assertThat(tree.mounts()).extracting(SandboxResult.Mount::mountPoint)
                .contains("/nix", "/etc/nixos", "/usr", "/proc", "/sys", "/dev", "/tmp", "/var", "/run");
        // /etc/nix is optional on a Debian test host (nix-bin installs none): bound where the host has it,
        // otherwise skipped with what that means said in the sandbox's log.
        if (Files.isDirectory(Path.of("/etc/nix"))) {
            assertThat(tree.mounts()).extracting(SandboxResult.Mount::mountPoint).contains("/etc/nix");
        } else {
            assertThat(tree.mounts()).extracting(SandboxResult.Mount::mountPoint).doesNotContain("/etc/nix");
            assertThat(engine.events()).filteredOn(e -> e instanceof Event.Log)
                    .flatMap(e -> ((Event.Log) e).lines())
                    .anySatisfy(l -> assertThat(l).contains("optional /etc/nix skipped: /etc/nix does not exist")
                            .contains("built-in defaults"));
        }
        assertThat(tree.mounts()).allSatisfy(m -> assertThat(m.propagation()).isEqualTo("private"));
        // The holder's root is the sandbox's: every line of its table is a mount of the sandbox, and the
        // root itself is a read-only tmpfs that exists only in that namespace.
        assertThat(Mounts.table(s.holderPid())).hasSize(tree.mounts().size());
        SandboxResult.Mount root = tree.mounts().stream().filter(m -> m.mountPoint().equals("/")).findFirst()
                .orElseThrow();
        assertThat(root.fsType()).isEqualTo("tmpfs");
        assertThat(root.readOnly()).isTrue();
        // The host holds only the empty work directory.
        assertThat(Path.of(s.workDir())).isEmptyDirectory();
        SandboxResult.Mount etcNixos = tree.mounts().stream().filter(m -> m.mountPoint().equals("/etc/nixos"))
                .findFirst().orElseThrow();
        assertThat(etcNixos.root()).isEqualTo(config.toString());
        assertThat(etcNixos.readOnly()).isTrue();
        assertThat(tree.mounts().stream().filter(m -> m.mountPoint().equals("/proc")).findFirst().orElseThrow()
                .fsType()).isEqualTo("proc");

        close(s);
        assertThat(Mounts.hostTable()).as("host mount table after close").isEqualTo(before);
        assertThat(Mounts.table(ProcessHandle.current().pid())).as("our own table after close").isEqualTo(ownBefore);
    }

    /**
     * What Nix 2.8's children do (the build hook's ssh, anything that calls restoreMountNamespace):
     * setns to the mount namespace they started in, then look at "/". Entering a mount namespace
     * puts a process at that namespace's root; under a chroot that root was the host's tree, with
     * everything on it (docs/remote.md). It must be the sandbox's own root, and nothing else.
     */
    @Test
    void aProcessThatEntersTheMountNamespaceAsNixDoesSeesOnlyTheSandbox() throws Exception {
        Path hostMarker = base.resolve("host-only-" + System.nanoTime());
        Files.writeString(hostMarker, "on the host, outside the plan\n");
        SandboxResult.Opened s = open(config, Network.ISOLATED);
        assertThat(inside(s, "/bin/sh", "-c", "echo sandbox > /tmp/inside-marker").exit).isZero();
        String[] reenter = {"/usr/bin/nsenter", "--mount=/proc/self/ns/mnt", "--"};

        Result top = inside(s, "/usr/bin/ls", "-a", "/");
        Result topAfterSetns = inside(s, concat(reenter, "/usr/bin/ls", "-a", "/"));
        assertThat(top.exit).isZero();
        assertThat(topAfterSetns.output).as("/ after setns into the sandbox's own mount namespace")
                .isEqualTo(top.output);
        assertThat(inside(s, concat(reenter, "/usr/bin/cat", "/tmp/inside-marker")).output)
                .as("the sandbox's /tmp after setns").isEqualTo("sandbox\n");
        Result host = inside(s, concat(reenter, "/usr/bin/cat", hostMarker.toString()));
        assertThat(host.exit).as("a file of the host outside the plan, after setns: %s", host.output).isNotZero();
        assertThat(host.output).contains("No such file or directory").doesNotContain("outside the plan");
        // Nor before it, nor by climbing above the root.
        assertThat(inside(s, "/usr/bin/cat", hostMarker.toString()).output).contains("No such file or directory");
        assertThat(inside(s, "/bin/sh", "-c", "cd / && cd ../../.. && ls -a").output).isEqualTo(top.output);
        close(s);
    }

    @Test
    void writingIntoAnyReadOnlyBindFromInsideFails() throws Exception {
        SandboxResult.Opened s = open(config, Network.ISOLATED);
        List<SandboxResult.Mount> readOnly = s.mounts().stream().filter(SandboxResult.Mount::readOnly).toList();
        assertThat(readOnly).extracting(SandboxResult.Mount::mountPoint)
                .contains("/", "/etc/nixos", "/usr", "/var", "/run", "/etc/passwd", "/sys", "/dev");
        if (Files.isDirectory(Path.of("/etc/nix"))) {
            assertThat(readOnly).extracting(SandboxResult.Mount::mountPoint).contains("/etc/nix");
        }
        for (SandboxResult.Mount m : readOnly) {
            boolean file = m.mountPoint().equals("/etc/passwd") || m.mountPoint().equals("/etc/group");
            String probe = file ? m.mountPoint() : (m.mountPoint().equals("/") ? "" : m.mountPoint())
                    + "/.safe-rebuild-probe";
            Result r = inside(s, "/usr/bin/touch", probe);
            assertThat(r.exit).as("touch %s inside the sandbox", probe).isNotZero();
            assertThat(r.output).as("touch %s", probe).contains("Read-only file system");
        }
        // The writable ones really are writable, so the probe above is not failing for another reason.
        assertThat(inside(s, "/usr/bin/touch", "/tmp/.probe").exit).isZero();
        assertThat(Files.exists(config.resolve(".safe-rebuild-probe"))).isFalse();
        close(s);
    }

    @Test
    void killingTheEngineWithSigkillLeavesNoHolderAndNoMountWithinASecond() throws Exception {
        SandboxResult.Opened s = open(config, Network.ISOLATED);
        Path work = Path.of(s.workDir());
        assertThat(Mounts.table(s.holderPid())).hasSize(s.mounts().size());
        String ns = Files.readSymbolicLink(Path.of("/proc/" + s.holderPid() + "/ns/mnt")).toString();

        engine.process().destroyForcibly(); // SIGKILL
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < deadline && (ProcessHandle.of(s.holderPid()).isPresent() || !inNs(ns).isEmpty())) {
            Thread.sleep(10);
        }
        assertThat(ProcessHandle.of(s.holderPid())).as("holder gone within 1 s").isEmpty();
        assertThat(inNs(ns)).as("no process left in the sandbox's mount namespace").isEmpty();
        for (long pid : allPids()) {
            List<String> table;
            try {
                table = Mounts.table(pid);
            } catch (IOException e) {
                continue; // exited meanwhile (or a zombie): it has no mount table
            }
            assertThat(Mounts.below(table, work)).as("mounts seen by pid %d", pid).isEmpty();
        }

        // A new engine removes the empty work directory the killed one left behind.
        assertThat(Files.exists(work)).isTrue();
        engine = EngineHarness.builder().base(base).set("configDirs", List.of(config.toString())).start();
        engine.handshake();
        assertThat(Files.exists(work)).isFalse();
        assertThat(config.resolve("configuration.nix")).exists();
    }

    @Test
    void theWorkDirectoryIsFreshPrivateAndNotRedirectedByPlantedLinks() throws Exception {
        // What an unprivileged user could plant: the runbook's own predictable paths.
        Path victim = Files.createDirectories(base.resolve("victim"));
        Path chrootLink = Path.of("/tmp/nixos-chroot");
        Path workLink = Path.of("/tmp/nixos-rebuild-safe");
        boolean planted = false;
        if (!Files.exists(chrootLink, LinkOption.NOFOLLOW_LINKS) && !Files.exists(workLink, LinkOption.NOFOLLOW_LINKS)) {
            Files.createSymbolicLink(chrootLink, victim);
            Files.createSymbolicLink(workLink, victim);
            planted = true;
        }
        try {
            SandboxResult.Opened s = open(config, Network.ISOLATED);
            Path work = Path.of(s.workDir());
            assertThat(work.getParent()).isEqualTo(engine.stateDir().resolve("sandboxes"));
            assertThat(work.getFileName().toString()).matches("sb-[a-z0-9]{12}");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(work, LinkOption.NOFOLLOW_LINKS)))
                    .isEqualTo("rwx------");
            assertThat(Files.getOwner(work, LinkOption.NOFOLLOW_LINKS).getName()).isEqualTo("root");
            assertThat(Files.isSymbolicLink(work)).isFalse();
            try (var v = Files.list(victim)) {
                assertThat(v).as("nothing was made through the planted links").isEmpty();
            }
            for (long pid : new long[] {1, s.holderPid()}) {
                assertThat(Mounts.below(Mounts.table(pid), victim)).isEmpty();
            }
            close(s);
        } finally {
            if (planted) {
                Files.deleteIfExists(chrootLink);
                Files.deleteIfExists(workLink);
            }
        }
        assertThat(victim).isEmptyDirectory();
    }

    @Test
    void aSandboxesDirectoryReplacedByALinkIsRefused() throws Exception {
        Path victim = Files.createDirectories(base.resolve("victim"));
        Path sandboxes = engine.stateDir().resolve("sandboxes");
        Files.createDirectories(engine.stateDir());
        if (Files.isDirectory(sandboxes, LinkOption.NOFOLLOW_LINKS)) {
            Files.delete(sandboxes);
        }
        Files.createSymbolicLink(sandboxes, victim);
        Event.Failure f = engine.fail(id -> new SandboxRequest.Open(id, config.toString(), "debian-test",
                Network.ISOLATED));
        assertThat(f.code()).isEqualTo(ProblemCode.NOT_AUTHORIZED);
        assertThat(f.message()).contains(sandboxes.toString()).contains("not a plain directory");
        assertThat(victim).isEmptyDirectory();
        Files.delete(sandboxes);
    }

    @Test
    void closeNeverDeletesThroughABusyMount() throws Exception {
        SandboxResult.Opened s = open(config, Network.ISOLATED);
        Path work = Path.of(s.workDir());
        // Something keeps running inside with its working directory on the sandbox's /tmp.
        Process busy = new ProcessBuilder("nsenter", "--target", Long.toString(s.holderPid()), "--mount", "--pid",
                "--net", "--root", "--wd", "--", "/bin/sh", "-c",
                "cd /tmp && echo keep > /tmp/work-in-progress && exec sleep 300").start();
        strays.add(busy);
        awaitFile(s, "/tmp/work-in-progress");

        Event.Failure f = engine.fail(id -> new SandboxRequest.Close(id, s.sandbox(), false));
        assertThat(f.code()).isEqualTo(ProblemCode.UNMOUNT_FAILED);
        // The kernel refuses the mount the sleeper holds: its working directory (/tmp) or its binary (/usr).
        assertThat(f.message()).containsPattern("Could not unmount (/tmp|/usr) in sandbox " + s.sandbox()
                + ": target is busy").contains("Still running inside").contains("(sleep)")
                .doesNotContain("(unshare)").contains("Nothing was deleted");
        assertThat(f.fix()).contains("close with force");
        // Every file is where it was: the configuration, the skeleton, and the busy process's own work.
        assertThat(config.resolve("configuration.nix")).hasContent("{ services.field.chakra.enable = true; }");
        assertThat(work).isDirectory();
        assertThat(Path.of("/proc/" + s.holderPid() + "/root/nix/store")).isDirectory();
        assertThat(Mounts.table(s.holderPid())).anyMatch(l -> l.split(" ")[4].equals("/tmp"));
        assertThat(Files.readString(Path.of("/proc/" + s.holderPid() + "/root/tmp/work-in-progress")))
                .isEqualTo("keep\n");

        // Forcing kills what is inside; then everything goes.
        SandboxResult.Closed closed = engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), true),
                SandboxResult.Closed.class);
        assertThat(closed.workDirRemoved()).isTrue();
        assertThat(busy.waitFor(5, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.exists(work)).isFalse();
        assertThat(config.resolve("configuration.nix")).exists();
    }

    @Test
    void twoSandboxesDoNotSeeEachOthersMountsAndASecondOpenIsRefused() throws Exception {
        Path config2 = Files.createDirectories(base.resolve("config2"));
        Files.writeString(config2.resolve("configuration.nix"), "{ }\n");
        SandboxResult.Opened a = open(config, Network.ISOLATED);
        SandboxResult.Opened b = open(config2, Network.SHARED);
        // Mount ids are unique across namespaces: no mount of one sandbox is in the other's table, and
        // each has a root of its own (a different tmpfs).
        List<String> aIds = Mounts.table(a.holderPid()).stream().map(l -> l.split(" ")[0]).toList();
        List<String> bIds = Mounts.table(b.holderPid()).stream().map(l -> l.split(" ")[0]).toList();
        assertThat(aIds).isNotEmpty().doesNotContainAnyElementsOf(bIds);
        assertThat(rootDevice(a)).isNotEqualTo(rootDevice(b));
        assertThat(inside(a, "/bin/sh", "-c", "echo a > /tmp/mine").exit).isZero();
        assertThat(inside(b, "/usr/bin/cat", "/tmp/mine").output).contains("No such file");

        Event.Failure again = engine.fail(id -> new SandboxRequest.Open(id, config.toString(), "debian-test",
                Network.ISOLATED));
        assertThat(again.code()).isEqualTo(ProblemCode.BUSY);
        assertThat(again.message()).contains("A sandbox for " + config + " is already open").contains(a.sandbox());

        // A second engine (another app window) is refused too.
        try (EngineHarness other = EngineHarness.builder().base(EngineHarness.privateBase())
                .set("stateDir", engine.stateDir().toString())
                .set("configDirs", List.of(config.toString())).start()) {
            other.handshake();
            Event.Failure f = other.fail(id -> new SandboxRequest.Open(id, config.toString(), "debian-test",
                    Network.ISOLATED));
            assertThat(f.code()).isEqualTo(ProblemCode.BUSY);
            // Its sweep of stale work directories at start left the open sandboxes' alone (each is locked).
            assertThat(Path.of(a.workDir())).isDirectory();
            assertThat(Path.of(b.workDir())).isDirectory();
        }
        close(a);
        close(b);
    }

    @Test
    void orphansInsideTheSandboxAreReapedNotLeftAsZombies() throws Exception {
        SandboxResult.Opened s = open(config, Network.ISOLATED);
        // A subshell starts a short sleep in the background and exits: the sleep is orphaned and
        // re-parented to the holder, the PID namespace's init (as a cancelled build's builders are).
        Result r = inside(s, "/bin/sh", "-c", "(sleep 0.2 &); echo started");
        assertThat(r.output).contains("started");
        Path children = Path.of("/proc/" + s.holderPid() + "/task/" + s.holderPid() + "/children");
        long deadline = System.nanoTime() + 3_000_000_000L;
        while (!Files.readString(children).isBlank() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(Files.readString(children)).as("children (zombies) left under the holder").isBlank();
        close(s);
    }

    @Test
    void networkIsolationIsReal() throws Exception {
        SandboxResult.Opened isolated = open(config, Network.ISOLATED);
        String netNs = Files.readSymbolicLink(Path.of("/proc/" + isolated.holderPid() + "/ns/net")).toString();
        String hostNet = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
        assertThat(netNs).isNotEqualTo(hostNet);
        Result links = inside(isolated, "/usr/bin/cat", "/proc/net/dev");
        assertThat(links.output).contains("lo:").doesNotContain("eth0");
        close(isolated);
    }

    @Test
    void aMissingBindSourceIsNamed() throws Exception {
        Path missing = base.resolve("config2");
        Event.Failure f = engine.fail(id -> new SandboxRequest.Open(id, missing.toString(), "debian-test",
                Network.ISOLATED));
        assertThat(f.code()).isEqualTo(ProblemCode.SOURCE_MISSING);
        assertThat(f.message()).contains(missing.toString()).contains("does not exist");
        try (var d = Files.list(engine.stateDir().resolve("sandboxes"))) {
            assertThat(d).as("nothing half-made stays behind").isEmpty();
        } catch (java.nio.file.NoSuchFileException e) {
            // never created: fine
        }
    }

    @Test
    void aConfigurationDirectoryOutsideTheSettingsIsRefused() throws Exception {
        Event.Failure f = engine.fail(id -> new SandboxRequest.Open(id, "/etc", "debian-test", Network.ISOLATED));
        assertThat(f.code()).isEqualTo(ProblemCode.INVALID_ARGUMENT);
        assertThat(f.message()).contains("not one this engine is set up for");
        Event.Failure plan = engine.fail(id -> new SandboxRequest.Open(id, config.toString(), "nixos",
                Network.ISOLATED));
        assertThat(plan.message()).contains("bind plan \"nixos\" is not allowed here");
    }

    // helpers

    private record Result(int exit, String output) {
    }

    /** Runs a command in the sandbox the way the engine does: nsenter into the holder's namespaces. */
    private static Result inside(SandboxResult.Opened s, String... argv) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--target", Long.toString(s.holderPid()), "--mount",
                "--pid", "--net", "--root", "--wd", "--"));
        cmd.addAll(List.of(argv));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.waitFor(), out);
    }

    private static String[] concat(String[] first, String... rest) {
        List<String> all = new ArrayList<>(List.of(first));
        all.addAll(List.of(rest));
        return all.toArray(String[]::new);
    }

    private static String rootDevice(SandboxResult.Opened s) throws IOException {
        return Mounts.table(s.holderPid()).stream().map(l -> l.split(" ")).filter(f -> f[4].equals("/"))
                .map(f -> f[2]).findFirst().orElseThrow();
    }

    private static void awaitFile(SandboxResult.Opened s, String inside) throws InterruptedException {
        Path view = Path.of("/proc/" + s.holderPid() + "/root" + inside);
        for (int i = 0; i < 500 && !Files.exists(view); i++) {
            Thread.sleep(10);
        }
        assertThat(view).exists();
    }

    private static List<Long> inNs(String ns) {
        return allPids().stream().filter(pid -> {
            try {
                return Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/mnt")).toString().equals(ns);
            } catch (IOException e) {
                return false;
            }
        }).toList();
    }

    private static List<Long> allPids() {
        return ProcessHandle.allProcesses().map(ProcessHandle::pid).toList();
    }
}
