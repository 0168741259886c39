package org.saferebuild.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Where the command line talks: results on stdout (human text, or one JSON document with --json),
 * progress and questions on stderr. Progress is redrawn in place only when stderr is a terminal;
 * questions are asked only when stdin is one (otherwise the answer must come as a flag).
 */
final class Io {
    final PrintStream out;
    final PrintStream err;
    final boolean json;
    /** stdin is a terminal: the operator can be asked. */
    final boolean interactive;
    /** stderr is a terminal: progress is redrawn on one line. */
    final boolean progressLine;
    private final BlockingQueue<Optional<String>> lines = new ArrayBlockingQueue<>(16);
    private final InputStream in;
    private Thread reader;
    private volatile boolean ended;
    private boolean lineOpen;

    Io(InputStream in, PrintStream out, PrintStream err, boolean json, boolean interactive, boolean progressLine) {
        this.in = in;
        this.out = out;
        this.err = err;
        this.json = json;
        this.interactive = interactive;
        this.progressLine = progressLine;
    }

    /** Whether file descriptor {@code fd} of this process is a terminal (/proc/self/fd/N is a tty or pts). */
    static boolean isTerminal(int fd) {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Human output (nothing in --json mode: the JSON document is the output). */
    void say(String text) {
        if (!json) {
            endLine();
            out.println(text);
            out.flush();
        }
    }

    /** A step as it happens, on stderr: redrawn in place on a terminal, one line each otherwise. */
    synchronized void progress(String text) {
        String t = text.replace('\n', ' ');
        if (progressLine) {
            int width = 118;
            err.print("\r\033[K" + (t.length() > width ? t.substring(0, width - 1) + "…" : t));
            lineOpen = true;
        } else {
            err.println(t);
        }
        err.flush();
    }

    /** A line on stderr that stays (a finished step, a warning). */
    synchronized void note(String text) {
        endLine();
        err.println(text);
        err.flush();
    }

    private synchronized void endLine() {
        if (lineOpen) {
            err.print("\r\033[K");
            err.flush();
            lineOpen = false;
        }
    }

    /** Asks on the terminal and returns the answer line; empty when stdin ended. */
    Optional<String> ask(String question) {
        return ask(question, null);
    }

    /** As {@link #ask(String)}, giving up after {@code within} (null: wait as long as it takes). */
    Optional<String> ask(String question, Duration within) {
        return ask(question, within, () -> false);
    }

    /** As {@link #ask(String, Duration)}, also giving up as soon as {@code abandon} says so (checked each second). */
    Optional<String> ask(String question, Duration within, java.util.function.BooleanSupplier abandon) {
        endLine();
        err.print(question);
        err.flush();
        startReader();
        if (ended && lines.isEmpty()) {
            err.println();
            return Optional.empty();
        }
        try {
            long end = within == null ? Long.MAX_VALUE : System.nanoTime() + within.toNanos();
            Optional<String> answer = null;
            while (answer == null && System.nanoTime() < end && !abandon.getAsBoolean()) {
                answer = lines.poll(Math.min(1000, Math.max(1, (end - System.nanoTime()) / 1_000_000)),
                        TimeUnit.MILLISECONDS);
            }
            if (answer == null) {
                err.println();
                return Optional.empty();
            }
            return answer.map(String::strip);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private synchronized void startReader() {
        if (reader != null) {
            return;
        }
        reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.put(Optional.of(line));
                }
            } catch (IOException | InterruptedException e) {
                // stdin is gone
            }
            ended = true;
            lines.offer(Optional.empty());
        }, "stdin");
        reader.setDaemon(true);
        reader.start();
    }
}
