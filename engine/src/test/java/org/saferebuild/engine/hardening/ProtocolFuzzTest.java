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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    /**
     * A request template per operation, with a {@code ${field}} placeholder for each integer field.
     * {@link #everyIntegerFieldOfEveryRequestHasATemplate} fails when a request gains an integer
     * field that is not here, so the check below stays exhaustive.
     */
    private static final Map<String, String> INTEGER_TEMPLATES = new LinkedHashMap<>();

    static {
        INTEGER_TEMPLATES.put("hello", "{\"op\":\"hello\",\"id\":${id},\"protocol\":${protocol},\"client\":\"fuzz\"}");
        INTEGER_TEMPLATES.put("cancel", "{\"op\":\"cancel\",\"id\":${id},\"target\":${target}}");
        INTEGER_TEMPLATES.put("preflight", "{\"op\":\"preflight\",\"id\":${id}}");
        INTEGER_TEMPLATES.put("configs", "{\"op\":\"configs\",\"id\":${id}}");
        INTEGER_TEMPLATES.put("sandbox.open", "{\"op\":\"sandbox.open\",\"id\":${id},\"configDir\":\"/etc/nixos\","
                + "\"plan\":\"debian-test\",\"network\":\"ISOLATED\"}");
        INTEGER_TEMPLATES.put("sandbox.mounts", "{\"op\":\"sandbox.mounts\",\"id\":${id},\"sandbox\":\"sb-aaaaaaaaaaaa\"}");
        INTEGER_TEMPLATES.put("sandbox.close", "{\"op\":\"sandbox.close\",\"id\":${id},\"sandbox\":\"sb-aaaaaaaaaaaa\","
                + "\"force\":false}");
        INTEGER_TEMPLATES.put("validate", "{\"op\":\"validate\",\"id\":${id},\"sandbox\":\"sb-aaaaaaaaaaaa\"}");
        INTEGER_TEMPLATES.put("build", "{\"op\":\"build\",\"id\":${id},\"sandbox\":\"sb-aaaaaaaaaaaa\"}");
        INTEGER_TEMPLATES.put("inspect", "{\"op\":\"inspect\",\"id\":${id},\"system\":{\"type\":\"generation\","
                + "\"number\":${system.number}}}");
        INTEGER_TEMPLATES.put("compare", "{\"op\":\"compare\",\"id\":${id},\"from\":{\"type\":\"generation\","
                + "\"number\":${from.number}},\"to\":{\"type\":\"generation\",\"number\":${to.number}}}");
        INTEGER_TEMPLATES.put("baseline", "{\"op\":\"baseline\",\"id\":${id}}");
        INTEGER_TEMPLATES.put("apply", "{\"op\":\"apply\",\"id\":${id},\"generation\":${generation},"
                + "\"mode\":\"SWITCH\",\"confirmSeconds\":${confirmSeconds}}");
        INTEGER_TEMPLATES.put("confirm", "{\"op\":\"confirm\",\"id\":${id}}");
        INTEGER_TEMPLATES.put("revert", "{\"op\":\"revert\",\"id\":${id}}");
        INTEGER_TEMPLATES.put("apply.status", "{\"op\":\"apply.status\",\"id\":${id}}");
        INTEGER_TEMPLATES.put("verify", "{\"op\":\"verify\",\"id\":${id}}");
        INTEGER_TEMPLATES.put("generations", "{\"op\":\"generations\",\"id\":${id}}");
        INTEGER_TEMPLATES.put("pin", "{\"op\":\"pin\",\"id\":${id},\"generation\":${generation}}");
        INTEGER_TEMPLATES.put("unpin", "{\"op\":\"unpin\",\"id\":${id},\"generation\":${generation}}");
        INTEGER_TEMPLATES.put("rollback", "{\"op\":\"rollback\",\"id\":${id},\"generation\":${generation},"
                + "\"mode\":\"SWITCH\"}");
        INTEGER_TEMPLATES.put("signoff", "{\"op\":\"signoff\",\"id\":${id},\"operatorName\":\"Bear\",\"answers\":"
                + "[{\"item\":\"x\",\"checked\":true}]}");
        INTEGER_TEMPLATES.put("audit.read", "{\"op\":\"audit.read\",\"id\":${id},\"from\":${from},\"limit\":${limit}}");
        INTEGER_TEMPLATES.put("audit.verify", "{\"op\":\"audit.verify\",\"id\":${id}}");
        INTEGER_TEMPLATES.put("audit.acknowledge", "{\"op\":\"audit.acknowledge\",\"id\":${id},\"note\":\"n\"}");
        INTEGER_TEMPLATES.put("system.adopt", "{\"op\":\"system.adopt\",\"id\":${id},\"storePath\":"
                + "\"/nix/store/00000000000000000000000000000000-nixos-system-x\",\"narHash\":\"sha256:"
                + "0".repeat(52) + "\"}");
    }

    /** A valid value for each integer field, by its name. */
    private static final Map<String, String> GOOD = Map.of("id", "2", "protocol", "1", "target", "1",
            "generation", "1", "confirmSeconds", "30", "from", "1", "limit", "10", "number", "1");
    /** Numbers that are not integers as JSON writes them: each must be refused, never rounded or scaled. */
    private static final List<String> NOT_INTEGERS = List.of("1.9", "1e3", "1.0", "-0.5", "2E1", "1.5e300", "0.0",
            "1E-2", "9.99e2");

    private static final java.util.regex.Pattern PLACEHOLDER = java.util.regex.Pattern.compile("\\$\\{([a-zA-Z.]+)}");

    private static String fill(String template, String field, String value, boolean hello) {
        java.util.regex.Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(1);
            String leaf = name.substring(name.lastIndexOf('.') + 1);
            String v = name.equals(field) ? value : hello && leaf.equals("id") ? "1" : GOOD.get(leaf);
            m.appendReplacement(out, java.util.regex.Matcher.quoteReplacement(v));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static List<String> placeholders(String template) {
        List<String> out = new ArrayList<>();
        java.util.regex.Matcher m = PLACEHOLDER.matcher(template);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /** "op:field" for every integer field of every request, found by reflection (nested: "compare:from.number"). */
    static java.util.Set<String> integerFields() {
        java.util.Set<String> out = new java.util.TreeSet<>();
        collect(org.saferebuild.protocol.Request.class, null, out);
        return out;
    }

    private static void collect(Class<?> type, String op, java.util.Set<String> out) {
        com.fasterxml.jackson.annotation.JsonSubTypes subs =
                type.getAnnotation(com.fasterxml.jackson.annotation.JsonSubTypes.class);
        if (subs != null && op == null) {
            for (com.fasterxml.jackson.annotation.JsonSubTypes.Type t : subs.value()) {
                collect(t.value(), t.name().isEmpty() ? null : t.name(), out);
            }
            return;
        }
        if (type.isRecord() && op != null) {
            fieldsOf(type, op, "", out);
        }
    }

    private static void fieldsOf(Class<?> record, String op, String prefix, java.util.Set<String> out) {
        for (java.lang.reflect.RecordComponent c : record.getRecordComponents()) {
            Class<?> t = c.getType();
            if (t == int.class || t == long.class || t == Integer.class || t == Long.class) {
                out.add(op + ":" + prefix + c.getName());
            } else if (t.getPackageName().equals("org.saferebuild.protocol") && !t.isEnum()) {
                com.fasterxml.jackson.annotation.JsonSubTypes subs =
                        t.getAnnotation(com.fasterxml.jackson.annotation.JsonSubTypes.class);
                if (subs != null) {
                    for (com.fasterxml.jackson.annotation.JsonSubTypes.Type s : subs.value()) {
                        fieldsOf(s.value(), op, prefix + c.getName() + ".", out);
                    }
                } else if (t.isRecord()) {
                    fieldsOf(t, op, prefix + c.getName() + ".", out);
                }
            } else if (c.getGenericType() instanceof java.lang.reflect.ParameterizedType pt
                    && pt.getActualTypeArguments()[0] instanceof Class<?> e && e.isRecord()
                    && e.getPackageName().equals("org.saferebuild.protocol")) {
                fieldsOf(e, op, prefix + c.getName() + "[].", out);
            }
        }
    }

    @Test
    void everyIntegerFieldOfEveryRequestHasATemplate() {
        java.util.Set<String> covered = new java.util.TreeSet<>();
        INTEGER_TEMPLATES.forEach((op, t) -> placeholders(t).forEach(f -> covered.add(op + ":" + f)));
        assertThat(covered).as("integer fields with a template (add a template for a new one)")
                .isEqualTo(integerFields());
    }

    @Test
    void aNumberWithAFractionOrExponentInAnyIntegerFieldIsRefusedByTheDecoder() throws Exception {
        for (Map.Entry<String, String> t : INTEGER_TEMPLATES.entrySet()) {
            boolean hello = t.getKey().equals("hello");
            String good = fill(t.getValue(), "", "", hello);
            assertThat(Json.decodeRequest(good)).as(good).isNotNull();
            for (String field : placeholders(t.getValue())) {
                for (String bad : NOT_INTEGERS) {
                    String frame = fill(t.getValue(), field, bad, hello);
                    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Json.decodeRequest(frame))
                            .as("%s must be refused", frame).isInstanceOf(FrameException.class);
                }
            }
        }
    }

    /**
     * The real engine, one session per integer field: a non-integral number is a PROTOCOL error and
     * the connection is closed; nothing is done with a rounded value (generation 1.9 is not a
     * rollback to generation 1, id 1e3 is not request 1000).
     */
    @Test
    void theEngineRefusesANonIntegralNumberInEveryIntegerField() throws Exception {
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        System.out.println("ProtocolFuzzTest integers: seed=" + seed);
        Random rnd = new Random(seed);
        Path base = EngineHarness.privateBase();
        Path cfg = base.resolve("engine.json");
        Files.writeString(cfg, "{\"stateDir\":\"" + base.resolve("state") + "\",\"auditLog\":\""
                + base.resolve("audit/a.jsonl") + "\",\"plans\":[\"debian-test\"],\"minFreeBytes\":1}");
        String hello = "{\"op\":\"hello\",\"id\":1,\"protocol\":1,\"client\":\"fuzz\"}\n";
        int session = 0;
        for (Map.Entry<String, String> t : INTEGER_TEMPLATES.entrySet()) {
            boolean isHello = t.getKey().equals("hello");
            for (String field : placeholders(t.getValue())) {
                String bad = NOT_INTEGERS.get(rnd.nextInt(NOT_INTEGERS.size()));
                String frame = fill(t.getValue(), field, bad, isHello) + "\n";
                String input = (isHello ? "" : hello) + frame;
                String what = "seed " + seed + ": " + frame.strip();
                List<Event> events = session(cfg, input.getBytes(StandardCharsets.UTF_8),
                        base.resolve("int-" + session++ + ".log"), what);
                assertThat(events).as(what).isNotEmpty();
                Event last = events.get(events.size() - 1);
                assertThat(last).as(what).isInstanceOf(Event.Failure.class);
                assertThat(((Event.Failure) last).code()).as(what).isEqualTo(ProblemCode.PROTOCOL);
                assertThat(((Event.Failure) last).message()).as(what).contains("could not read a request");
                assertThat(events).as("nothing but the handshake and the refusal: %s", what)
                        .hasSize(isHello ? 1 : 2);
            }
        }
        assertThat(Files.exists(base.resolve("audit/a.jsonl"))).as("nothing was recorded, so nothing was done")
                .isFalse();
    }

    /**
     * 2,000 requests sent at once on one connection: the engine works on at most
     * {@code Protocol.MAX_IN_FLIGHT} of them and answers BUSY to the rest, so its threads and child
     * processes stay bounded; every request gets an answer.
     */
    @Test
    void aFloodOfRequestsOnOneConnectionIsBoundedAndEveryOneAnswered() throws Exception {
        Path base = EngineHarness.privateBase();
        try (EngineHarness engine = EngineHarness.builder().base(base).start()) {
            engine.handshake();
            long pid = engine.process().pid();
            List<org.saferebuild.protocol.EngineConnection.Call> calls = new ArrayList<>();
            int maxThreads = 0;
            long maxChildren = 0;
            for (int i = 0; i < 2000; i++) {
                calls.add(engine.send(id -> new org.saferebuild.protocol.Request.Preflight(id, null)));
                if (i % 50 == 0) {
                    maxThreads = Math.max(maxThreads, threads(pid));
                    maxChildren = Math.max(maxChildren, ProcessHandle.of(pid).map(h -> h.descendants().count()).orElse(0L));
                }
            }
            int busy = 0;
            int answered = 0;
            for (org.saferebuild.protocol.EngineConnection.Call c : calls) {
                while (!c.done().isDone()) {
                    maxThreads = Math.max(maxThreads, threads(pid));
                    maxChildren = Math.max(maxChildren, ProcessHandle.of(pid).map(h -> h.descendants().count()).orElse(0L));
                    Thread.sleep(5);
                }
                Event e = c.done().get();
                answered++;
                if (e instanceof Event.Failure f && f.code() == ProblemCode.BUSY) {
                    busy++;
                    assertThat(f.message()).contains("requests are already running on this connection");
                    assertThat(f.fix()).isNotBlank();
                } else {
                    assertThat(e).isInstanceOf(Event.Result.class);
                }
            }
            System.out.println("ProtocolFuzzTest flood: " + answered + " answered, " + busy + " BUSY, at most "
                    + maxThreads + " threads and " + maxChildren + " child processes");
            assertThat(answered).isEqualTo(2000);
            assertThat(busy).as("the excess is refused, not queued").isPositive();
            assertThat(maxThreads).as("threads of the engine").isLessThan(120);
            assertThat(maxChildren).as("child processes of the engine").isLessThanOrEqualTo(
                    4L * org.saferebuild.protocol.Protocol.MAX_IN_FLIGHT);
        }
    }

    private static int threads(long pid) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (l.startsWith("Threads:")) {
                    return Integer.parseInt(l.substring(8).strip());
                }
            }
        } catch (IOException | NumberFormatException e) {
            // the engine has exited
        }
        return 0;
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
