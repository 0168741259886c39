package org.saferebuild.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class FrameReaderTest {

    private static FrameReader reader(byte[] bytes, int max) {
        return new FrameReader(new ByteArrayInputStream(bytes), max);
    }

    @Test
    void readsFramesAcrossChunkBoundariesAndSkipsBlankLines() throws Exception {
        String big = "x".repeat(20_000);
        FrameReader r = reader(("\n{\"a\":1}\n\n{\"b\":\"" + big + "\"}\n").getBytes(StandardCharsets.UTF_8), 64 * 1024);
        assertThat(r.next()).isEqualTo("{\"a\":1}");
        assertThat(r.next()).hasSize(big.length() + 8);
        assertThat(r.next()).isNull();
    }

    @Test
    void refusesAFrameOverTheLimitWithoutReadingTheRest() {
        // An endless stream: the reader must stop at the limit rather than buffer it all.
        InputStream endless = new InputStream() {
            @Override
            public int read() {
                return 'a';
            }
        };
        FrameReader r = new FrameReader(endless, 1000);
        assertThatThrownBy(r::next).isInstanceOf(FrameException.class).hasMessage("frame larger than 1000 bytes");
    }

    @Test
    void refusesInvalidUtf8AndATruncatedFrame() {
        assertThatThrownBy(() -> reader(new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}', '\n'}, 100).next())
                .isInstanceOf(FrameException.class).hasMessage("frame is not valid UTF-8");
        assertThatThrownBy(() -> reader("{\"a\":".getBytes(StandardCharsets.UTF_8), 100).next())
                .isInstanceOf(FrameException.class).hasMessageContaining("ended in the middle of a frame");
    }

    @Test
    void writerRefusesRawNewlines() {
        FrameWriter w = new FrameWriter(new java.io.ByteArrayOutputStream());
        assertThatThrownBy(() -> w.write("{\n}")).isInstanceOf(IllegalArgumentException.class);
    }
}
