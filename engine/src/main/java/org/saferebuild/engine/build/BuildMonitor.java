package org.saferebuild.engine.build;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.NixEvent;
import org.saferebuild.protocol.Values;

/**
 * Follows a running {@code nix build --log-format internal-json} (Nix 2.8 through current):
 * activities (builds, the build count, downloads, path copies), builder phases and log lines,
 * and nix's messages. Lines that are not "@nix {…}" are read as nix's plain output, so an older
 * or differently configured nix still gives log lines and the builds it starts.
 * Every line is handed on, as the operator would read it, to the line consumer.
 */
final class BuildMonitor {
    // nix's ActivityType and ResultType numbers (src/libutil/logging.hh), stable since Nix 2.0.
    static final int ACT_COPY_PATH = 100;
    static final int ACT_FILE_TRANSFER = 101;
    static final int ACT_REALISE = 102;
    static final int ACT_COPY_PATHS = 103;
    static final int ACT_BUILDS = 104;
    static final int ACT_BUILD = 105;
    static final int ACT_SUBSTITUTE = 108;
    static final int RES_BUILD_LOG_LINE = 101;
    static final int RES_SET_PHASE = 104;
    static final int RES_PROGRESS = 105;
    static final int RES_SET_EXPECTED = 106;
    static final int RES_POST_BUILD_LOG_LINE = 107;
    /** nix's verbosity levels: error 0, warn 1, notice 2, info 3 (what nix prints by default). */
    private static final int LVL_INFO = 3;
    private static final int TAIL = 25;
    static final int MAX_LINE = 8192;

    private static final Pattern FAILED = Pattern.compile(
            "builder for '(/nix/store/[^']+\\.drv)' failed(?: with exit code (\\d+))?"
                    + "|Cannot build '(/nix/store/[^']+\\.drv)'"
                    + "|hash mismatch in fixed-output derivation '(/nix/store/[^']+)'");
    private static final Pattern EXIT_CODE = Pattern.compile("exit code (\\d+)");
    private static final Pattern PLAIN_BUILDING = Pattern.compile("^building '(/nix/store/[^']+\\.drv)'");
    private static final Pattern PLAIN_COPYING = Pattern.compile("^copying path '(/nix/store/[^']+)' from");

    private final Consumer<String> lines;
    private final Map<Long, Activity> activities = new HashMap<>();
    private final Map<String, Deque<String>> tails = new HashMap<>();
    private final Set<String> started = new LinkedHashSet<>();
    private final Set<String> finished = new LinkedHashSet<>();
    private final Set<String> fetchedPaths = new LinkedHashSet<>();
    private final Map<String, Integer> failedDrvs = new LinkedHashMap<>();
    private final List<String> errors = new ArrayList<>();
    private final Map<Long, long[]> transfers = new HashMap<>();
    private final int plannedByUs;
    private int[] builds; // done, expected, running, failed (nix's own count, when it sends one)
    private int[] copies;
    private boolean dirty = true;
    private boolean structured;
    /** Every derivation and download this build plans or starts, in the order nix named them. */
    private final Map<String, Drv> drvs = new LinkedHashMap<>();
    private final java.util.function.LongSupplier clock;

    /** One derivation (or download) and where it stands, for the build tree. */
    private static final class Drv {
        final String path;
        NixEvent.State state;
        String phase;
        Long startedAt;
        Long millis;
        Integer exitCode;
        boolean changed;

        Drv(String path, NixEvent.State state) {
            this.path = path;
            this.state = state;
        }
    }

    private static final class Activity {
        final int type;
        final String drvPath;
        String phase;

        Activity(int type, String drvPath) {
            this.type = type;
            this.drvPath = drvPath;
        }
    }

    /** @param planned derivations the dry run said would be built; -1 when unknown (nix's count is used) */
    BuildMonitor(int planned, Consumer<String> lines) {
        this(planned, lines, System::currentTimeMillis);
    }

