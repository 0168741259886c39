package org.saferebuild.engine;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.saferebuild.engine.sys.LibC;
import org.saferebuild.engine.sys.Pipes;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.FrameWriter;
import org.saferebuild.protocol.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where events go. Sending never blocks the engine for long: if the app has gone away (broken
 * pipe), or is still there but has stopped reading (a frozen app keeps the pipe open and a
 * blocking write would hang forever), events are dropped and the engine carries on: an apply in
 * progress and its confirm-or-revert timer must finish even when nobody is listening (issue 4).
 *
 * <p>Frames are written in the order they were sent. A sender writes its frame itself when nothing
 * is waiting to be written, through a non-blocking description of the pipe to the app: the kernel
 * takes the whole frame at once or refuses it (Pipes), so an answer does not wait for another
 * thread to wake up and the sender never waits for the app. Otherwise (a frame larger than
 * {@code PIPE_BUF}, a full pipe, frames already queued) the frame is queued for the writer
 * thread, which is the only one that may wait for the app.
 */
public final class EventSink {
    private static final Logger LOG = LoggerFactory.getLogger(EventSink.class);
    /** Frames waiting for the app; a build log arrives in batches of 512 lines, so this is ample. */
    static final int QUEUE_FRAMES = 4096;
    /** How long a sender waits for room before deciding the app has stopped reading. */
    static final long STALL_MILLIS = 5_000;

    private final FrameWriter writer;
    /** Writes a frame now or not at all, never waiting for the app; null: every frame is queued. */
    private final Pipes.NonBlocking direct;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when there is a frame to write, the writing one is done, or the sink is closing. */
    private final Condition work = lock.newCondition();
    /** Signalled when the queue has room again (or the app has gone). */
    private final Condition space = lock.newCondition();
    private final ArrayDeque<String> queue = new ArrayDeque<>();
    /** Guarded by {@link #lock}: a frame is being written (by the writer thread or a sender). */
    private boolean writing;
    /** Guarded by {@link #lock}: close() was called; the writer thread ends when the queue is empty. */
    private boolean ending;
    private final Thread writerThread;
    private volatile boolean connected = true;
    /** A write failed: the app has gone, the writer thread ends. */
    private volatile boolean broken;
    private volatile boolean stalled;

    /** Every frame goes through the writer thread. */
    public EventSink(FrameWriter writer) {
        this(writer, null);
    }

    /**
     * {@code direct} is a non-blocking way into the same pipe as {@code writer} (Pipes.nonBlocking):
     * a sender with nothing queued before it tries it first.
     */
    public EventSink(FrameWriter writer, Pipes.NonBlocking direct) {
        this.writer = writer;
        this.direct = direct;
        if (writer == null) {
            this.writerThread = null;
            return;
        }
        this.writerThread = new Thread(this::writeLoop, "events-out");
        writerThread.setDaemon(true);
        writerThread.start();
    }

    /** A sink for work nobody is listening to (engine-internal clean-up, benchmarks). */
    public static EventSink discarding() {
        EventSink s = new EventSink(null);
        s.connected = false;
        return s;
    }

    public void send(Event event) {
        if (!connected) {
            LOG.debug("app gone, dropping {}", event.getClass().getSimpleName());
            return;
        }
        String frame = Json.encode(event);
        lock.lock();
        try {
            if (!connected) {
                return;
            }
            // (a frame of PIPE_BUF chars or more is at least that many bytes: the pipe would refuse it)
            if (direct == null || writing || !queue.isEmpty() || frame.length() >= LibC.PIPE_BUF) {
                enqueue(frame, false);
                return;
            }
            writing = true; // nobody else writes until this frame is in the pipe or queued first
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } finally {
            lock.unlock();
        }
        boolean written;
        IOException failed = null;
        try {
            written = direct.tryWrite(FrameWriter.bytes(frame));
        } catch (IOException e) {
            written = false;
            failed = e;
        }
        lock.lock();
        try {
            if (failed != null) {
                brokenLocked(failed);
            } else if (!written) {
                enqueue(frame, true); // before anything queued meanwhile
            }
            writing = false;
            work.signal();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Queues {@code frame} for the writer thread (first: a frame the pipe refused, which was sent
     * before those queued meanwhile), waiting a while for room; holds {@link #lock}.
     */
    private void enqueue(String frame, boolean first) throws InterruptedException {
        if (first) {
            queue.addFirst(frame); // never waits: the writer thread waits for this sender to finish
            work.signal();
            return;
        }
        if (queue.size() >= QUEUE_FRAMES && !stalled) {
            long nanos = TimeUnit.MILLISECONDS.toNanos(STALL_MILLIS);
            while (queue.size() >= QUEUE_FRAMES && nanos > 0 && connected) {
                nanos = space.awaitNanos(nanos);
            }
        }
        if (!connected) {
            return;
        }
        if (queue.size() >= QUEUE_FRAMES) {
            if (!stalled) {
                stalled = true;
                LOG.warn("the app has not read events for {} ms; dropping events until it reads again", STALL_MILLIS);
            }
            return;
        }
        queue.add(frame);
        work.signal();
        if (stalled && queue.size() < QUEUE_FRAMES / 2) {
            stalled = false;
            LOG.info("the app is reading events again");
        }
    }

    /** Writes one frame; the caller set {@link #writing}, which is cleared here. */
    private void write(String frame) {
        IOException failed = null;
        try {
            writer.write(frame);
        } catch (IOException e) {
            failed = e;
        }
        lock.lock();
        try {
            writing = false;
            if (failed != null) {
                brokenLocked(failed);
            }
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    /** A write failed: the app has gone; events are dropped from now on. Holds {@link #lock}. */
    private void brokenLocked(IOException failed) {
        if (!broken) {
            broken = true;
            connected = false;
            queue.clear();
            space.signalAll();
            LOG.warn("the app is no longer reading events ({}); carrying on without it", failed.getMessage());
        }
    }

    public boolean connected() {
        return connected;
    }

    /**
     * Sends what is queued (waiting a few seconds at most), then closes the stream. An app that
     * has stopped reading cannot hold the engine here.
     */
    public void close() {
        if (!connected || writer == null) {
            connected = false;
            return;
        }
        lock.lock();
        try {
            connected = false;
            ending = true;
            work.signal();
        } finally {
            lock.unlock();
        }
        try {
            writerThread.join(STALL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (writerThread.isAlive()) {
            LOG.warn("the app did not take the last events; leaving the event stream as it is");
            return;
        }
        try {
            writer.close();
        } catch (IOException e) {
            LOG.debug("closing event stream: {}", e.toString());
        }
    }

    private void writeLoop() {
        while (true) {
            String frame;
            lock.lock();
            try {
                while (writing || queue.isEmpty()) {
                    if (broken || ending && !writing && queue.isEmpty()) {
                        return;
                    }
                    work.await();
                }
                frame = queue.poll();
                writing = true;
                space.signal();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                lock.unlock();
            }
            write(frame);
        }
    }
}
