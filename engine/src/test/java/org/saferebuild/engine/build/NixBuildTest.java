package org.saferebuild.engine.build;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.demo.DemoSystem.Variant;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Mounts;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.NixEvent;
import org.saferebuild.protocol.NixRequest;
import org.saferebuild.protocol.NixResult;
import org.saferebuild.protocol.PreflightReport.ConfigKind;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxRequest.Network;
import org.saferebuild.protocol.SandboxResult;

/**
 * Runbook steps 3 and 4 against the real engine process: a demo system installed in a private
 * directory, sandboxes with the network isolated, real nix inside them.
 */
@Tag("root")
@Tag("nix")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NixBuildTest {
    private static final Duration LONG = Duration.ofMinutes(5);
    private static DemoSystem demo;
    private static EngineHarness engine;
    private static List<String> hostMountsBefore;
    private static final List<SandboxResult.Opened> stillOpen = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        hostMountsBefore = Mounts.hostTable();
        demo = DemoSystem.install(EngineHarness.privateBase().resolve("demo"));
        EngineHarness.Builder b = EngineHarness.builder();
        demo.settings().forEach(b::set);
        engine = b.start();
        engine.handshake();
    }

    @AfterAll
    static void stop() throws Exception {
        if (engine != null) {
            assertThat(engine.closeAndWait()).isZero();
        }
        assertThat(Mounts.hostTable()).as("host mount table after the tests").isEqualTo(hostMountsBefore);
    }

    /** A test that fails half-way must not leave its sandbox open for the next one. */
    @AfterEach
    void closeLeftovers() throws Exception {
        for (SandboxResult.Opened s : stillOpen) {
            engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), true), SandboxResult.Closed.class);
        }
        stillOpen.clear();
    }

    private static SandboxResult.Opened open(Variant v) throws Exception {
        SandboxResult.Opened s = engine.call(id -> new SandboxRequest.Open(id, demo.configDir(v).toString(),
                "debian-test", Network.ISOLATED), SandboxResult.Opened.class);
        stillOpen.add(s);
        return s;
    }

    private static SandboxResult.Closed close(SandboxResult.Opened s) throws Exception {
        stillOpen.remove(s);
        SandboxResult.Closed c = engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), false),
                SandboxResult.Closed.class);
        assertThat(c.workDirRemoved()).as("work directory removed, left: %s", c.left()).isTrue();
        assertThat(Mounts.below(Mounts.hostTable(), Path.of(s.workDir()))).isEmpty();
        return c;
    }

    @Test
    @Order(1)
    void validateEvaluatesInsideTheSandboxAndListsWhatWouldBeBuilt() throws Exception {
        SandboxResult.Opened s = open(Variant.UPDATE);
        List<Event> events = new CopyOnWriteArrayList<>();
        NixResult.Validation v = engine.send(id -> new NixRequest.Validate(id, s.sandbox(), "BearsiMac"))
                .onEvent(events::add).result(NixResult.Validation.class, LONG);
        assertThat(v.configKind()).isEqualTo(ConfigKind.FLAKE);
        assertThat(v.host()).isEqualTo("BearsiMac");
        assertThat(v.hosts()).containsExactly("BearsiMac");
        assertThat(v.configDir()).isEqualTo(demo.configDir(Variant.UPDATE).toString());
        assertThat(v.installable()).isEqualTo("/etc/nixos#nixosConfigurations.BearsiMac.config.system.build.toplevel");
        assertThat(v.systemName()).isEqualTo("nixos-system-BearsiMac-23.11.20240115.b8dd8be");
        assertThat(v.drvPath()).endsWith("-nixos-system-BearsiMac-23.11.20240115.b8dd8be.drv");
        assertThat(v.toBuild()).extracting(NixResult.StoreItem::name).contains("firefox-121.0.drv",
                "ripgrep-14.0.3.drv", "unit-svadhisthana-chakra.service.drv", "system-path.drv",
                "nixos-system-BearsiMac-23.11.20240115.b8dd8be.drv")
                // generation 1's packages are in the store already
                .doesNotContain("firefox-120.0.1.drv", "glibc-2.38-27.drv");
        assertThat(v.toFetch()).isEmpty();
        assertThat(v.needsNetwork()).isEmpty();
        assertThat(v.networkIsolated()).isTrue();
        // Validation builds nothing: the system is not in the store yet.
        assertThat(Files.exists(Path.of(v.drvPath()))).isTrue();
        assertThat(events).filteredOn(Event.Progress.class::isInstance).extracting(e -> ((Event.Progress) e).message())
                .anyMatch(m -> m.startsWith("Evaluating /etc/nixos#nixosConfigurations.BearsiMac"))
                .anyMatch(m -> m.startsWith("Dry build"));
        close(s);
    }

    @Test
    @Order(2)
    void cancelStopsTheBuildAndTheSandboxClosesCleanly() throws Exception {
        SandboxResult.Opened s = open(Variant.UPDATE);
        List<Event> events = new CopyOnWriteArrayList<>();
        EngineConnection.Call build = engine.send(id -> new NixRequest.Build(id, s.sandbox(), null))
                .onEvent(events::add);
        // Wait until firefox-121.0 (about 3 s of compiler lines) is being built.
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline && !build.done().isDone() && events.stream().noneMatch(e -> e instanceof Event.Log l
                && l.lines().stream().anyMatch(x -> x.startsWith("firefox-121.0> ") && x.contains("CC")))) {
            Thread.sleep(20);
        }
        assertThat(build.done().isDone()).as("the build ended before it could be cancelled: %s, log: %s",
                build.done().getNow(null), logLines(events)).isFalse();
        assertThat(inSandbox(s)).as("nix runs inside the sandbox").anyMatch(c -> c.equals("nix"));
        Event.Failure f;
        try {
            engine.call(id -> new Request.Cancel(id, build.id()), org.saferebuild.protocol.ResultBody.Ack.class);
            build.result(NixResult.Built.class, LONG);
            throw new AssertionError("the build finished although it was cancelled");
        } catch (EngineConnection.EngineFailure e) {
            f = e.failure();
        }
        assertThat(f.code()).isEqualTo(ProblemCode.CANCELLED);
        assertThat(f.fix()).contains("sandbox is still open");
        assertThat(inSandbox(s)).as("only the holder is left in the sandbox").containsExactly("cat");
        // Nothing half-built was registered.
        try (var roots = Files.list(demo.buildRoots())) {
            assertThat(roots).isEmpty();
        }
        close(s); // without force: nothing keeps a mount busy
    }

    @Test
    @Order(3)
    void buildInTheIsolatedSandboxStreamsProgressAndLinesAndKeepsTheResult() throws Exception {
        SandboxResult.Opened s = open(Variant.UPDATE);
        List<Event> events = new CopyOnWriteArrayList<>();
        NixResult.Built b = engine.send(id -> new NixRequest.Build(id, s.sandbox(), "BearsiMac"))
                .onEvent(events::add).result(NixResult.Built.class, LONG);

        assertThat(b.storePath()).matches("/nix/store/[0-9a-z]{32}-nixos-system-BearsiMac-23\\.11\\.20240115\\.b8dd8be");
        assertThat(Path.of(b.storePath(), "sw/bin/rg")).exists();
        assertThat(b.built()).isGreaterThanOrEqualTo(10);
        // A GC root in the engine's state directory, not a result link in the sandbox.
        Path root = Path.of(b.gcRoot());
        assertThat(root.getParent()).isEqualTo(demo.buildRoots());
        assertThat(Files.readSymbolicLink(root).toString()).isEqualTo(b.storePath());
        assertThat(Files.readAllLines(Path.of("/proc/mounts"))).noneMatch(l -> l.contains(s.workDir()));
        // What apply will ask: is this a system the engine built?
        EngineConfig cfg = EngineConfig.load(demo.settingsFile());
        BuiltSystems builtSystems = new BuiltSystems(cfg, new Tools(cfg.toolDirs()), new NixEnv(cfg));
        assertThat(builtSystems.isBuilt(b.storePath())).isTrue();
        assertThat(builtSystems.isBuilt(demo.generation1())).as("installed, not built by the engine").isFalse();
        assertThat(builtSystems.isBuilt(b.storePath() + "x")).isFalse();
        assertThat(builtSystems.isBuilt("/etc/passwd")).isFalse();
        assertThat(builtSystems.all()).containsExactly(b.storePath());

        List<NixEvent.BuildProgress> progress = events.stream().filter(NixEvent.BuildProgress.class::isInstance)
                .map(NixEvent.BuildProgress.class::cast).toList();
        assertThat(progress).hasSizeGreaterThan(3);
        NixEvent.BuildProgress last = progress.get(progress.size() - 1);
        assertThat(last.done()).isEqualTo(last.planned()).isEqualTo(b.built());
        assertThat(last.running()).isZero();
        assertThat(last.failed()).isZero();
        assertThat(progress).as("firefox seen building, with its phase")
                .anyMatch(p -> p.active().stream().anyMatch(a -> a.name().equals("firefox-121.0")
                        && "buildPhase".equals(a.phase())));
        assertThat(progress).as("counts go up").extracting(NixEvent.BuildProgress::done).isSorted();
        assertThat(progress).as("the plan does not flicker").extracting(NixEvent.BuildProgress::planned)
                .containsOnly(last.planned());

        List<String> lines = logLines(events);
        assertThat(lines).anyMatch(l -> l.matches("building '/nix/store/[0-9a-z]{32}-firefox-121\\.0\\.drv'\\.\\.\\."))
                .contains("firefox-121.0> unpacking sources", "firefox-121.0> installing")
                .anyMatch(l -> l.equals("firefox-121.0> build flags: -j2 SHELL=/bin/sh"));
        assertThat(lines.stream().filter(l -> l.startsWith("firefox-121.0>   CC")).count()).isEqualTo(60);
        // Lines arrive while the build runs, not all at the end: several log frames.
        assertThat(events.stream().filter(Event.Log.class::isInstance).count()).isGreaterThan(3);

        Path logFile = Path.of(b.logFile());
        assertThat(logFile.getParent()).isEqualTo(demo.stateDir().resolve("logs"));
        assertThat(Files.readAllLines(logFile)).containsAll(lines);

        // The build tree: the plan first (rooted at the system's derivation, edges from the .drv
        // files), then every derivation building with its phase and done with its time.
        NixEvent.BuildPlan plan = events.stream().filter(NixEvent.BuildPlan.class::isInstance)
                .map(NixEvent.BuildPlan.class::cast).findFirst().orElseThrow();
        assertThat(plan.derivations()).hasSize(last.planned());
        assertThat(plan.root()).endsWith("-nixos-system-BearsiMac-23.11.20240115.b8dd8be.drv");
        NixEvent.PlannedDerivation system = plan.derivations().stream().filter(d -> d.drvPath().equals(plan.root()))
                .findFirst().orElseThrow();
        assertThat(system.inputs()).as("the system needs other planned derivations").isNotEmpty();
        assertThat(plan.derivations()).anyMatch(d -> d.name().equals("firefox-121.0"));
        List<NixEvent.DerivationState> states = events.stream().filter(NixEvent.Derivations.class::isInstance)
                .flatMap(e -> ((NixEvent.Derivations) e).changed().stream()).toList();
        assertThat(states).anyMatch(d -> d.name().equals("firefox-121.0") && d.state() == NixEvent.State.BUILDING
                && d.startedAt() != null);
        assertThat(states).anyMatch(d -> d.name().equals("firefox-121.0") && d.state() == NixEvent.State.DONE
                && d.millis() != null && d.millis() > 0);
        java.util.Map<String, NixEvent.State> finalState = new java.util.HashMap<>();
        states.forEach(d -> finalState.put(d.path(), d.state()));
        assertThat(plan.derivations()).allSatisfy(d -> assertThat(finalState.get(d.drvPath()))
                .as(d.name()).isEqualTo(NixEvent.State.DONE));

        // The Target screen's list: this directory's last build, and the hosts and words of each.
        NixResult.ConfigList configs = engine.call(Request.Configs::new, NixResult.ConfigList.class);
        assertThat(configs.configs()).extracting(NixResult.ConfigSummary::path)
                .containsExactlyElementsOf(EngineConfig.load(demo.settingsFile()).configDirs());
        NixResult.ConfigSummary update = configs.configs().stream()
                .filter(c -> c.path().equals(demo.configDir(Variant.UPDATE).toString())).findFirst().orElseThrow();
        assertThat(update.kind()).isEqualTo(ConfigKind.FLAKE);
        assertThat(update.hosts()).containsExactly("BearsiMac");
        assertThat(update.description()).isEqualTo("NixOS configuration of BearsiMac");
        assertThat(update.comment()).startsWith("BearsiMac after the planned change: a second chakra");
        assertThat(update.lastBuild()).satisfies(l -> {
            assertThat(l.ok()).isTrue();
            assertThat(l.storePath()).isEqualTo(b.storePath());
            assertThat(l.host()).isEqualTo("BearsiMac");
        });
        close(s);
    }

    @Test
    @Order(4)
    void anEvaluationErrorNamesTheFileAndLineInTheConfigurationAndWhatToDo() throws Exception {
        SandboxResult.Opened s = open(Variant.EVAL_ERROR);
        Path file = demo.configDir(Variant.EVAL_ERROR).resolve("modules/chakra-tuning.nix");
        for (boolean build : new boolean[] {false, true}) {
            Event.Failure f = engine.fail(id -> build ? new NixRequest.Build(id, s.sandbox(), null)
                    : new NixRequest.Validate(id, s.sandbox(), null));
            assertThat(f.code()).isEqualTo(ProblemCode.EVALUATION_FAILED);
            assertThat(f.message()).contains("undefined variable 'chakraFrequency'")
                    .contains("at " + file + ":13:14")
                    .contains("13| base = chakraFrequency * 2;");
            assertThat(f.fix()).startsWith("Open modules/chakra-tuning.nix at line 13 (in "
                    + demo.configDir(Variant.EVAL_ERROR) + ")").contains("Define it");
        }
        close(s);
    }

    @Test
    @Order(5)
    void aFailedBuildNamesTheDerivationWithItsLastLines() throws Exception {
        SandboxResult.Opened s = open(Variant.BUILD_FAIL);
        List<Event> events = new CopyOnWriteArrayList<>();
        Event.Failure f;
        try {
            engine.send(id -> new NixRequest.Build(id, s.sandbox(), "BearsiMac")).onEvent(events::add)
                    .result(NixResult.Built.class, LONG);
            throw new AssertionError("build-fail built");
        } catch (EngineConnection.EngineFailure e) {
            f = e.failure();
        }
        assertThat(f.code()).isEqualTo(ProblemCode.BUILD_FAILED);
        assertThat(f.message()).matches("(?s)The derivation field-translator-1\\.5\\.0-rc1 failed to build \\(exit code"
                + " 1\\): /nix/store/[0-9a-z]{32}-field-translator-1\\.5\\.0-rc1\\.drv\\. Its last lines:.*")
                .contains("  Hunk #1 FAILED at 142.\n  1 out of 1 hunk FAILED -- saving rejects to file src/translator.c.rej");
        String logFile = f.fix().replaceAll("(?s).*the whole log is in (\\S+)\\).*", "$1");
        assertThat(Files.readString(Path.of(logFile))).contains("field-translator-1.5.0-rc1> Hunk #1 FAILED at 142.");
        NixEvent.BuildProgress last = events.stream().filter(NixEvent.BuildProgress.class::isInstance)
                .map(NixEvent.BuildProgress.class::cast).reduce((a, b) -> b).orElseThrow();
        assertThat(last.failed()).isEqualTo(1);
        assertThat(events).filteredOn(NixEvent.Derivations.class::isInstance)
                .flatExtracting(e -> ((NixEvent.Derivations) e).changed())
                .anySatisfy(d -> {
                    NixEvent.DerivationState x = (NixEvent.DerivationState) d;
                    assertThat(x.name()).isEqualTo("field-translator-1.5.0-rc1");
                    assertThat(x.state()).isEqualTo(NixEvent.State.FAILED);
                    assertThat(x.exitCode()).isEqualTo(1);
                    assertThat(x.tail()).contains("Hunk #1 FAILED at 142.");
                });
        NixResult.LastBuild failed = engine.call(Request.Configs::new, NixResult.ConfigList.class).configs().stream()
                .filter(c -> c.path().equals(demo.configDir(Variant.BUILD_FAIL).toString())).findFirst().orElseThrow()
                .lastBuild();
        assertThat(failed.ok()).isFalse();
        assertThat(failed.problem()).startsWith("The derivation field-translator-1.5.0-rc1 failed to build");
        close(s);
    }

    @Test
    @Order(5)
    void aBuildThatRunsOutOfDiskSpaceSaysSoWithTheFreeSpaceAndWhatToFree() throws Exception {
        // The disk-full variant's build writes to /dev/full: the kernel answers ENOSPC, as on a full disk.
        SandboxResult.Opened s = open(Variant.DISK_FULL);
        Event.Failure f;
        try {
            engine.call(id -> new NixRequest.Build(id, s.sandbox(), "BearsiMac"), NixResult.Built.class, LONG);
            throw new AssertionError("disk-full built");
        } catch (EngineConnection.EngineFailure e) {
            f = e.failure();
        }
        assertThat(f.code()).isEqualTo(ProblemCode.NO_SPACE);
        // The builder wrote to /dev/full: the disks a rebuild writes have room, and the message says so
        // instead of asking for a garbage collection (the low-space wording: NixServiceFailuresTest).
        assertThat(f.message()).startsWith("The build of field-translator-1.5.0-rc1 hit \"No space left on device\","
                + " but ").containsPattern("[\\d.]+ [KMGT]?i?B are free on the Nix store \\(/nix/store\\)")
                .contains("what filled up is a device or a small file system its builder wrote to")
                .contains("writing 4096 KiB of intermediate objects to /dev/full");
        assertThat(f.fix()).contains("nothing needs to be freed in the Nix store").doesNotContain("nix-collect-garbage");
        close(s);
    }

    @Test
    @Order(6)
    void aDownloadWithTheNetworkIsolatedIsNamedWithHowToAllowIt() throws Exception {
        SandboxResult.Opened s = open(Variant.NEEDS_NETWORK);
        String url = "https://releases.field-chakra.invalid/firmware/field-firmware-2.0.1.tar.gz";
        NixResult.Validation v = engine.call(id -> new NixRequest.Validate(id, s.sandbox(), null),
                NixResult.Validation.class, LONG);
        assertThat(v.needsNetwork()).singleElement().satisfies(d -> {
            assertThat(d.name()).isEqualTo("field-firmware-2.0.1.tar.gz");
            assertThat(d.url()).isEqualTo(url);
        });
        assertThat(v.warnings()).anyMatch(w -> w.contains("needs the network") && w.contains(url));

        Event.Failure f = engine.fail(id -> new NixRequest.Build(id, s.sandbox(), null));
        assertThat(f.code()).isEqualTo(ProblemCode.NETWORK_ISOLATED);
        assertThat(f.message()).contains("field-firmware-2.0.1.tar.gz must be downloaded from " + url);
        assertThat(f.fix()).contains("open a new one with the network shared")
                .containsPattern("nix-store --realise /nix/store/[0-9a-z]{32}-field-firmware-2\\.0\\.1\\.tar\\.gz\\.drv");
        close(s);
    }

    @Test
    @Order(7)
    void aMistypedHostListsTheDeclaredOnes() throws Exception {
        SandboxResult.Opened s = open(Variant.BEARSIMAC);
        Event.Failure f = engine.fail(id -> new NixRequest.Validate(id, s.sandbox(), "BearsImac"));
        assertThat(f.code()).isEqualTo(ProblemCode.NOT_FOUND);
        assertThat(f.message()).startsWith("no host BearsImac; this flake declares: BearsiMac");
        assertThat(f.fix()).startsWith("Did you mean BearsiMac?");
        close(s);
    }

    @Test
    @Order(8)
    void aClassicConfigurationValidatesAndBuildsThroughNixpkgsNixos() throws Exception {
        SandboxResult.Opened s = open(Variant.CLASSIC);
        NixResult.Validation v = engine.call(id -> new NixRequest.Validate(id, s.sandbox(), null),
                NixResult.Validation.class, LONG);
        assertThat(v.configKind()).isEqualTo(ConfigKind.CLASSIC);
        assertThat(v.host()).isEqualTo("BearsiMac"); // its networking.hostName
        assertThat(v.hosts()).isEmpty();
        assertThat(v.installable()).isEqualTo("<nixpkgs/nixos> system (nixos-config=/etc/nixos/configuration.nix)");
        assertThat(v.toBuild()).isEmpty(); // the same system as generation 1

        NixResult.Built b = engine.call(id -> new NixRequest.Build(id, s.sandbox(), null), NixResult.Built.class, LONG);
        assertThat(b.configKind()).isEqualTo(ConfigKind.CLASSIC);
        assertThat(b.storePath()).isEqualTo(demo.generation1());
        assertThat(b.built()).isZero();
        assertThat(Files.readSymbolicLink(Path.of(b.gcRoot())).toString()).isEqualTo(demo.generation1());
        close(s);
    }

    private static List<String> logLines(List<Event> events) {
        List<String> out = new ArrayList<>();
        for (Event e : events) {
            if (e instanceof Event.Log l) {
                assertThat(l.stream()).isEqualTo("build");
                out.addAll(l.lines());
            }
        }
        return out;
    }

    /**
     * Command names of the live processes in a sandbox's PID namespace (nix may make a mount
     * namespace of its own, but it cannot leave the PID namespace; zombies hold nothing).
     */
    private static List<String> inSandbox(SandboxResult.Opened s) throws Exception {
        String ns = Files.readSymbolicLink(Path.of("/proc/" + s.holderPid() + "/ns/pid")).toString();
        List<String> out = new ArrayList<>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    if (Files.readSymbolicLink(p.resolve("ns/pid")).toString().equals(ns)
                            && !NixService.zombie(Long.parseLong(p.getFileName().toString()))) {
                        out.add(Files.readString(p.resolve("comm")).strip());
                    }
                } catch (java.io.IOException gone) {
                    // exited meanwhile
                }
            }
        }
        return out;
    }
}
