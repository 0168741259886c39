package org.saferebuild.app.session;

import java.util.Objects;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;

/**
 * What this run has established so far, shared by the steps: the target the operator chose, the
 * open sandbox, and the evidence later steps add. Changing the target clears everything that was
 * derived from the old one, the sign-off included.
 */
public final class RunSession {
    /** The configuration to build: directory, host (null for a classic configuration.nix), network. */
    public record Target(String configDir, String host, SandboxRequest.Network network, String plan) {
        public String describe() {
            return host == null ? configDir : configDir + "#" + host;
        }
    }

    private final ReadOnlyObjectWrapper<Target> target = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<SandboxResult.Opened> sandbox = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Long> changes = new ReadOnlyObjectWrapper<>(0L);

    public ReadOnlyObjectProperty<Target> targetProperty() {
        return target.getReadOnlyProperty();
    }

    public Target target() {
        return target.get();
    }

    public ReadOnlyObjectProperty<SandboxResult.Opened> sandboxProperty() {
        return sandbox.getReadOnlyProperty();
    }

    /** Bumped whenever the target changes: every step drops what it derived from the old one. */
    public ReadOnlyObjectProperty<Long> targetChangesProperty() {
        return changes.getReadOnlyProperty();
    }

    // Commands

    /** The operator chose a target. A different one than before invalidates everything derived. */
    public void chooseTarget(Target t) {
        if (!Objects.equals(t, target.get())) {
            target.set(t);
            changes.set(changes.get() + 1);
        }
    }

    public void sandboxOpened(SandboxResult.Opened opened) {
        sandbox.set(opened);
    }

    public void sandboxClosed() {
        sandbox.set(null);
    }
}
