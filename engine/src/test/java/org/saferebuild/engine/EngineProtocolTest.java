package org.saferebuild.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Mounts;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.FrameReader;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Protocol;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;

/** The real engine process over its real protocol: handshake, ordering, bad input. */
@Tag("root")
class EngineProtocolTest {

    @Test
    void handshakeReportsVersionsUidsAndCapabilities() throws Exception {
        try (EngineHarness engine = EngineHarness.builder().env("SUDO_UID", "0").start()) {
            Event.Welcome w = engine.handshake();
            assertThat(w.protocol()).isEqualTo(Protocol.VERSION);
            assertThat(w.engineVersion()).isEqualTo("0.1.0");
            assertThat(w.euid()).isZero();
            assertThat(w.operatorUid()).isZero();
            assertThat(w.operatorName()).isEqualTo("root");
            assertThat(w.launchedVia()).isEqualTo("sudo");
            assertThat(w.capabilities()).contains("hello", "cancel", "preflight", "sandbox.open", "sandbox.mounts",
                    "sandbox.close");
            assertThat(engine.closeAndWait()).isZero();
        }
    }

    @Test
    void aWholeIsolationSessionOverTheProtocol() throws Exception {
        Path base = EngineHarness.privateBase();
        Path config = Files.createDirectories(base.resolve("config"));
        Files.writeString(config.resolve("configuration.nix"), "{ }\n");
        List<String> hostBefore = Mounts.hostTable();
        try (EngineHarness engine = EngineHarness.builder().base(base)
                .set("configDirs", List.of(config.toString())).start()) {
            assertThat(engine.handshake().capabilities()).contains("preflight", "sandbox.open");

            PreflightReport pre = engine.call(id -> new Request.Preflight(id, null), PreflightReport.class);
            assertThat(pre.ready()).as("preflight checks %s", pre.checks()).isTrue();
            assertThat(pre.config().kind()).isEqualTo(PreflightReport.ConfigKind.CLASSIC);

            EngineConnection.Call open = engine.send(id -> new SandboxRequest.Open(id, config.toString(),
                    "debian-test", SandboxRequest.Network.ISOLATED));
            List<Event> openEvents = new java.util.concurrent.CopyOnWriteArrayList<>();
            open.onEvent(openEvents::add);
            SandboxResult.Opened opened = open.result(SandboxResult.Opened.class, java.time.Duration.ofSeconds(60));
            // Progress counts the mounts as the kernel reports them made.
            List<Event.Progress> progress = openEvents.stream().filter(Event.Progress.class::isInstance)
                    .map(Event.Progress.class::cast).filter(p -> p.message().startsWith("Mounted")).toList();
            assertThat(progress).isNotEmpty();
            assertThat(progress.get(progress.size() - 1).done()).isEqualTo(progress.get(progress.size() - 1).total());

            SandboxResult.MountTree tree = engine.call(id -> new SandboxRequest.Mounts(id, opened.sandbox()),
                    SandboxResult.MountTree.class);
            assertThat(tree.holderPid()).isEqualTo(opened.holderPid());
            assertThat(tree.mounts()).extracting(SandboxResult.Mount::mountPoint)
                    .startsWith("/").contains("/nix", "/etc/nixos", "/tmp");

            SandboxResult.Closed closed = engine.call(id -> new SandboxRequest.Close(id, opened.sandbox(), false),
                    SandboxResult.Closed.class);
            assertThat(closed.workDirRemoved()).isTrue();
            assertThat(Path.of(opened.workDir())).doesNotExist();
            Event.Failure again = engine.fail(id -> new SandboxRequest.Mounts(id, opened.sandbox()));
            assertThat(again.code()).isEqualTo(ProblemCode.NOT_FOUND);
            assertThat(engine.closeAndWait()).isZero();
        }
        assertThat(Mounts.hostTable()).isEqualTo(hostBefore);
    }

    /**
     * Most of a session the engine waits for the operator (the checklist, a build's review): then it
     * sleeps. It used to wake about 50 times a second (a 40 ms flush tick, the JVM's 50 ms
     * performance sampling), which a laptop's battery and powertop notice; now what wakes is the JVM's own
     * housekeeping, about 5 times a second here. And as root it leaves no file in /tmp.
     */
    @Test
    void anIdleEngineSleepsAndLeavesNoFileInTmp() throws Exception {
        try (EngineHarness engine = EngineHarness.builder().env("SUDO_UID", "0").start()) {
            engine.handshake();
            engine.call(id -> new Request.Preflight(id, null), PreflightReport.class); // a request has run
            long pid = engine.process().pid();
            Thread.sleep(1000);
            Map<String, Long> before = wakeups(pid);
            Thread.sleep(3000);
            Map<String, Long> after = wakeups(pid);
            Map<String, Long> woke = new TreeMap<>();
            after.forEach((thread, n) -> {
                long d = n - before.getOrDefault(thread, 0L);
                if (d > 0) {
                    woke.put(thread, d);
                }
            });
            long total = woke.values().stream().mapToLong(Long::longValue).sum();
            assertThat(total / 3.0).as("wake-ups per second of the idle engine's threads: %s in 3 s", woke)
                    .isLessThan(12);
            assertThat(Path.of("/tmp/hsperfdata_root/" + pid)).doesNotExist();
        }
    }

