package org.saferebuild.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads newline-delimited frames (one JSON document per line, UTF-8) with a hard size limit.
 * JSON escapes newlines inside strings, so a raw newline always ends a frame. A frame longer
 * than the limit is refused without buffering the rest of it.
 */
public final class FrameReader {
    private final InputStream in;
    private final int maxBytes;
    private byte[] buf = new byte[8192];
    private int len;
    private final byte[] chunk = new byte[8192];
    private int chunkPos;
    private int chunkLen;

    public FrameReader(InputStream in, int maxBytes) {
        this.in = in;
        this.maxBytes = maxBytes;
    }

    /**
     * @return the next frame's text, or {@code null} at a clean end of stream
     * @throws FrameException if the frame is too large, not UTF-8, or the stream ends mid-frame
     */
    public String next() throws IOException, FrameException {
        len = 0;
        while (true) {
            if (chunkPos == chunkLen) {
                chunkLen = in.read(chunk);
                chunkPos = 0;
                if (chunkLen < 0) {
                    chunkLen = 0;
                    if (len == 0) {
                        return null;
                    }
                    throw new FrameException("the stream ended in the middle of a frame (" + len + " bytes without a newline)");
                }
            }
            while (chunkPos < chunkLen) {
                byte b = chunk[chunkPos++];
                if (b == '\n') {
                    if (len == 0) {
                        continue; // blank lines between frames are harmless
                    }
                    return decode();
                }
                if (len == maxBytes) {
                    throw new FrameException("frame larger than " + maxBytes + " bytes");
                }
                if (len == buf.length) {
                    buf = Arrays.copyOf(buf, Math.min(maxBytes, buf.length * 2));
                }
                buf[len++] = b;
            }
        }
    }

    private String decode() throws FrameException {
        // Nearly every frame is ASCII (JSON escapes the rest): then the bytes are the string, and
        // a big log frame is copied once instead of three times (bytes → chars → string), which
        // is garbage the app's UI thread would pay for in collector pauses.
        boolean ascii = true;
        for (int i = 0; i < len && ascii; i++) {
            ascii = buf[i] >= 0;
        }
        if (ascii) {
            return new String(buf, 0, len, StandardCharsets.ISO_8859_1);
        }
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(buf, 0, len));
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw new FrameException("frame is not valid UTF-8", e);
        }
    }
}
