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

    Map<String, Long> done() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(micros));
    }
}
