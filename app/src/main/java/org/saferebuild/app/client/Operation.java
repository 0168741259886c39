package org.saferebuild.app.client;

import java.util.concurrent.CompletableFuture;
import org.saferebuild.protocol.ResultBody;

/** A request in flight: its id (for cancel) and the future of its result body. */
public record Operation<T extends ResultBody>(EngineClient client, long id, CompletableFuture<T> result) {
    public void cancel() {
        client.cancel(id);
    }
}
