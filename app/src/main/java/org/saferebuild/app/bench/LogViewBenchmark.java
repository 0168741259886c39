package org.saferebuild.app.bench;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javafx.application.Platform;
import javafx.scene.Scene;
import javafx.scene.control.TextArea;
import javafx.stage.Stage;
import org.saferebuild.app.client.EngineClient;
import org.saferebuild.app.launch.DirectLauncher;
import org.saferebuild.app.log.LogModel;
import org.saferebuild.app.log.LogView;
import org.saferebuild.protocol.EngineCommand;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.ResultBody;

/**
 * Benchmark (not a test) for the build log: N lines (default 1,000,000) come from a separate
 * process over the real protocol, through {@link EngineClient}, into the {@link LogView} on a
 * visible stage. It prints the longest FX-thread stall, lines per second and the heap used, and
 * runs a naive peer (a JavaFX TextArea that appends every batch with runLater) on the same lines
 * for comparison, capped at a tenth of N because it does not bound its memory.
 *
 * <pre>xvfb-run -a java -cp … org.saferebuild.app.bench.LogViewBenchmark [N]</pre>
 */
public final class LogViewBenchmark {
    private LogViewBenchmark() {
    }

    record Figures(String name, long lines, double seconds, double maxStallMs, double maxWorkMs, long heapPeakMb,
                   long heapAfterGcMb) {
        String print() {
            return String.format(Locale.ROOT, "%-34s %,10d lines  %8.0f lines/s  longest FX stall %7.1f ms"
                            + "  longest frame work %6.1f ms  heap peak %5d MiB  after GC %5d MiB",
                    name, lines, lines / seconds, maxStallMs, maxWorkMs, heapPeakMb, heapAfterGcMb);
        }
    }

    public static void main(String[] args) throws Exception {
        long n = args.length > 0 ? Long.parseLong(args[0]) : 1_000_000;
        CountDownLatch up = new CountDownLatch(1);
        Platform.startup(up::countDown);
        up.await();
        Platform.setImplicitExit(false);
        Path dir = Files.createTempDirectory("saferebuild-logbench");

        Figures ours = runOurs(n, dir);
        System.out.println(ours.print());
        if (!Boolean.parseBoolean(System.getProperty("bench.peer", "true"))) {
            goals(ours);
        }
        Files.deleteIfExists(dir.resolve("bench.log"));
        Files.deleteIfExists(dir);
        if (!Boolean.parseBoolean(System.getProperty("bench.peer", "true"))) {
            Platform.exit();
            System.exit(0);
        }
        Figures peer = runPeer(Math.max(1, n / 10));
        System.out.println(peer.print());
        System.out.println(String.format(Locale.ROOT,
                "ratio (peer/ours): lines/s %.2fx slower, longest stall %.1fx longer, heap peak %.1fx"
                        + " (peer fed %,d lines, ours %,d)",
                (ours.lines / ours.seconds) / (peer.lines / peer.seconds), peer.maxStallMs / ours.maxStallMs,
                (double) peer.heapPeakMb / ours.heapPeakMb, peer.lines, ours.lines));
        goals(ours);
        Platform.exit();
        System.exit(0);
    }

