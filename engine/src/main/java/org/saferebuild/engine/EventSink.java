package org.saferebuild.engine;

import java.io.IOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.FrameWriter;
import org.saferebuild.protocol.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where events go. Sending never blocks the engine for long: frames are queued and written by one
 * writer thread, in order. If the app has gone away (broken pipe), or is still there but has
 * stopped reading (a frozen app keeps the pipe open and a blocking write would hang forever),
 * events are dropped and the engine carries on: an apply in progress and its confirm-or-revert
 * timer must finish even when nobody is listening (issue 4).
 */
public final class EventSink {
    private static final Logger LOG = LoggerFactory.getLogger(EventSink.class);
    /** Frames waiting for the app; a build log arrives in batches of 512 lines, so this is ample. */
    static final int QUEUE_FRAMES = 4096;
    /** How long a sender waits for room before deciding the app has stopped reading. */
    static final long STALL_MILLIS = 5_000;
    private static final String END = "";

    private final FrameWriter writer;
    private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(QUEUE_FRAMES);
    private final Thread writerThread;
    private volatile boolean connected = true;
    private volatile boolean stalled;

    public EventSink(FrameWriter writer) {
        this.writer = writer;
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
        try {
            if (stalled ? !queue.offer(frame) : !queue.offer(frame, STALL_MILLIS, TimeUnit.MILLISECONDS)) {
                if (!stalled) {
                    stalled = true;
                    LOG.warn("the app has not read events for {} ms; dropping events until it reads again",
                            STALL_MILLIS);
                }
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (stalled && queue.size() < QUEUE_FRAMES / 2) {
            stalled = false;
            LOG.info("the app is reading events again");
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
        connected = false;
        queue.offer(END);
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
        try {
            while (true) {
                String frame = queue.take();
                if (frame == END) {
                    return;
                }
                writer.write(frame);
            }
        } catch (IOException e) {
            connected = false;
            queue.clear();
            LOG.warn("the app is no longer reading events ({}); carrying on without it", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
