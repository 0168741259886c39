package org.saferebuild.engine;

import java.io.IOException;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.FrameWriter;
import org.saferebuild.protocol.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where events go. If the app has gone away (broken pipe), events are dropped and the engine
 * carries on: an apply in progress must finish even when nobody is listening.
 */
public final class EventSink {
    private static final Logger LOG = LoggerFactory.getLogger(EventSink.class);
    private final FrameWriter writer;
    private volatile boolean connected = true;

    public EventSink(FrameWriter writer) {
        this.writer = writer;
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
        try {
            writer.write(Json.encode(event));
        } catch (IOException e) {
            connected = false;
            LOG.warn("the app is no longer reading events ({}); carrying on without it", e.getMessage());
        }
    }

    public boolean connected() {
        return connected;
    }

    public void close() {
        connected = false;
        if (writer == null) {
            return;
        }
        try {
            writer.close();
        } catch (IOException e) {
            LOG.debug("closing event stream: {}", e.toString());
        }
    }
}
