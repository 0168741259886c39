package org.saferebuild.app.launch;

/**
 * Starts the root engine. The wizard depends on this interface only; {@link EngineLaunchers#choose}
 * picks the implementation (direct when the app is root, else pkexec, else sudo -n).
 * {@link #launch()} returns once the engine runs as root (for pkexec: after the operator
 * authorized it) and throws a {@link LaunchException} with the reason and the fix otherwise.
 */
@FunctionalInterface
public interface EngineLauncher {
    Launched launch() throws LaunchException;
}
