package org.saferebuild.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * safe-rebuild run as an operator runs it: its own process ({@code java -cp … org.saferebuild.cli.Main}),
 * either with pipes (as a script would) or on a real terminal: {@code script -qfec CMD /dev/null}
 * gives it a pseudo-terminal, so stdin and stderr are ttys, prompts appear and answers are typed.
 */
final class CliProcess implements AutoCloseable {
    private final Process process;
    private final StringBuffer output = new StringBuffer();
    private final StringBuffer errors = new StringBuffer();
    private final OutputStream keyboard;

    private CliProcess(Process process) {
        this.process = process;
        this.keyboard = process.getOutputStream();
        pump(process.getInputStream(), output);
        pump(process.getErrorStream(), errors);
    }

    static List<String> command(List<String> args) {
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                "org.saferebuild.cli.Main"));
        argv.addAll(args);
        return argv;
    }

    /** With pipes: stdin, stdout and stderr are not terminals. */
    static CliProcess piped(Path cache, String... args) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command(List.of(args)));
        env(pb, cache);
        return new CliProcess(pb.start());
    }

    /** On a pseudo-terminal made by script(1): what the operator sees is {@link #output()}. */
    static CliProcess onTerminal(Path cache, String... args) throws IOException {
        StringBuilder cmd = new StringBuilder();
        for (String a : command(List.of(args))) {
            cmd.append('\'').append(a.replace("'", "'\\''")).append("' ");
        }
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/script", "-qfec", cmd.toString().strip(), "/dev/null");
        env(pb, cache);
        pb.environment().put("TERM", "xterm");
        return new CliProcess(pb.start());
    }

    private static void env(ProcessBuilder pb, Path cache) {
        pb.environment().keySet().retainAll(List.of("PATH", "HOME", "USER", "LANG"));
        pb.environment().put("XDG_CACHE_HOME", cache.toString());
    }

    private static void pump(InputStream in, StringBuffer into) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            int n;
            try {
                while ((n = in.read(buf)) > 0) {
                    into.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                // ended
            }
        }, "cli-output");
        t.setDaemon(true);
        t.start();
    }

    /** Waits (generously) until the output shows {@code text}; fails with what it showed otherwise. */
    CliProcess await(String text, Duration within) throws InterruptedException {
        Instant end = Instant.now().plus(within);
        while (Instant.now().isBefore(end)) {
            if (output.indexOf(text) >= 0) {
                return this;
            }
            if (!process.isAlive()) {
                Thread.sleep(300);
                if (output.indexOf(text) >= 0) {
                    return this;
                }
                throw new AssertionError("safe-rebuild ended (exit " + process.exitValue() + ") without showing \""
                        + text + "\":\n" + output() + "\nstderr:\n" + errors);
            }
            Thread.sleep(100);
        }
        throw new AssertionError("safe-rebuild did not show \"" + text + "\" within " + within + ":\n" + output()
                + "\nstderr:\n" + errors);
    }

    /** Types a line, as the operator would, and presses Enter. */
    CliProcess type(String line) throws IOException {
        keyboard.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        keyboard.flush();
        return this;
    }

    int exit(Duration within) throws InterruptedException, IOException {
        keyboard.close();
        if (!process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("safe-rebuild did not end within " + within + ":\n" + output() + "\nstderr:\n"
                    + errors);
        }
        Thread.sleep(200);
        return process.exitValue();
    }

    /** stdout (on a terminal: everything shown), with the terminal's carriage returns and line clearing taken out. */
    String output() {
        return clean(output.toString());
    }

    String errors() {
        return clean(errors.toString());
    }

    Process process() {
        return process;
    }

    static String clean(String s) {
        // A redrawn progress line ends in "\r\033[K": what stays on the screen is what follows it.
        return s.replace("\r\n", "\n").replaceAll("[^\n]*\r\033\\[K", "").replace("\033[K", "").replace("\r", "");
    }

    /** Keeps what the operator saw, for docs/cli.md and docs/remote.md (target/transcripts/NAME.txt). */
    void save(String name, String commandLine, java.util.Map<String, String> shorten) throws IOException {
        Path dir = Path.of("target", "transcripts");
        Files.createDirectories(dir);
        String text = "$ " + commandLine + "\n" + output() + (errors.length() == 0 ? "" : "\n[stderr]\n" + errors());
        for (var e : shorten.entrySet()) {
            text = text.replace(e.getKey(), e.getValue());
        }
        Files.writeString(dir.resolve(name + ".txt"), text);
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroy();
        }
    }
}
