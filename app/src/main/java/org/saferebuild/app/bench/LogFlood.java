package org.saferebuild.app.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.FrameReader;
import org.saferebuild.protocol.FrameWriter;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.Protocol;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.ResultBody;

/**
 * A stand-in engine process for the log benchmark: it speaks the real protocol on stdin/stdout,
 * and answers the first request after the handshake with N build-log lines, batched as the engine
 * batches them (512 lines a frame), then a result. Usage: {@code LogFlood N}.
 */
public final class LogFlood {
    private LogFlood() {
    }

    public static void main(String[] args) throws IOException, org.saferebuild.protocol.FrameException {
        long total = Long.parseLong(args[0]);
        FrameReader in = new FrameReader(System.in, Protocol.MAX_REQUEST_BYTES);
        FrameWriter out = new FrameWriter(System.out);
        Request.Hello hello = (Request.Hello) Json.decodeRequest(in.next());
        out.write(Json.encode(new Event.Welcome(hello.id(), "bench", Protocol.VERSION, 0, null, null, "direct",
                List.of("hello", "preflight"), null)));
        Request r = Json.decodeRequest(in.next());
        List<String> batch = new ArrayList<>(512);
        for (long i = 1; i <= total; i++) {
            batch.add(line(i));
            if (batch.size() == 512 || i == total) {
                out.write(Json.encode(new Event.Log(r.id(), "nix", batch)));
                batch = new ArrayList<>(512);
            }
        }
        out.write(Json.encode(new Event.Result(r.id(), new ResultBody.Ack(total + " lines sent"))));
        while (in.next() != null) {
            // wait for the app to close the connection
        }
    }

    /** A line shaped like nix build output; every 997th an error, every 101st a warning. */
    static String line(long i) {
        if (i % 997 == 0) {
            return "error: builder for '/nix/store/q2kx1b5m0dv3yw7pnq0d9hwcy1m8r3a5-chakra-field-" + i
                    + ".drv' failed with exit code 1";
        }
        if (i % 101 == 0) {
            return "warning: unknown setting 'field-translator-" + i + "'";
        }
        return "chakra-field-" + i + "> [" + (i % 100) + "%] compiling src/field/translator_" + (i % 4096)
                + ".c -o build/translator_" + (i % 4096) + ".o -O2 -pipe";
    }
}
