package org.saferebuild.engine.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Mounts;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.FrameException;
import org.saferebuild.protocol.FrameReader;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Protocol;
import org.saferebuild.protocol.ResultBody;

/**
 * Protocol fuzzing against the real engine process (docs/security.md "Hardening tests"): random
 * bytes and mutated requests, seeded and printed so a failure can be replayed with
 * {@code -Dfuzz.seed=N} (and {@code -Dfuzz.sessions=N} for a longer run). Whatever arrives, the
 * engine writes only well-formed events, answers with an error (never an internal one) or
 * closes, never opens or closes a sandbox, leaves nothing mounted and exits.
 */
@Tag("root")
class ProtocolFuzzTest {
    private static final String[] TOKENS = {"{", "}", "[", "]", "\"", ",", ":", "null", "true", "-1", "0",
            "1e309", "9223372036854775808", "\\u0000", "\\", "\"op\":\"sandbox.open\"", "\"op\":\"hello\"",
            "\"id\":2", "\"configDir\":\"/\"", "\"configDir\":\"../../etc\"", "\"plan\":\"debian-test\"",
            "\"force\":true", "\"network\":\"SHARED\"", "\"sandbox\":\"../..\"", "\"extra\":{\"a\":[1,2]}",
            "\u202e", "\u00ff", "\ud83d\ude00", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "\"" + "x".repeat(3000) + "\""};

    @Test
    void randomAndMutatedFramesGetAnErrorOrAClosedConnectionAndNothingHappens() throws Exception {
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        int sessions = Integer.getInteger("fuzz.sessions", 48);
        System.out.println("ProtocolFuzzTest: seed=" + seed + " sessions=" + sessions
                + " (replay: -Dfuzz.seed=" + seed + ")");
        Random rnd = new Random(seed);

        Path base = EngineHarness.privateBase();
        Path allowed = Files.createDirectories(base.resolve("config"));
        Files.writeString(allowed.resolve("configuration.nix"), "{ }\n");
        Path other = Files.createDirectories(base.resolve("other"));
        Files.writeString(other.resolve("configuration.nix"), "{ }\n");
        Path state = base.resolve("state");
        Path cfg = base.resolve("engine.json");
        Files.writeString(cfg, "{\"stateDir\":\"" + state + "\",\"auditLog\":\"" + base.resolve("audit/a.jsonl")
                + "\",\"plans\":[\"debian-test\"],\"configDirs\":[\"" + allowed + "\"],\"minFreeBytes\":1}");
        List<String> templates = List.of(
                "{\"op\":\"sandbox.open\",\"id\":2,\"configDir\":\"" + other + "\",\"plan\":\"debian-test\",\"network\":\"ISOLATED\"}",
                "{\"op\":\"sandbox.open\",\"id\":2,\"configDir\":\"" + allowed + "\",\"plan\":\"nixos\",\"network\":\"ISOLATED\"}",
                "{\"op\":\"sandbox.mounts\",\"id\":2,\"sandbox\":\"sb-aaaaaaaaaaaa\"}",
                "{\"op\":\"sandbox.close\",\"id\":2,\"sandbox\":\"sb-aaaaaaaaaaaa\",\"force\":true}",
                "{\"op\":\"cancel\",\"id\":2,\"target\":1}",
                "{\"op\":\"preflight\",\"id\":2,\"configDir\":\"" + other + "\"}",
                "{\"op\":\"hello\",\"id\":1,\"protocol\":1,\"client\":\"fuzz\"}");
        String hello = "{\"op\":\"hello\",\"id\":1,\"protocol\":1,\"client\":\"fuzz\"}\n";
        List<String> hostBefore = Mounts.hostTable();

        for (int session = 0; session < sessions; session++) {
            ByteArrayOutputStream input = new ByteArrayOutputStream();
            boolean greet = rnd.nextInt(4) != 0;
            if (greet) {
                input.writeBytes(hello.getBytes(StandardCharsets.UTF_8));
            }
            int frames = 1 + rnd.nextInt(4);
            for (int f = 0; f < frames; f++) {
                if (rnd.nextInt(3) == 0) {
                    byte[] junk = new byte[rnd.nextInt(400)];
                    rnd.nextBytes(junk);
                    input.writeBytes(junk);
                } else {
                    String t = templates.get(rnd.nextInt(templates.size())).replace("\"id\":2", "\"id\":" + (f + 2));
                    input.writeBytes(mutate(t, rnd).getBytes(StandardCharsets.UTF_8));
                }
                input.write('\n');
            }
            byte[] bytes = input.toByteArray();
            String what = "seed " + seed + ", session " + session + ", input (hex) "
                    + HexFormat.of().formatHex(bytes, 0, Math.min(bytes.length, 600));

            List<Event> events = session(cfg, bytes, base.resolve("engine-" + session + ".log"), what);
            for (Event e : events) {
                if (e instanceof Event.Failure f) {
                    assertThat(f.code()).as("no internal error: %s (%s)", f.message(), what)
                            .isNotEqualTo(ProblemCode.INTERNAL);
                    assertThat(f.fix()).as(what).isNotBlank();
                } else if (e instanceof Event.Result r) {
                    ResultBody body = r.body();
                    assertThat(body).as("only read-only answers: %s", what)
                            .isInstanceOfAny(ResultBody.Ack.class, PreflightReport.class);
                } else {
                    assertThat(e).as(what).isInstanceOfAny(Event.Welcome.class, Event.Progress.class, Event.Log.class);
                }
            }
            if (!events.isEmpty() && events.get(events.size() - 1) instanceof Event.Failure last
                    && last.code() == ProblemCode.PROTOCOL) {
                assertThat(last.fix()).as(what).contains("connection is closed");
            }
            Path sandboxes = state.resolve("sandboxes");
            if (Files.exists(sandboxes, LinkOption.NOFOLLOW_LINKS)) {
                try (var s = Files.list(sandboxes)) {
                    assertThat(s).as("no sandbox was made: %s", what).isEmpty();
                }
            }
            assertThat(Mounts.hostTable()).as("host mount table: %s", what).isEqualTo(hostBefore);
            assertThat(Mounts.below(Mounts.table(ProcessHandle.current().pid()), base)).as(what).isEmpty();
        }
    }

