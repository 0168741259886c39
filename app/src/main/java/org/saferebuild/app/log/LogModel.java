package org.saferebuild.app.log;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import javafx.beans.property.ReadOnlyLongProperty;
import javafx.beans.property.ReadOnlyLongWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;

/**
 * The log of one operation, bounded in memory: every line goes to the full log file (the
 * operator can open it) and is counted; only the newest {@link #capacity()} lines wait for the
 * view. Lines arrive on the engine's reader thread; the view drains them on the FX thread once
 * per frame ({@link #drain}), so a million-line build log costs the UI a few milliseconds a frame
 * and the heap a fixed amount.
 */
public final class LogModel {
    public static final int DEFAULT_CAPACITY = Integer.getInteger("saferebuild.logCapacity", 10_000);

    private final int capacity;
    private final ArrayDeque<LogLine> pending = new ArrayDeque<>();
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong warnings = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();
    private BufferedWriter file;
    private final ReadOnlyObjectWrapper<Path> fullLog = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyLongWrapper lines = new ReadOnlyLongWrapper();
    private final ReadOnlyLongWrapper errorCount = new ReadOnlyLongWrapper();
    private final ReadOnlyLongWrapper warningCount = new ReadOnlyLongWrapper();
    private final ReadOnlyLongWrapper generation = new ReadOnlyLongWrapper();

    public LogModel(int capacity) {
        this.capacity = capacity;
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

    /** Lines received so far (updated on the UI thread by {@link #drain}). */
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

    public long receivedNow() {
        return received.get();
    }

    public long errorsNow() {
        return errors.get();
    }

    public long warningsNow() {
        return warnings.get();
    }

    /** Lines that never reached the view because newer ones pushed them out (they are in the file). */
    public long skippedNow() {
        return skipped.get();
    }

    // Commands

    /** Starts a new log, written in full to {@code file} (null: keep none). Call on the UI thread. */
    public void reset(Path file) {
        synchronized (pending) {
            closeFile();
            pending.clear();
            received.set(0);
            errors.set(0);
            warnings.set(0);
            skipped.set(0);
            if (file != null) {
                try {
                    Files.createDirectories(file.getParent());
                    this.file = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
                } catch (IOException e) {
                    this.file = null;
                }
            }
        }
        fullLog.set(file);
        lines.set(0);
        errorCount.set(0);
        warningCount.set(0);
        generation.set(generation.get() + 1);
    }

    /** Adds lines from any thread (the engine's reader thread): counted, written, queued for the view. */
    public void append(String stream, List<String> batch) {
        List<LogLine> classified = new ArrayList<>(batch.size());
        long e = 0;
        long w = 0;
        for (String s : batch) {
            LogLine l = LogLine.of(s);
            if (l.level() == LogLine.Level.ERROR) {
                e++;
            } else if (l.level() == LogLine.Level.WARNING) {
                w++;
            }
            classified.add(l);
        }
        synchronized (pending) {
            received.addAndGet(batch.size());
            errors.addAndGet(e);
            warnings.addAndGet(w);
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
            for (LogLine l : classified) {
                if (pending.size() == capacity) {
                    pending.removeFirst();
                    skipped.incrementAndGet();
                }
                pending.addLast(l);
            }
        }
    }

    /** Flushes the full log file (at the end of an operation, before the operator opens it). */
    public void flushFile() {
        synchronized (pending) {
            if (file != null) {
                try {
                    file.flush();
                } catch (IOException e) {
                    closeFile();
                }
            }
        }
    }

    /**
     * Takes up to {@code max} queued lines for the view and publishes the counters. Call on the UI
     * thread.
     */
    public List<LogLine> drain(int max) {
        List<LogLine> out;
        synchronized (pending) {
            int n = Math.min(max, pending.size());
            out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add(pending.removeFirst());
            }
        }
        lines.set(received.get());
        errorCount.set(errors.get());
        warningCount.set(warnings.get());
        return out;
    }

    public int pendingCount() {
        synchronized (pending) {
            return pending.size();
        }
    }

    public boolean hasPending() {
        synchronized (pending) {
            return !pending.isEmpty();
        }
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
