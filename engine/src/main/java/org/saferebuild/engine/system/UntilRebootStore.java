package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code <stateDir>/apply/until-reboot.json}: the {@link UntilReboot} record that Verify reads. */
final class UntilRebootStore {
    private static final Logger LOG = LoggerFactory.getLogger(UntilRebootStore.class);

    private final Path file;
    private final SystemProfile profile;

    UntilRebootStore(Path file, SystemProfile profile) {
        this.file = file;
        this.profile = profile;
    }

    /** Records that {@code running} runs until the next boot while the profile stays where it is now. */
    void record(String running, Mode mode) {
        if (running == null) {
            return;
        }
        try {
            StateFiles.replace(file, Json.encode(new UntilReboot(running, profile.currentPath().orElse(""), mode)));
        } catch (IOException e) {
            LOG.warn("cannot record what runs until the next boot: {}", e.toString());
        }
    }

    /**
     * The record of what should run until the next boot, only while the profile still points where
     * it did when it was written (a later switch, rollback or new generation makes it stale).
     */
    Optional<UntilReboot> current() {
        UntilReboot u = StateFiles.read(file, UntilReboot.class);
        return u != null && u.profilePath().equals(profile.currentPath().orElse(null)) ? Optional.of(u)
                : Optional.empty();
    }
}
