package org.saferebuild.app.launch;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Waits until pkexec or sudo has decided. The engine writes nothing before the app's hello, so
 * the sign is the kernel's: once authorized, pkexec becomes root for real (real uid 0) and execs
 * the engine in the same process; sudo starts the engine as a child with real uid 0. Before
 * that, pkexec and sudo run with the operator's real uid. A refusal ends the process.
 */
final class Authorization {
    private Authorization() {
    }

    /** Returns normally once authorized; throws the explained refusal or failure otherwise. */
    static void await(Process p, Mode mode, EngineOutput output, java.util.List<String> command, Duration timeout)
            throws LaunchException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (true) {
                if (!p.isAlive()) {
                    output.drain(2000);
                    throw ExitReasons.explain(mode, p.exitValue(), output, command);
                }
                if (isRoot(p.pid()) || p.descendants().anyMatch(d -> isRoot(d.pid()))) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    p.destroy();
                    p.waitFor(2, TimeUnit.SECONDS);
                    throw new LaunchException("No authorization within " + timeout.toMinutes()
                            + " minutes; the request was withdrawn. Nothing was changed.",
                            "Start again and answer the password dialog.", null);
                }
                Thread.sleep(10);
            }
        } catch (InterruptedException e) {
            p.destroy();
            Thread.currentThread().interrupt();
            throw new LaunchException("Starting the engine was interrupted; nothing was changed.",
                    "Start again.", e);
        }
    }

    private static boolean isRoot(long pid) {
        return ProcessIds.realUid(pid).orElse(-1) == 0;
    }
}
