package org.saferebuild.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.ProblemCode;

/**
 * What an operation may do while it runs: report progress, stream log lines (batched, so a
 * million-line build log does not become a million frames), and notice cancellation.
 */
public final class OpContext {
    /**
     * A batch is sent when it reaches this many lines or {@link #FLUSH_MILLIS} have passed (a flush
     * is scheduled when a batch starts, not on a fixed tick: an idle engine does not wake up).
     */
    static final int BATCH_LINES = 512;
    static final long FLUSH_MILLIS = 40;

    private final long id;
    private final EventSink sink;
    private final List<Runnable> cancelHooks = new ArrayList<>();
    private volatile boolean cancelled;
    private boolean uncancellable;
    /** What must be done before the operation changes anything (its audit intent on disk); may be null. */
    private volatile Gate beforeChange;
    private String batchStream;
    private List<String> batch = new ArrayList<>();
    private long batchStarted;
    private volatile AuditRecord.Who operator;
    /** Sends a batch that has waited {@link #FLUSH_MILLIS}; null: batches wait for the next flush or a full batch. */
    private volatile ScheduledExecutorService flusher;
    /** When each progress phase began (nanoTime), for the request's timing line in the engine's log. */
    private final List<Object[]> phases = new ArrayList<>();

    public OpContext(long id, EventSink sink) {
        this.id = id;
        this.sink = sink;
    }

    /** A context whose events go nowhere, for engine-internal work. */
    public static OpContext detached() {
        return new OpContext(0, EventSink.discarding());
    }

    public long id() {
        return id;
    }

    /** The operator this connection's handshake named, as the audit trail records them. */
    public AuditRecord.Who operator() {
        return operator;
    }

    void setOperator(AuditRecord.Who who) {
        this.operator = who;
    }

    /** Where a batch's flush is scheduled when it starts (the connection's timer thread). */
    void flushWith(ScheduledExecutorService timer) {
        this.flusher = timer;
    }

    public void progress(String phase, String message, Long done, Long total) {
        synchronized (phases) {
            if (phases.isEmpty() || !phases.get(phases.size() - 1)[0].equals(phase)) {
                phases.add(new Object[] {phase, System.nanoTime()});
            }
        }
        flush();
        sink.send(new Event.Progress(id, phase, message, done, total));
    }

    /**
     * Sends an event of the operation's own kind (such as build progress), after the log lines
     * logged before it.
     */
    public void event(Event event) {
        if (event.id() != id || event.terminal()) {
            throw new IllegalArgumentException("an operation may only send its own non-terminal events");
        }
        flush();
        sink.send(event);
    }

    public synchronized void log(String stream, String line) {
        if (batchStream != null && !batchStream.equals(stream)) {
            flushLocked();
        }
        if (batch.isEmpty()) {
            batchStarted = System.nanoTime();
            ScheduledExecutorService timer = flusher;
            if (timer != null) {
                try {
                    timer.schedule(this::flushIfStale, FLUSH_MILLIS, TimeUnit.MILLISECONDS);
                } catch (RejectedExecutionException e) {
                    // the connection is ending: what is batched goes with the request's last flush
                }
            }
        }
        batchStream = stream;
        batch.add(line);
        if (batch.size() >= BATCH_LINES) {
            flushLocked();
        }
    }

    /**
     * Sends a pending batch that is as old as the flush interval (scheduled when it started); a
     * younger one was started after an earlier flush and has its own.
     */
    synchronized void flushIfStale() {
        if (!batch.isEmpty() && System.nanoTime() - batchStarted >= FLUSH_MILLIS * 1_000_000) {
            flushLocked();
        }
    }

    public synchronized void flush() {
        flushLocked();
    }

    private void flushLocked() {
        if (!batch.isEmpty()) {
            List<String> lines = batch;
            batch = new ArrayList<>();
            sink.send(new Event.Log(id, batchStream, lines));
        }
    }

    /**
     * How long each phase took, from {@code start} to {@code end} (nanoTime): "setup 1.2, check 3.4,
     * activate 50.1" (ms), the time before the first phase named {@code before}.
     */
    String phaseTimes(String before, long start, long end) {
        StringBuilder out = new StringBuilder();
        String name = before;
        long from = start;
        synchronized (phases) {
            for (Object[] p : phases) {
                long at = (Long) p[1];
                appendMillis(out, name, at - from);
                name = (String) p[0];
                from = at;
            }
        }
        appendMillis(out, name, end - from);
        return out.toString();
    }

    private static void appendMillis(StringBuilder out, String name, long nanos) {
        if (out.length() > 0) {
            out.append(", ");
        }
        out.append(name).append(' ').append(String.format(java.util.Locale.ROOT, "%.2f", nanos / 1e6));
    }

    public boolean cancelled() {
        return cancelled;
    }

    public void checkCancelled() throws Problem {
        if (cancelled) {
            throw new Problem(ProblemCode.CANCELLED, "Cancelled by the operator.",
                    "Nothing more will happen for this step; start it again when ready.");
        }
    }

    /** Runs {@code hook} on cancellation (at once if already cancelled). */
    public void onCancel(Runnable hook) {
        boolean now;
        synchronized (cancelHooks) {
            now = cancelled;
            if (!now) {
                cancelHooks.add(hook);
            }
        }
        if (now) {
            hook.run();
        }
    }

    /** Something that must have happened before the operation changes anything; throws if it cannot. */
    @FunctionalInterface
    interface Gate {
        void pass() throws Problem;
    }

    /** {@link #uncancellable()} passes {@code gate} first (EngineServer: the audit intent). */
    void beforeChange(Gate gate) {
        this.beforeChange = gate;
    }

    /**
     * From here on the operation cannot be stopped halfway (an activation has begun): later cancel
     * requests, including the one the end of the connection makes, are refused. Throws if it was
     * cancelled before this point, or if its audit intent could not be recorded (an operation
     * registered with Operations.registerChecksFirst only checks until here: its intent is written
     * meanwhile, and this waits for it).
     */
    public void uncancellable() throws Problem {
        awaitBeforeChange();
        synchronized (cancelHooks) {
            checkCancelled();
            uncancellable = true;
        }
    }

    /**
     * Waits for what must have happened before the operation changes anything (its audit intent),
     * without ending the time in which it can be cancelled: for a state file written on another
     * thread while the operation still checks (ApplyService: pending.json). Throws if the intent
     * could not be recorded.
     */
    public void awaitBeforeChange() throws Problem {
        Gate gate = beforeChange;
        if (gate != null) {
            gate.pass();
        }
    }

    /** Returns false when the operation can no longer be cancelled. */
    boolean cancel() {
        List<Runnable> hooks;
        synchronized (cancelHooks) {
            if (uncancellable) {
                return false;
            }
            if (cancelled) {
                return true;
            }
            cancelled = true;
            hooks = List.copyOf(cancelHooks);
        }
        hooks.forEach(Runnable::run);
        return true;
    }
}
