package org.saferebuild.app.launch;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A started engine process: talk to it over its stdin/stdout with the protocol's EngineConnection.
 * {@link #mode()} says how it was started (show it to the operator). If the handshake fails
 * because the engine closed its output, {@link #whyEnded(Duration)} says why, with the fix.
 */
public record Launched(Process process, Mode mode, List<String> command, EngineOutput output) {
    public Launched {
        command = List.copyOf(command);
        if (output == null) {
            output = EngineOutput.none(null);
        }
    }

    public Launched(Process process, Mode mode, List<String> command) {
        this(process, mode, command, null);
    }

    /**
     * Waits up to {@code wait} for the engine process to end and explains its exit (pkexec's 126 and
     * 127, sudo's refusal, the engine's own refusals) with what it printed last.
     */
    public LaunchException whyEnded(Duration wait) {
        try {
            if (!process.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                return new LaunchException("The engine (" + mode.name().toLowerCase() + ") is still running but"
                        + " does not answer.", "Close the app and start it again; the engine log"
                        + (output.log() == null ? "" : " (" + output.log() + ")") + " may say more.", null);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new LaunchException("Interrupted while waiting for the engine.", "Start the app again.", e);
        }
        output.drain(2000);
        return ExitReasons.explain(mode, process.exitValue(), output, command);
    }
}
