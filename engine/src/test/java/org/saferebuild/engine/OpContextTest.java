package org.saferebuild.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import org.junit.jupiter.api.Test;
import org.saferebuild.protocol.FrameWriter;

/** Log lines are batched, and a batch goes out on its own when it has waited the flush interval. */
class OpContextTest {

    @Test
    void aLoneLogLineGoesOutOnItsOwnAndNothingIsScheduledWhileNothingWaits() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        EventSink sink = new EventSink(new FrameWriter(out));
        ScheduledThreadPoolExecutor timer = (ScheduledThreadPoolExecutor) Executors.newScheduledThreadPool(1);
        try {
            OpContext ctx = new OpContext(7, sink);
            ctx.flushWith(timer);
            assertThat(timer.getQueue()).isEmpty();
            ctx.log("build", "building foo");
            assertThat(timer.getQueue()).hasSize(1); // scheduled when the batch started
            awaitOutput(out, "building foo"); // nobody called flush(): the timer sent it
            ctx.log("build", "linking foo"); // a later batch has its own flush
            awaitOutput(out, "linking foo");
            assertThat(out.toString(StandardCharsets.UTF_8).lines()).hasSize(2);
            assertThat(timer.getQueue()).isEmpty(); // idle: no tick left to wake up for
        } finally {
            timer.shutdownNow();
            sink.close();
        }
    }

    private static void awaitOutput(ByteArrayOutputStream out, String text) throws InterruptedException {
        long until = System.nanoTime() + 5_000_000_000L;
        while (!out.toString(StandardCharsets.UTF_8).contains(text) && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        assertThat(out.toString(StandardCharsets.UTF_8)).contains(text);
    }
}