    private static Figures runOurs(long n, Path dir) throws Exception {
        LogModel model = new LogModel();
        LogView[] view = new LogView[1];
        onFx(() -> {
            model.reset(dir.resolve("bench.log"));
            view[0] = new LogView(model);
            Stage s = new Stage();
            s.setScene(new Scene(view[0], 1100, 700));
            s.getScene().getStylesheets().add(java.util.Objects.requireNonNull(
                    LogViewBenchmark.class.getResource("/org/saferebuild/app/app.css")).toExternalForm());
            s.show();
        });
        // Warm-up: the same path with a tenth of the lines (at most 100,000), so the JIT has compiled
        // it before the measured run; its figures are printed too.
        long warm = Math.min(100_000, Math.max(1, n / 10));
        Run w = flood(model, view[0], warm);
        System.out.println("ours, warm-up (" + String.format(Locale.ROOT, "%,d", warm) + " lines): "
                + w.probe.distribution());
        onFx(() -> model.reset(dir.resolve("bench.log")));
        long workBefore = view[0].maxPulseNanos();
        Run r = flood(model, view[0], n);
        long received = model.receivedNow();
        long afterGc = heapAfterGc();
        long[] work = new long[1];
        long[] inView = new long[1];
        onFx(() -> {
            work[0] = view[0].maxPulseNanos();
            inView[0] = view[0].linesInView();
            view[0].getScene().getWindow().hide();
        });
        System.out.println("ours: " + r.probe.distribution());
        System.out.println(String.format(Locale.ROOT, "ours: %,d lines received, %,d errors and %,d warnings counted,"
                + " %,d lines in memory for the view (cap %,d), full log %,d bytes; longest frame work %.1f ms"
                + " (warm-up %.1f ms)", received, model.errorsNow(), model.warningsNow(), inView[0],
                model.capacity(), Files.size(dir.resolve("bench.log")), work[0] / 1e6, workBefore / 1e6));
        ourP99 = r.probe.p99Ms();
        return new Figures("LogView, canvas tail (capped)", received, r.seconds, r.probe.maxMs(), work[0] / 1e6,
                r.heap.peakMb(), afterGc);
    }

    static double ourP99;

    record Run(Probe probe, HeapSampler heap, double seconds) {
    }

    /** N lines from a LogFlood process through the client into the model, until the view drew the last. */
    private static Run flood(LogModel model, LogView view, long n) throws Exception {
        List<String> cmd = new ArrayList<>(EngineCommand.fromClassPath(null));
        cmd.set(cmd.indexOf("org.saferebuild.engine.Main"), LogFlood.class.getName());
        cmd.add(Long.toString(n));
        Probe probe = new Probe();
        HeapSampler heap = new HeapSampler();
        EngineClient client = EngineClient.connect(new DirectLauncher(cmd, null), Duration.ofSeconds(30));
        long start = System.nanoTime();
        probe.start();
        heap.start();
        var op = client.run(id -> new Request.Preflight(id, null), ResultBody.Ack.class, e -> {
            if (e instanceof Event.Log l) {
                model.append(l.stream(), l.lines());
            }
        });
        op.result().get(10, TimeUnit.MINUTES);
        // Ingested = every line received, counted, written to the file, and drawn by the view.
        while (true) {
            boolean[] caughtUp = new boolean[1];
            onFx(() -> caughtUp[0] = view.tail().caughtUp());
            if (caughtUp[0]) {
                break;
            }
            Thread.sleep(5);
        }
        double secs = (System.nanoTime() - start) / 1e9;
        probe.stop();
        heap.stop();
        client.close();
        return new Run(probe, heap, secs);
    }

    /** The goals, each with its figure. */
    private static void goals(Figures ours) {
        double rate = ours.lines / ours.seconds;
        System.out.println(String.format(Locale.ROOT, "goal %s: longest FX-thread stall after warm-up %.1f ms (<= 16.7)",
                ours.maxStallMs <= 16.7 ? "met" : "MISSED", ours.maxStallMs));
        System.out.println(String.format(Locale.ROOT, "goal %s: p99 FX-thread wait %.1f ms (<= 8)",
                ourP99 <= 8 ? "met" : "MISSED", ourP99));
        System.out.println(String.format(Locale.ROOT, "goal %s: %,.0f lines/s (>= 100,000)",
                rate >= 100_000 ? "met" : "MISSED", rate));
        System.out.println(String.format(Locale.ROOT, "goal %s: heap after GC %d MiB, peak %d MiB (bounded: the view"
                + " keeps %,d lines, the file has all)", ours.heapAfterGcMb <= 64 ? "met" : "MISSED", ours.heapAfterGcMb,
                ours.heapPeakMb, LogModel.DEFAULT_CAPACITY));
    }

