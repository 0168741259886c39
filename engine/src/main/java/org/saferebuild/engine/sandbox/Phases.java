package org.saferebuild.engine.sandbox;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Where an open or a close spends its time: microseconds per named step, in order (for the benchmark). */
final class Phases {
    private long last = System.nanoTime();
    private final Map<String, Long> micros = new LinkedHashMap<>();

    /** Ends the step that began at the previous mark (or at construction). */
    void mark(String step) {
        long now = System.nanoTime();
        micros.merge(step, (now - last) / 1000, Long::sum);
        last = now;
    }

    /** A part of the step that is running, timed by the caller; it does not end that step. */
    void detail(String part, long partMicros) {
        micros.merge(part, partMicros, Long::sum);
    }

    Map<String, Long> done() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(micros));
    }
}