    BuildMonitor(int planned, Consumer<String> lines, java.util.function.LongSupplier clock) {
        this.plannedByUs = planned;
        this.lines = lines;
        this.clock = clock;
    }

    /** What the dry run said will be built and downloaded: each starts as waiting. */
    synchronized void plan(List<String> builds, List<String> downloads) {
        for (String b : builds) {
            drvs.putIfAbsent(b, new Drv(b, NixEvent.State.WAITING));
        }
        for (String d : downloads) {
            drvs.putIfAbsent(d, new Drv(d, NixEvent.State.WAITING));
        }
    }

    private void moved(String path, NixEvent.State state) {
        if (!Values.isStorePath(path)) {
            return;
        }
        Drv d = drvs.computeIfAbsent(path, p -> new Drv(p, NixEvent.State.WAITING));
        if (d.state == state) {
            return;
        }
        long now = clock.getAsLong();
        switch (state) {
            case BUILDING, DOWNLOADING -> {
                d.startedAt = now;
                d.millis = null;
            }
            case DONE, DOWNLOADED, FAILED -> d.millis = d.startedAt == null ? null : now - d.startedAt;
            default -> { }
        }
        d.state = state;
        d.changed = true;
    }

    /** One line of nix's stderr. */
    synchronized void accept(String raw) {
        if (raw.startsWith("@nix {")) {
            JsonNode n;
            try {
                n = Json.mapper().readTree(raw.substring(5));
            } catch (IOException e) {
                plain(raw);
                return;
            }
            structured = true;
            switch (n.path("action").asText()) {
                case "start" -> start(n);
                case "stop" -> stop(n.path("id").asLong());
                case "result" -> result(n);
                case "msg" -> message(n.path("level").asInt(LVL_INFO), n.path("msg").asText(""));
                default -> { }
            }
        } else {
            plain(raw);
        }
    }

    private void start(JsonNode n) {
        long id = n.path("id").asLong();
        int type = n.path("type").asInt();
        JsonNode fields = n.path("fields");
        String text = NixEnv.stripAnsi(n.path("text").asText(""));
        switch (type) {
            case ACT_BUILD -> {
                String drv = fields.path(0).asText("");
                activities.put(id, new Activity(type, drv));
                started.add(drv);
                moved(drv, NixEvent.State.BUILDING);
                dirty = true;
                emit(text.isEmpty() ? "building '" + drv + "'..." : text + "...");
            }
            case ACT_SUBSTITUTE -> {
                activities.put(id, new Activity(type, fields.path(0).asText("")));
                moved(fields.path(0).asText(""), NixEvent.State.DOWNLOADING);
                dirty = true;
                emit(text + "...");
            }
            case ACT_FILE_TRANSFER -> {
                activities.put(id, new Activity(type, null));
                transfers.put(id, new long[2]);
                emit(text + "...");
                dirty = true;
            }
            default -> {
                activities.put(id, new Activity(type, null));
                if (!text.isEmpty() && n.path("level").asInt(LVL_INFO + 1) <= LVL_INFO) {
                    emit(text);
                }
            }
        }
    }

    private void stop(long id) {
        Activity a = activities.remove(id);
        if (a == null) {
            return;
        }
        if (a.type == ACT_BUILD && !failedDrvs.containsKey(a.drvPath)) {
            finished.add(a.drvPath);
            moved(a.drvPath, NixEvent.State.DONE);
        } else if (a.type == ACT_SUBSTITUTE) {
            fetchedPaths.add(a.drvPath);
            moved(a.drvPath, NixEvent.State.DOWNLOADED);
        }
        dirty = true;
    }