    /** The naive way: every batch appended to a TextArea with its own runLater, nothing dropped. */
    private static Figures runPeer(long n) throws Exception {
        TextArea[] area = new TextArea[1];
        onFx(() -> {
            area[0] = new TextArea();
            Stage s = new Stage();
            s.setScene(new Scene(area[0], 1100, 700));
            s.show();
        });
        Probe probe = new Probe();
        HeapSampler heap = new HeapSampler();
        AtomicLong work = new AtomicLong();
        long start = System.nanoTime();
        probe.start();
        heap.start();
        List<String> batch = new ArrayList<>(512);
        for (long i = 1; i <= n; i++) {
            batch.add(LogFlood.line(i));
            if (batch.size() == 512 || i == n) {
                String text = String.join("\n", batch) + "\n";
                batch = new ArrayList<>(512);
                Platform.runLater(() -> {
                    long t = System.nanoTime();
                    area[0].appendText(text);
                    work.accumulateAndGet(System.nanoTime() - t, Math::max);
                });
            }
        }
        onFx(() -> { });
        double secs = (System.nanoTime() - start) / 1e9;
        probe.stop();
        heap.stop();
        System.out.println("peer: " + probe.distribution());
        long afterGc = heapAfterGc();
        onFx(() -> area[0].getScene().getWindow().hide());
        return new Figures("naive TextArea + runLater (peer)", n, secs, probe.maxMs(), work.get() / 1e6,
                heap.peakMb(), afterGc);
    }

    /**
     * Measures FX-thread stalls from outside: every 2 ms it posts a runnable and records how long
     * the FX thread took to run it. The longest wait is the longest the UI could not respond.
     */
    static final class Probe {
        private volatile boolean running;
        private final AtomicLong maxNanos = new AtomicLong();
        private Thread thread;
        private final long born = System.nanoTime();
        private final List<Long> waits = new ArrayList<>();

        /** "p50 0.1 ms, p99 3.2 ms, 12 of 3,400 probes over one frame". */
        String distribution() {
            List<Long> w;
            synchronized (waits) {
                w = new ArrayList<>(waits);
            }
            if (w.isEmpty()) {
                return "no probes";
            }
            w.sort(null);
            long over = w.stream().filter(x -> x > 16_700_000L).count();
            return String.format(Locale.ROOT, "probe waits: p50 %.1f ms, p99 %.1f ms, max %.1f ms; %,d of %,d over one"
                    + " frame", w.get(w.size() / 2) / 1e6, w.get((int) (w.size() * 0.99)) / 1e6,
                    w.get(w.size() - 1) / 1e6, over, w.size());
        }

        void start() {
            running = true;
            thread = new Thread(() -> {
                while (running) {
                    long posted = System.nanoTime();
                    CountDownLatch ran = new CountDownLatch(1);
                    Platform.runLater(() -> {
                        long waited = System.nanoTime() - posted;
                        if (waited > 16_700_000L && Boolean.getBoolean("bench.verbose")) {
                            System.out.printf(Locale.ROOT, "stall %.1f ms at %.2f s%n", waited / 1e6,
                                    (posted - born) / 1e9);
                        }
                        maxNanos.accumulateAndGet(waited, Math::max);
                        synchronized (waits) {
                            waits.add(waited);
                        }
                        ran.countDown();
                    });
                    try {
                        ran.await();
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "stall-probe");
            thread.setDaemon(true);
            thread.start();
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join(2000);
        }

        double maxMs() {
            return maxNanos.get() / 1e6;
        }

        double p99Ms() {
            List<Long> w;
            synchronized (waits) {
                w = new ArrayList<>(waits);
            }
            if (w.isEmpty()) {
                return 0;
            }
            w.sort(null);
            return w.get((int) (w.size() * 0.99)) / 1e6;
        }
    }

    static final class HeapSampler {
        private volatile boolean running;
        private final AtomicLong peak = new AtomicLong();
        private Thread thread;

        void start() {
            System.gc();
            running = true;
            thread = new Thread(() -> {
                while (running) {
                    peak.accumulateAndGet(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(), Math::max);
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "heap-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join(2000);
        }

        long peakMb() {
            return peak.get() / (1024 * 1024);
        }
    }

    static long heapAfterGc() {
        System.gc();
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024 * 1024);
    }

    static void onFx(Runnable r) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        Platform.runLater(() -> {
            try {
                r.run();
            } finally {
                done.countDown();
            }
        });
        done.await();
    }
}
