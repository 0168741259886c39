package org.saferebuild.engine.proc;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.saferebuild.engine.sys.DaemonThreads;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place in the engine that starts processes (STYLE.md: argv lists only, cleared
 * environment, absolute tool paths, timeouts, streamed output). Nothing else calls
 * {@link ProcessBuilder}.
 */
public final class Exec {
    private static final Logger LOG = LoggerFactory.getLogger(Exec.class);
    /** Captured stdout is bounded; callers that expect more stream it instead. */
    private static final int MAX_CAPTURE_BYTES = 256 * 1024 * 1024;
    private static final int STDERR_TAIL_LINES = 400;
    /**
     * The threads that read processes' output, kept between processes (idle ones end after a
     * minute): a new thread per stream cost up to a millisecond each on a busy machine, twice for
     * every process.
     */
    private static final ExecutorService PUMPS = Executors.newCachedThreadPool(DaemonThreads.named("exec-pump"));

    private Exec() {
    }

    /** How a finished process ended. {@code stderrTail} holds the last lines of its stderr. */
    public record Outcome(int exitCode, String stdout, List<String> stderrTail, boolean timedOut, boolean killed) {
        public boolean ok() {
            return exitCode == 0 && !timedOut && !killed;
        }

        public String stderr() {
            return String.join("\n", stderrTail);
        }
    }

    /** Runs to completion and captures stdout (bounded) and the tail of stderr. */
    public static Outcome run(Command command) throws IOException {
        return start(command, null, null, false).await();
    }

    /** Runs to completion, feeding bytes to stdin first. */
    public static Outcome run(Command command, byte[] stdin) throws IOException {
        Running r = start(command, null, null, true);
        try (OutputStream os = r.process.getOutputStream()) {
            os.write(stdin);
        }
        return r.await();
    }

    /**
     * Starts a process whose output lines are handed to the consumers as they arrive (each on
     * its own reader thread). A null consumer means: capture it instead.
     */
    public static Running stream(Command command, Consumer<String> stdoutLines, Consumer<String> stderrLines)
            throws IOException {
        return start(command, stdoutLines, stderrLines, false);
    }

    /**
     * Starts a long-lived process whose stdin stays open as a pipe held only by the engine and
     * whose stdout is discarded: when the engine dies, for any reason, the process reads end of
     * file. This is how the sandbox holder is tied to the engine's life.
     */
    public static Running startTethered(Command command, Consumer<String> stderrLines) throws IOException {
        ProcessBuilder pb = builder(command);
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        LOG.debug("started tethered pid {}: {}", p.pid(), command.display());
        Running r = new Running(command, p);
        r.pumpStderr(stderrLines);
        return r;
    }

    private static Running start(Command command, Consumer<String> out, Consumer<String> err, boolean keepStdin)
            throws IOException {
        ProcessBuilder pb = builder(command);
        Process p = pb.start();
        LOG.debug("started pid {}: {}", p.pid(), command.display());
        if (!keepStdin) {
            p.getOutputStream().close();
        }
        Running r = new Running(command, p);
        r.pumpStdout(out);
        r.pumpStderr(err);
        return r;
    }

    private static ProcessBuilder builder(Command command) {
        ProcessBuilder pb = new ProcessBuilder(command.argv());
        pb.environment().clear();
        pb.environment().putAll(command.env());
        pb.directory(command.workDir().toFile());
        return pb;
    }

    /** A started process. */
    public static final class Running {
        private final Command command;
        private final Process process;
        private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
        private final Deque<String> stderrTail = new ArrayDeque<>();
        private Future<?> outPump;
        private Future<?> errPump;
        private volatile boolean killed;

        private Running(Command command, Process process) {
            this.command = command;
            this.process = process;
        }

        public long pid() {
            return process.pid();
        }

        public ProcessHandle handle() {
            return process.toHandle();
        }

        public boolean alive() {
            return process.isAlive();
        }

        /** Closes the process's stdin (the tether): a tethered process then reads end of file. */
        public void closeStdin() {
            try {
                process.getOutputStream().close();
            } catch (IOException e) {
                LOG.debug("closing stdin of {}: {}", process.pid(), e.toString());
            }
        }

        /** Kills the process and everything it started (SIGKILL, children first). */
        public void kill() {
            killed = true;
            process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }

        /** Waits for the command's own timeout; on expiry the process tree is killed. */
        public Outcome await() throws IOException {
            return await(command.timeout().toMillis());
        }

        public Outcome await(long millis) throws IOException {
            boolean timedOut = false;
            try {
                if (!process.waitFor(millis, TimeUnit.MILLISECONDS)) {
                    timedOut = true;
                    LOG.warn("timed out after {} ms, killing: {}", millis, command.display());
                    kill();
                    process.waitFor();
                }
                if (outPump != null) {
                    outPump.get();
                }
                if (errPump != null) {
                    errPump.get();
                }
            } catch (ExecutionException e) {
                throw new IOException("reading the output of " + command.argv().get(0) + " failed", e.getCause());
            } catch (InterruptedException e) {
                kill();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for " + command.argv().get(0), e);
            }
            String stdout;
            synchronized (captured) {
                stdout = captured.toString(StandardCharsets.UTF_8);
            }
            List<String> tail;
            synchronized (stderrTail) {
                tail = List.copyOf(stderrTail);
            }
            return new Outcome(process.exitValue(), stdout, tail, timedOut, killed && !timedOut);
        }

        private void pumpStdout(Consumer<String> lines) {
            InputStream in = process.getInputStream();
            outPump = daemon("out-" + process.pid(), () -> {
                if (lines == null) {
                    copyBounded(in);
                } else {
                    readLines(in, lines);
                }
            });
        }

        private void pumpStderr(Consumer<String> lines) {
            InputStream in = process.getErrorStream();
            errPump = daemon("err-" + process.pid(), () -> readLines(in, line -> {
                synchronized (stderrTail) {
                    if (stderrTail.size() == STDERR_TAIL_LINES) {
                        stderrTail.removeFirst();
                    }
                    stderrTail.addLast(line);
                }
                if (lines != null) {
                    lines.accept(line);
                }
            }));
        }

        private void copyBounded(InputStream in) {
            byte[] buf = new byte[65536];
            try (in) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    synchronized (captured) {
                        if (captured.size() + n <= MAX_CAPTURE_BYTES) {
                            captured.write(buf, 0, n);
                        }
                    }
                }
            } catch (IOException e) {
                LOG.debug("stdout of {}: {}", process.pid(), e.toString());
            }
        }

        private void readLines(InputStream in, Consumer<String> lines) {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.accept(line);
                }
            } catch (IOException e) {
                LOG.debug("output of {}: {}", process.pid(), e.toString());
            } catch (RuntimeException e) {
                LOG.warn("line consumer for {} failed", process.pid(), e);
            }
        }

        /** Runs {@code r} on a pooled thread named {@code name} while it runs. */
        private static Future<?> daemon(String name, Runnable r) {
            return PUMPS.submit(() -> {
                Thread t = Thread.currentThread();
                String idle = t.getName();
                t.setName(name);
                try {
                    r.run();
                } finally {
                    t.setName(idle);
                }
            });
        }
    }
}
