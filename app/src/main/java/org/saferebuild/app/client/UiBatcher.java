package org.saferebuild.app.client;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * Coalesces updates from background threads into one hop to the UI thread: a key keeps only its
 * latest update, and at most one hop is queued at a time. So a flood of progress events becomes a
 * few UI updates per frame, and the FX thread is never buried under runLater calls.
 */
public final class UiBatcher {
    private final Executor ui;
    private Map<Object, Runnable> pending = new LinkedHashMap<>();
    private boolean scheduled;

    public UiBatcher(Executor ui) {
        this.ui = ui;
    }

    /** Runs {@code update} on the UI thread soon; an older update with the same key is dropped. */
    public void post(Object key, Runnable update) {
        synchronized (this) {
            pending.put(key, update);
            if (scheduled) {
                return;
            }
            scheduled = true;
        }
        ui.execute(this::drain);
    }

    private void drain() {
        Map<Object, Runnable> batch;
        synchronized (this) {
            batch = pending;
            pending = new LinkedHashMap<>();
            scheduled = false;
        }
        batch.values().forEach(Runnable::run);
    }
}
