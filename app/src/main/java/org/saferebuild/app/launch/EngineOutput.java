package org.saferebuild.app.launch;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * The engine's stderr (its log, and before it starts: pkexec's or sudo's own messages). Every
 * line goes to the engine log file; the last lines are kept so a refused or failed start can be
 * explained with what pkexec, sudo or the engine said.
 */
public final class EngineOutput {
    private static final int TAIL_LINES = 40;
    private final Deque<String> tail = new ArrayDeque<>();
    private final File log;
    private final Thread pump;

    private EngineOutput(File log, Thread pump) {
        this.log = log;
        this.pump = pump;
    }

    /** Output that was not captured (the launcher redirected it elsewhere). */
    public static EngineOutput none(File log) {
        return new EngineOutput(log, null);
    }

    /** Starts copying {@code stderr} line by line to {@code log} (appending; null: this process's stderr). */
    public static EngineOutput pump(InputStream stderr, File log) {
        EngineOutput[] holder = new EngineOutput[1];
        Thread t = new Thread(() -> holder[0].copy(stderr), "engine-stderr");
        t.setDaemon(true);
        holder[0] = new EngineOutput(log, t);
        t.start();
        return holder[0];
    }

    private void copy(InputStream stderr) {
        try (OutputStream sink = log == null ? null : new FileOutputStream(log, true);
             BufferedReader r = new BufferedReader(new InputStreamReader(stderr, StandardCharsets.UTF_8))) {
            PrintStream out = sink == null ? System.err : new PrintStream(sink, true, StandardCharsets.UTF_8);
            String line;
            while ((line = r.readLine()) != null) {
                out.println(line);
                synchronized (tail) {
                    if (tail.size() == TAIL_LINES) {
                        tail.removeFirst();
                    }
                    tail.addLast(line);
                }
            }
        } catch (IOException e) {
            // the engine is gone; what was read is kept
        }
    }

    /** Waits (briefly) until everything the process wrote has been read, e.g. after it exited. */
    void drain(long millis) {
        if (pump != null) {
            try {
                pump.join(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The last lines written, oldest first. */
    public List<String> tail() {
        synchronized (tail) {
            return List.copyOf(tail);
        }
    }

    /**
     * What pkexec or sudo said: the last line starting with {@code prefix} (pkexec's refusal is
     * followed by "This incident has been reported."), otherwise the last non-empty line.
     */
    public String said(String prefix) {
        List<String> t = tail();
        for (int i = t.size() - 1; i >= 0; i--) {
            if (t.get(i).strip().startsWith(prefix)) {
                return t.get(i).strip();
            }
        }
        return lastLine();
    }

    /** The last non-empty line, or "" (pkexec and sudo print their refusal as one line). */
    public String lastLine() {
        List<String> t = tail();
        for (int i = t.size() - 1; i >= 0; i--) {
            if (!t.get(i).isBlank()) {
                return t.get(i).strip();
            }
        }
        return "";
    }

    /** The log file, or null when the output went to the app's own stderr. */
    public File log() {
        return log;
    }
}
