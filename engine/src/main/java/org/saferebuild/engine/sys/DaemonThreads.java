package org.saferebuild.engine.sys;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Named daemon threads for the engine's executors. Daemon, because what must outlive the
 * connection (an apply and its confirm-or-revert timer) is waited for explicitly through
 * Engine.beforeExit, not by a thread keeping the JVM up by accident.
 */
public final class DaemonThreads {
    private DaemonThreads() {
    }

    public static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