    /** Context switches (voluntary and not) of each of the process's threads, by thread name. */
    private static Map<String, Long> wakeups(long pid) throws IOException {
        Map<String, Long> m = new TreeMap<>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                String name = Files.readString(t.resolve("comm")).trim() + " " + t.getFileName();
                long n = 0;
                for (String l : Files.readAllLines(t.resolve("status"))) {
                    if (l.startsWith("voluntary_ctxt_switches") || l.startsWith("nonvoluntary_ctxt_switches")) {
                        n += Long.parseLong(l.substring(l.indexOf(':') + 1).trim());
                    }
                }
                m.put(name, n);
            }
        }
        return m;
    }

    @Test
    void launchedDirectlyThereIsNoOperatorUid() throws Exception {
        try (EngineHarness engine = EngineHarness.builder().start()) {
            Event.Welcome w = engine.handshake();
            assertThat(w.operatorUid()).isNull();
            assertThat(w.launchedVia()).isEqualTo("direct");
        }
    }

    @Test
    void aRequestBeforeHelloIsAProtocolErrorAndClosesTheConnection() throws Exception {
        List<Event> events = rawSession("{\"op\":\"preflight\",\"id\":1}\n");
        assertThat(events).hasSize(1);
        Event.Failure f = (Event.Failure) events.get(0);
        assertThat(f.code()).isEqualTo(ProblemCode.PROTOCOL);
        assertThat(f.message()).contains("The first message must be \"hello\"");
    }

    @Test
    void malformedJsonIsRefusedWithAClearMessage() throws Exception {
        List<Event> events = rawSession(hello() + "{\"op\":\"preflight\",\"id\":2\n");
        assertThat(events).hasSize(2);
        Event.Failure f = (Event.Failure) events.get(1);
        assertThat(f.code()).isEqualTo(ProblemCode.PROTOCOL);
        assertThat(f.message()).contains("could not read a request");
        assertThat(f.fix()).contains("connection is closed");
    }

    @Test
    void unknownOperationsAndUnknownFieldsAreRefused() throws Exception {
        Event.Failure unknownOp = (Event.Failure) rawSession(hello() + "{\"op\":\"shell\",\"id\":2,\"cmd\":\"id\"}\n")
                .get(1);
        assertThat(unknownOp.code()).isEqualTo(ProblemCode.PROTOCOL);
        assertThat(unknownOp.message()).contains("unknown or missing message type");

        Event.Failure extra = (Event.Failure) rawSession(
                hello() + "{\"op\":\"preflight\",\"id\":2,\"configDir\":\"/etc/nixos\",\"path\":\"/\"}\n").get(1);
        assertThat(extra.message()).contains("unknown field \"path\"");
    }

    @Test
    void anOversizedFrameIsRefusedWithoutReadingItAll() throws Exception {
        String big = "{\"op\":\"preflight\",\"id\":2,\"configDir\":\"/" + "a".repeat(Protocol.MAX_REQUEST_BYTES) + "\"}\n";
        List<Event> events = rawSession(hello() + big);
        Event.Failure f = (Event.Failure) events.get(events.size() - 1);
        assertThat(f.code()).isEqualTo(ProblemCode.PROTOCOL);
        assertThat(f.message()).contains("frame larger than " + Protocol.MAX_REQUEST_BYTES + " bytes");
    }

    @Test
    void idsMustIncreaseAndHelloComesOnce() throws Exception {
        Event.Failure replay = (Event.Failure) rawSession(hello() + "{\"op\":\"preflight\",\"id\":1}\n").get(1);
        assertThat(replay.code()).isEqualTo(ProblemCode.PROTOCOL);
        assertThat(replay.message()).contains("Request ids must increase");

        Event.Failure twice = (Event.Failure) rawSession(hello()
                + "{\"op\":\"hello\",\"id\":2,\"protocol\":1,\"client\":\"x\"}\n").get(1);
        assertThat(twice.message()).contains("may only be sent once");
    }

    @Test
    void aProtocolVersionMismatchIsRefused() throws Exception {
        Event.Failure f = (Event.Failure) rawSession("{\"op\":\"hello\",\"id\":1,\"protocol\":99,\"client\":\"x\"}\n")
                .get(0);
        assertThat(f.message()).contains("speaks protocol 99").contains("speaks protocol " + Protocol.VERSION);
    }

    @Test
    void aProtocolErrorWhileASandboxIsOpenLeavesNothingMounted() throws Exception {
        Path base = EngineHarness.privateBase();
        Path config = Files.createDirectories(base.resolve("config"));
        Files.writeString(config.resolve("configuration.nix"), "{ }\n");
        List<String> hostBefore = Mounts.hostTable();
        try (EngineHarness engine = EngineHarness.builder().base(base)
                .set("configDirs", List.of(config.toString())).start()) {
            engine.handshake();
            SandboxResult.Opened opened = engine.call(id -> new SandboxRequest.Open(id, config.toString(),
                    "debian-test", SandboxRequest.Network.ISOLATED), SandboxResult.Opened.class);
            long holder = opened.holderPid();
            assertThat(ProcessHandle.of(holder)).isPresent();
            OutputStream raw = engine.process().getOutputStream();
            raw.write("this is not json\n".getBytes(StandardCharsets.UTF_8));
            raw.flush();
            assertThat(engine.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(ProcessHandle.of(holder).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            assertThat(Files.exists(Path.of(opened.workDir()))).isFalse();
            assertThat(engine.events()).last().isInstanceOfSatisfying(Event.Failure.class,
                    f -> assertThat(f.code()).isEqualTo(ProblemCode.PROTOCOL));
        }
        assertThat(Mounts.hostTable()).isEqualTo(hostBefore);
    }

    @Test
    void cancellingAnUnknownRequestSaysSo() throws Exception {
        try (EngineHarness engine = EngineHarness.builder().start()) {
            engine.handshake();
            Event.Failure f = engine.fail(id -> new Request.Cancel(id, 999));
            assertThat(f.code()).isEqualTo(ProblemCode.NOT_FOUND);
            assertThat(f.message()).contains("no running request 999");
        }
    }

    @Test
    void unknownCommandLineArgumentsAreRefused() throws Exception {
        List<String> cmd = new ArrayList<>(EngineHarness.engineCommand(null));
        cmd.add("--shell");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isEqualTo(Main.EXIT_USAGE);
        assertThat(out).contains("unknown argument \"--shell\"");
    }

    @Test
    void theEngineRefusesToRunAsAnOrdinaryUser() throws Exception {
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"));
        cmd.addAll(EngineHarness.engineCommand(null));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isEqualTo(Main.EXIT_NOT_ROOT);
        assertThat(out).contains("must run as root (uid 0), but runs as uid 65534").contains("pkexec");
    }

    @Test
    void aSettingsFileOthersCanWriteIsRefused() throws Exception {
        Path base = EngineHarness.privateBase();
        Path cfg = base.resolve("engine.json");
        Files.writeString(cfg, "{}");
        Files.setPosixFilePermissions(cfg, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
        Process p = new ProcessBuilder(EngineHarness.engineCommand(cfg)).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isEqualTo(Main.EXIT_CONFIG);
        assertThat(out).contains("is not trusted").contains("writable by group or others").contains("chmod go-w");
    }

    private static String hello() {
        return "{\"op\":\"hello\",\"id\":1,\"protocol\":1,\"client\":\"raw\"}\n";
    }

    /**
     * Writes raw bytes to a fresh engine, then reads every event until it closes its output.
     * Every line on stdout must be a protocol frame: the engine logs only to stderr.
     */
    private static List<Event> rawSession(String input) throws Exception {
        Path base = EngineHarness.privateBase();
        Path cfg = base.resolve("engine.json");
        Files.writeString(cfg, "{\"stateDir\":\"" + base.resolve("state") + "\",\"plans\":[\"debian-test\"]}");
        Process p = new ProcessBuilder(EngineHarness.engineCommand(cfg))
                .redirectError(base.resolve("engine.log").toFile()).start();
        try {
            try (OutputStream os = p.getOutputStream()) {
                os.write(input.getBytes(StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the engine may close its input before reading all of an oversized frame
            }
            FrameReader reader = new FrameReader(p.getInputStream(), Protocol.MAX_EVENT_BYTES);
            List<Event> events = new ArrayList<>();
            String frame;
            while ((frame = reader.next()) != null) {
                events.add(Json.decodeEvent(frame));
            }
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("engine exits after the connection ends").isTrue();
            return events;
        } finally {
            p.destroyForcibly();
        }
    }
}
