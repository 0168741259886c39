package org.saferebuild.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.FileOutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saferebuild.engine.sys.Pipes;
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

    /**
     * On a real pipe: a frame is written by the thread that sends it while the pipe takes it at
     * once (no other thread has to wake up for an answer to leave), and once the app stops reading
     * and the pipe is full, sending still returns at once: frames wait for the writer thread, and
     * arrive in the order they were sent when the app reads again.
     */
    @Test
    void aSenderWritesItselfOnlyWhileThePipeTakesTheFrameAtOnce(@TempDir Path dir) throws Exception {
        Path fifo = dir.resolve("events");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        Path regular = dir.resolve("regular");
        try (RandomAccessFile app = new RandomAccessFile(fifo.toFile(), "rw"); // the app's end (opening it does not wait)
             FileOutputStream engineEnd = new FileOutputStream(fifo.toFile());
             FileOutputStream file = new FileOutputStream(regular.toFile())) {
            Pipes.NonBlocking direct = Pipes.nonBlocking(writeDescriptorOf(fifo));
            assertThat(direct).as("a pipe").isNotNull();
            assertThat(Pipes.nonBlocking(writeDescriptorOf(regular))).as("not a pipe").isNull();
            List<String> writers = Collections.synchronizedList(new ArrayList<>());
            Pipes.NonBlocking watchedDirect = bytes -> {
                boolean took = direct.tryWrite(bytes);
                if (took) {
                    writers.add(Thread.currentThread().getName());
                }
                return took;
            };
            OutputStream watched = new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    engineEnd.write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    writers.add(Thread.currentThread().getName());
                    engineEnd.write(b, off, len);
                }
            };
            EventSink sink = new EventSink(new FrameWriter(watched), watchedDirect);
            String sender = Thread.currentThread().getName();

            sink.send(new Event.Progress(1, "p", "frame 0", null, null));
            assertThat(writers).as("written by the sender").containsExactly(sender);

            // The app stops reading; the pipe fills up to its last byte.
            byte[] chunk = new byte[1024];
            java.util.Arrays.fill(chunk, (byte) '#');
            chunk[chunk.length - 1] = '\n';
            while (direct.tryWrite(chunk)) {
                // fill
            }
            while (direct.tryWrite(new byte[] {'\n'})) {
                // to the last byte
            }
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
                for (int i = 1; i <= 200; i++) {
                    sink.send(new Event.Progress(1, "p", "frame " + i, null, null));
                }
            }, "sending while the app does not read must not block");
            for (int i = 0; i < 100 && writers.size() < 2; i++) {
                Thread.sleep(50); // the writer thread starts on the queue, and waits in its write
            }
            List<String> after = List.copyOf(writers).subList(1, writers.size());
            assertThat(after).as("the writer thread took over").isNotEmpty().allMatch("events-out"::equals);

            // The app reads again: everything arrives, in order.
            StringBuilder text = new StringBuilder();
            byte[] buf = new byte[8192];
            while (!text.toString().contains("\"frame 200\"")) {
                int n = app.read(buf);
                text.append(new String(buf, 0, n, StandardCharsets.UTF_8));
            }
            List<String> frames = text.toString().lines().filter(l -> l.startsWith("{")).toList();
            assertThat(frames).hasSize(201);
            for (int i = 0; i <= 200; i++) {
                assertThat(frames.get(i)).contains("\"frame " + i + "\"");
            }
            sink.close();
        }
    }

    /** The number of a descriptor this process opened write-only on {@code fifo} (O_WRONLY in fdinfo). */
    private static int writeDescriptorOf(Path fifo) throws IOException {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    if (Files.readSymbolicLink(fd).equals(fifo)) {
                        String info = Files.readString(Path.of("/proc/self/fdinfo/" + fd.getFileName()));
                        String flags = info.lines().filter(l -> l.startsWith("flags:")).findFirst().orElse("");
                        if ((Integer.parseInt(flags.substring(6).trim(), 8) & 3) == 1) {
                            return Integer.parseInt(fd.getFileName().toString());
                        }
                    }
                } catch (IOException e) {
                    // gone meanwhile (the listing's own descriptor)
                }
            }
        }
        throw new AssertionError("no write descriptor for " + fifo);
    }
}
