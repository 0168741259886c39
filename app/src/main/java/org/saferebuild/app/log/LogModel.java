package org.saferebuild.app.log;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javafx.beans.property.ReadOnlyLongProperty;
import javafx.beans.property.ReadOnlyLongWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;

/**
 * The log of one operation, bounded in memory: every line goes to the full log file (the
 * operator can open it) and is counted; only the newest {@link #capacity()} lines stay in a ring
 * that the view reads directly. Lines arrive on the engine's reader thread; the view reads the
 * few lines it shows once per frame ({@link #window}), so a million-line build log costs the FX
 * thread a screenful of lines a frame and the heap a fixed amount. Lines are numbered from 0 in
 * the order they arrived; the ring keeps the numbers {@link #firstRetained()} to {@link #total()}-1.
 */
public final class LogModel {
    public static final int DEFAULT_CAPACITY = Integer.getInteger("saferebuild.logCapacity", 10_000);
    /**
     * The most lines a second a flood is taken in at, after a burst of {@link #BURST} lines: the
     * engine's reader thread waits beyond it, so a log that floods cannot take the processor the
     * window needs to stay responsive (on two cores, two busy threads already starve it). Nix never
     * prints this fast; a benchmark's flood does (0: no limit).
     */
    public static final long MAX_LINES_PER_SECOND = Long.getLong("saferebuild.logMaxLinesPerSecond", 150_000L);
    static final long BURST = 20_000;

    private final int capacity;
    private final LogLine[] ring;
    // Guarded by "this": the ring and the counters, which the UI thread reads every frame. The file
    // has its own lock: a write the kernel holds back (dirty pages being flushed) must not hold the
    // UI thread, which never touches the file.
    private final Object fileLock = new Object();
    private long total;
    private long errors;
    private long warnings;
    private int longest;
    private BufferedWriter file; // guarded by fileLock
    // The reader's pace (any thread that appends; in practice the engine connection's one).
    private double allowance = BURST;
    private long paceAt = System.nanoTime();
    private final ReadOnlyObjectWrapper<Path> fullLog = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyLongWrapper lines = new ReadOnlyLongWrapper();
    private final ReadOnlyLongWrapper errorCount = new ReadOnlyLongWrapper();
    private final ReadOnlyLongWrapper warningCount = new ReadOnlyLongWrapper();
    private final ReadOnlyLongWrapper generation = new ReadOnlyLongWrapper();