    private void result(JsonNode n) {
        long id = n.path("id").asLong();
        JsonNode f = n.path("fields");
        Activity a = activities.get(id);
        switch (n.path("type").asInt()) {
            case RES_BUILD_LOG_LINE, RES_POST_BUILD_LOG_LINE -> {
                String drv = a == null ? null : a.drvPath;
                String line = NixEnv.stripAnsi(f.path(0).asText(""));
                if (drv != null && Values.isStorePath(drv)) {
                    Deque<String> t = tails.computeIfAbsent(drv, k -> new ArrayDeque<>());
                    if (t.size() == TAIL) {
                        t.removeFirst();
                    }
                    t.addLast(line);
                    emit(name(drv) + "> " + line);
                } else {
                    emit(line);
                }
            }
            case RES_SET_PHASE -> {
                if (a != null) {
                    a.phase = f.path(0).asText(null);
                    Drv d = a.drvPath == null ? null : drvs.get(a.drvPath);
                    if (d != null) {
                        d.phase = a.phase;
                        d.changed = true;
                    }
                    dirty = true;
                }
            }
            case RES_PROGRESS -> {
                int[] v = {f.path(0).asInt(), f.path(1).asInt(), f.path(2).asInt(), f.path(3).asInt()};
                if (a != null && a.type == ACT_BUILDS) {
                    builds = v;
                    dirty = true;
                } else if (a != null && a.type == ACT_COPY_PATHS) {
                    copies = v;
                    dirty = true;
                } else if (a != null && a.type == ACT_FILE_TRANSFER) {
                    transfers.put(id, new long[] {f.path(0).asLong(), f.path(1).asLong()});
                    dirty = true;
                }
            }
            default -> { }
        }
    }

    private void message(int level, String msg) {
        String clean = NixEnv.stripAnsi(msg);
        if (level == 0) {
            errors.add(clean);
            noteFailure(clean);
        }
        if (level <= LVL_INFO) {
            clean.lines().forEach(this::emit);
        }
    }

    private void plain(String raw) {
        String line = NixEnv.stripAnsi(raw);
        Matcher b = PLAIN_BUILDING.matcher(line);
        if (b.find()) {
            // nix prints only the starts: a new one means nothing about the others, so the
            // counts stay "started"; the end of the run settles them.
            started.add(b.group(1));
            // Plain output names only starts: the build before this one (nix runs one at a time
            // unless max-jobs says otherwise) is taken as done; the end of the run settles the rest.
            for (Drv d : drvs.values()) {
                if (d.state == NixEvent.State.BUILDING && !d.path.equals(b.group(1))) {
                    moved(d.path, NixEvent.State.DONE);
                }
            }
            moved(b.group(1), NixEvent.State.BUILDING);
            dirty = true;
        }
        Matcher c = PLAIN_COPYING.matcher(line);
        if (c.find()) {
            fetchedPaths.add(c.group(1));
            moved(c.group(1), NixEvent.State.DOWNLOADED);
            dirty = true;
        }
        if (line.startsWith("error:")) {
            errors.add(line);
        }
        noteFailure(line);
        emit(line);
    }

    private void noteFailure(String text) {
        Matcher m = FAILED.matcher(text);
        while (m.find()) {
            String drv = m.group(1) != null ? m.group(1) : m.group(3) != null ? m.group(3) : m.group(4);
            Matcher code = EXIT_CODE.matcher(text);
            failedDrvs.putIfAbsent(drv, code.find() ? Integer.valueOf(code.group(1)) : null);
            finished.remove(drv);
            moved(drv, NixEvent.State.FAILED);
            Drv d = drvs.get(drv);
            if (d != null) {
                d.exitCode = failedDrvs.get(drv);
                d.changed = true;
            }
            dirty = true;
        }
    }

    private void emit(String line) {
        lines.accept(line.length() > MAX_LINE ? line.substring(0, MAX_LINE) + " […]" : line);
    }

    static String name(String storePath) {
        String n = storePath.startsWith("/nix/store/") && storePath.length() > 44 ? storePath.substring(44) : storePath;
        return n.endsWith(".drv") ? n.substring(0, n.length() - 4) : n;
    }

    /** The state to report, or null when nothing changed since the last call. */
    synchronized NixEvent.BuildProgress changed(long requestId) {
        if (!dirty) {
            return null;
        }
        dirty = false;
        return snapshot(requestId);
    }

