package org.saferebuild.protocol;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Writes one JSON document per line. Thread-safe: each frame is written and flushed whole. */
public final class FrameWriter {
    private final OutputStream out;

    public FrameWriter(OutputStream out) {
        this.out = out;
    }

    public synchronized void write(String json) throws IOException {
        out.write(bytes(json)); // one write: the reader wakes once, for the whole frame
        out.flush();
    }

    /** The bytes of one frame: the document in UTF-8 and its newline. */
    public static byte[] bytes(String json) {
        if (json.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("a frame must not contain a raw newline");
        }
        byte[] text = json.getBytes(StandardCharsets.UTF_8);
        byte[] frame = java.util.Arrays.copyOf(text, text.length + 1);
        frame[text.length] = '\n';
        return frame;
    }

    public synchronized void close() throws IOException {
        out.close();
    }
}