    public LogModel(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1");
        }
        this.capacity = capacity;
        this.ring = new LogLine[capacity];
    }

    public LogModel() {
        this(DEFAULT_CAPACITY);
    }

    public int capacity() {
        return capacity;
    }

    public ReadOnlyObjectProperty<Path> fullLogProperty() {
        return fullLog.getReadOnlyProperty();
    }

    /** Lines received so far, as last published on the UI thread ({@link #publish}). */
    public ReadOnlyLongProperty linesProperty() {
        return lines.getReadOnlyProperty();
    }

    public ReadOnlyLongProperty errorsProperty() {
        return errorCount.getReadOnlyProperty();
    }

    public ReadOnlyLongProperty warningsProperty() {
        return warningCount.getReadOnlyProperty();
    }

    /** Bumped by {@link #reset}: the view clears itself when it changes. */
    public ReadOnlyLongProperty generationProperty() {
        return generation.getReadOnlyProperty();
    }

    /** Lines received so far (any thread). */
    public synchronized long total() {
        return total;
    }

    public synchronized long receivedNow() {
        return total;
    }

    public synchronized long errorsNow() {
        return errors;
    }

    public synchronized long warningsNow() {
        return warnings;
    }

    /** The number of the oldest line still in memory (older ones are only in the file). */
    public synchronized long firstRetained() {
        return Math.max(0, total - capacity);
    }

    /** Lines that newer ones pushed out of memory (they are in the file). */
    public synchronized long skippedNow() {
        return firstRetained();
    }

    /** The longest line in characters since the last reset (for the view's horizontal extent). */
    public synchronized int longestLine() {
        return longest;
    }

    /** Line {@code n}, or null when it is not (or no longer) in memory. */
    public synchronized LogLine line(long n) {
        return n < firstRetained() || n >= total ? null : ring[(int) (n % capacity)];
    }

    /** Up to {@code count} lines from number {@code from} on, as far as they are in memory. */
    public synchronized List<LogLine> window(long from, int count) {
        long start = Math.max(from, firstRetained());
        long end = Math.min(total, from + Math.max(0, count));
        List<LogLine> out = new ArrayList<>((int) Math.max(0, end - start));
        for (long n = start; n < end; n++) {
            out.add(ring[(int) (n % capacity)]);
        }
        return out;
    }

    /**
     * The number of the next line in memory containing {@code needle} (case-insensitive), searching
     * forward from {@code from} (or backward), wrapping around once; -1 when none does.
     */
    public synchronized long find(String needle, long from, boolean forward) {
        long first = firstRetained();
        long n = total - first;
        if (needle == null || needle.isEmpty() || n == 0) {
            return -1;
        }
        String lower = needle.toLowerCase();
        long start = Math.min(Math.max(from, first), total - 1);
        for (long k = 0; k < n; k++) {
            long i = forward ? first + Math.floorMod(start - first + k, n) : first + Math.floorMod(start - first - k, n);
            if (ring[(int) (i % capacity)].text().toLowerCase().contains(lower)) {
                return i;
            }
        }
        return -1;
    }

    // Commands

    /** Starts a new log, written in full to {@code file} (null: keep none). Call on the UI thread. */
    public void reset(Path file) {
        synchronized (fileLock) {
            closeFile();
            if (file != null) {
                try {
                    Files.createDirectories(file.getParent());
                    this.file = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
                } catch (IOException e) {
                    this.file = null;
                }
            }
        }
        synchronized (this) {
            java.util.Arrays.fill(ring, null);
            total = 0;
            errors = 0;
            warnings = 0;
            longest = 0;
        }
        fullLog.set(file);
        lines.set(0);
        errorCount.set(0);
        warningCount.set(0);
        generation.set(generation.get() + 1);
    }

    /** Adds lines from any thread (the engine's reader thread): counted, written, kept in the ring. */
    public void append(String stream, List<String> batch) {
        LogLine[] classified = new LogLine[batch.size()];
        long e = 0;
        long w = 0;
        int max = 0;
        for (int i = 0; i < classified.length; i++) {
            LogLine l = LogLine.of(batch.get(i));
            if (l.level() == LogLine.Level.ERROR) {
                e++;
            } else if (l.level() == LogLine.Level.WARNING) {
                w++;
            }
            max = Math.max(max, l.text().length());
            classified[i] = l;
        }
        synchronized (fileLock) {
            if (file != null) {
                try {
                    for (String s : batch) {
                        file.write(s);
                        file.write('\n');
                    }
                } catch (IOException ex) {
                    closeFile();
                }
            }
        }
        synchronized (this) {
            for (LogLine l : classified) {
                ring[(int) (total % capacity)] = l;
                total++;
            }
            errors += e;
            warnings += w;
            longest = Math.max(longest, max);
        }
        pace(batch.size());
    }

    /** Token bucket: lines up to {@link #BURST} pass at once, a flood at {@link #MAX_LINES_PER_SECOND}. */
    private void pace(int lines) {
        if (MAX_LINES_PER_SECOND <= 0) {
            return;
        }
        long wait;
        synchronized (this) {
            long now = System.nanoTime();
            allowance = Math.min(BURST, allowance + (now - paceAt) * MAX_LINES_PER_SECOND / 1e9) - lines;
            paceAt = now;
            wait = allowance >= 0 ? 0 : (long) (-allowance * 1e9 / MAX_LINES_PER_SECOND);
        }
        if (wait > 0) {
            try {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Flushes the full log file (at the end of an operation, before the operator opens it). */
    public void flushFile() {
        synchronized (fileLock) {
            if (file != null) {
                try {
                    file.flush();
                } catch (IOException e) {
                    closeFile();
                }
            }
        }
    }

    /** Publishes the counters to the properties the screens bind to. Call on the UI thread. */
    public void publish() {
        long t;
        long e;
        long w;
        synchronized (this) {
            t = total;
            e = errors;
            w = warnings;
        }
        lines.set(t);
        errorCount.set(e);
        warningCount.set(w);
    }

    private void closeFile() {
        if (file != null) {
            try {
                file.close();
            } catch (IOException ignored) {
                // the in-memory view still has the lines
            }
            file = null;
        }
    }
}
