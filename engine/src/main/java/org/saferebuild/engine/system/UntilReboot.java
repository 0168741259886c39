package org.saferebuild.engine.system;

import org.saferebuild.protocol.SystemRequest.Mode;

/**
 * What runs until the next boot although the profile boots something else, and why: a confirmed
 * test activation, or a boot-mode apply or rollback that left the running system as it was.
 * Kept in {@code <stateDir>/apply/until-reboot.json} ({@link UntilRebootStore}).
 */
public record UntilReboot(String storePath, String profilePath, Mode mode) {
}
