package org.saferebuild.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.FrameWriter;

/**
 * An app that stops reading (frozen, its pipe still open) must not be able to block the engine:
 * the confirm-or-revert timer and an activation's output both go through the sink.
 */
class EventSinkTest {

    @Test
    void anAppThatStoppedReadingCannotBlockTheSender() throws Exception {
        PipedInputStream neverRead = new PipedInputStream(1024);
        EventSink sink = new EventSink(new FrameWriter(new PipedOutputStream(neverRead)));
        int sent = EventSink.QUEUE_FRAMES * 2;
        for (int i = 0; i < sent; i++) {
            sink.send(new Event.Log(1, "activation", List.of("line " + i)));
        }
        // Every send returned (the loop ended); the sink still counts the app as connected.
        assertThat(sink.connected()).isTrue();
        sink.close(); // gives up on the frames the app never took instead of waiting for it
        assertThat(sink.connected()).isFalse();
        assertThat(neverRead.available()).isPositive();
    }

    @Test
    void framesArriveInOrderAndCloseDeliversWhatWasQueued() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        EventSink sink = new EventSink(new FrameWriter(out));
        for (int i = 0; i < 1000; i++) {
            sink.send(new Event.Progress(1, "p", "step " + i, (long) i, 1000L));
        }
        sink.close();
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(1000);
        assertThat(lines.get(0)).contains("\"step 0\"");
        assertThat(lines.get(999)).contains("\"step 999\"");
    }

    @Test
    void aBrokenPipeIsNoticedAndLaterEventsAreDropped() throws Exception {
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Broken pipe");
            }
        };
        EventSink sink = new EventSink(new FrameWriter(broken));
        sink.send(new Event.Progress(1, "p", "first", null, null));
        for (int i = 0; i < 50 && sink.connected(); i++) {
            Thread.sleep(100);
        }
        assertThat(sink.connected()).isFalse();
        sink.send(new Event.Progress(1, "p", "dropped", null, null));
        sink.close();
    }
}