    /** Writes the input, closes it, and reads every event until the engine closes its output and exits. */
    private static List<Event> session(Path cfg, byte[] input, Path log, String what) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(EngineHarness.engineCommand(cfg)).redirectError(log.toFile());
        pb.environment().clear();
        Process p = pb.start();
        try {
            try (OutputStream os = p.getOutputStream()) {
                os.write(input);
            } catch (IOException ignored) {
                // the engine may stop reading (and close) before taking all of it
            }
            FrameReader reader = new FrameReader(p.getInputStream(), Protocol.MAX_EVENT_BYTES);
            List<Event> events = new ArrayList<>();
            String frame;
            while ((frame = reader.next()) != null) {
                try {
                    events.add(Json.decodeEvent(frame));
                } catch (FrameException e) {
                    throw new AssertionError("the engine wrote a frame that is not an event: " + frame + " (" + what + ")");
                }
            }
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("engine exits: %s", what).isTrue();
            assertThat(p.exitValue()).as("engine exit code: %s; log:\n%s", what, Files.readString(log)).isZero();
            return events;
        } finally {
            p.destroyForcibly();
        }
    }

    private static String mutate(String s, Random rnd) {
        StringBuilder b = new StringBuilder(s);
        int n = 1 + rnd.nextInt(4);
        for (int i = 0; i < n && b.length() > 0; i++) {
            int at = rnd.nextInt(b.length());
            switch (rnd.nextInt(6)) {
                case 0 -> b.setCharAt(at, (char) (rnd.nextInt(3) == 0 ? rnd.nextInt(0x20) : 0x20 + rnd.nextInt(0x5f)));
                case 1 -> b.delete(at, Math.min(b.length(), at + 1 + rnd.nextInt(12)));
                case 2 -> b.insert(at, b.substring(at, Math.min(b.length(), at + 1 + rnd.nextInt(20))));
                case 3 -> b.insert(at, TOKENS[rnd.nextInt(TOKENS.length)]);
                case 4 -> b.replace(0, b.length(), b.toString().replaceFirst("\"op\":\"[a-z.]+\"",
                        "\"op\":\"" + List.of("hello", "cancel", "preflight", "sandbox.open", "sandbox.close",
                                "sandbox.mounts", "shell", "exec", "").get(rnd.nextInt(9)) + "\""));
                default -> b.replace(0, b.length(), b.toString().replaceFirst("\"id\":\\d+",
                        "\"id\":" + List.of("0", "-5", "1", "99999999999999999999", "\"2\"", "2.5", "null")
                                .get(rnd.nextInt(7))));
            }
        }
        // A frame is one line: a mutation may not add a raw newline (the junk frames may).
        return b.toString().replace("\n", " ");
    }
}
