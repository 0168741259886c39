package org.saferebuild.app.launch;

/**
 * Starts the root engine. The wizard depends on this interface only; the privilege-separation
 * work (issue 6) provides the pkexec and sudo launchers and chooses between them.
 */
@FunctionalInterface
public interface EngineLauncher {
    Launched launch() throws LaunchException;
}