    synchronized NixEvent.BuildProgress snapshot(long requestId) {
        List<NixEvent.Active> active = new ArrayList<>();
        for (Activity a : activities.values()) {
            if (a.type == ACT_BUILD && Values.isStorePath(a.drvPath)) {
                active.add(new NixEvent.Active(a.drvPath, name(a.drvPath), a.phase));
            }
        }
        active.sort((x, y) -> x.name().compareTo(y.name()));
        int planned;
        int running;
        int done;
        int failed;
        if (builds != null) {
            done = builds[0];
            running = builds[2];
            failed = builds[3];
            // nix's own expectation rises and falls while it checks what is valid already; the
            // dry run's answer is what it will build, unless it ends up building more.
            planned = plannedByUs >= 0 ? Math.max(plannedByUs, done + running + failed) : builds[1];
        } else if (structured) {
            failed = failedDrvs.size();
            done = finished.size();
            running = active.size();
            planned = Math.max(plannedByUs, started.size());
        } else {
            // Plain output names only the builds that start; nix runs them one after another
            // unless max-jobs says otherwise, so the newest is taken as the one running.
            failed = failedDrvs.size();
            boolean over = finished.containsAll(started);
            running = over || started.isEmpty() ? 0 : 1;
            done = over ? started.size() - failed : Math.max(0, started.size() - running - failed);
            planned = Math.max(plannedByUs, started.size());
            if (running == 1) {
                String last = null;
                for (String d : started) {
                    last = d;
                }
                active.add(new NixEvent.Active(last, name(last), null));
            }
        }
        long bytesDone = 0;
        long bytesExpected = 0;
        for (long[] t : transfers.values()) {
            bytesDone += t[0];
            bytesExpected += t[1];
        }
        int fetchPlanned = copies != null ? copies[1] : fetchedPaths.size();
        int fetchDone = copies != null ? copies[0] : fetchedPaths.size();
        return new NixEvent.BuildProgress(requestId, planned, running, done, failed, active, fetchPlanned, fetchDone,
                bytesDone, bytesExpected);
    }

    /** The first derivation nix reported as failed, and its exit code where nix gave one. */
    synchronized Optional<Map.Entry<String, Integer>> firstFailure() {
        return failedDrvs.entrySet().stream().findFirst();
    }

    /** The last lines a derivation's builder printed. */
    synchronized List<String> tail(String drvPath) {
        return List.copyOf(tails.getOrDefault(drvPath, new ArrayDeque<>()));
    }

    synchronized List<String> errors() {
        return List.copyOf(errors);
    }

    /** Derivations this run built (finished without failing). */
    synchronized int built() {
        return builds != null ? builds[0] : finished.size();
    }

    synchronized int fetched() {
        return copies != null ? copies[0] : fetchedPaths.size();
    }

    /** The run ended well: every build it started is done, and so is everything it planned. */
    synchronized void succeeded() {
        finished.addAll(started);
        activities.values().removeIf(a -> a.type == ACT_BUILD);
        for (Drv d : drvs.values()) {
            if (d.state == NixEvent.State.BUILDING || d.state == NixEvent.State.WAITING) {
                moved(d.path, NixEvent.State.DONE);
            } else if (d.state == NixEvent.State.DOWNLOADING) {
                moved(d.path, NixEvent.State.DOWNLOADED);
            }
        }
        dirty = true;
    }

    /** The derivations whose state changed since the last call, or null when none did. */
    synchronized NixEvent.Derivations changedDerivations(long requestId) {
        List<NixEvent.DerivationState> out = new ArrayList<>();
        for (Drv d : drvs.values()) {
            if (d.changed) {
                d.changed = false;
                out.add(new NixEvent.DerivationState(d.path, name(d.path), d.state, d.phase, d.startedAt, d.millis,
                        d.exitCode, d.state == NixEvent.State.FAILED ? List.copyOf(tails.getOrDefault(d.path,
                        new ArrayDeque<>())) : List.of()));
            }
        }
        return out.isEmpty() ? null : new NixEvent.Derivations(requestId, out);
    }
}
