package org.saferebuild.app.session;

import java.util.Objects;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;
import org.saferebuild.protocol.SystemResult;

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

    /**
     * The system the engine built for this run: only such a path can be applied (the engine keeps
     * it as a GC root and checks that it built it).
     */
    public record BuiltSystem(String storePath, String gcRoot, String logFile, long millis) {
    }

    private final ReadOnlyObjectWrapper<BuiltSystem> built = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<InspectResult.Comparison> comparison = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<SystemResult.Baseline> baseline = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<SystemResult.SignedOff> signedOff = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<String> signedOffBy = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<SystemResult.Applied> applied = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<String> applyOutcome = new ReadOnlyObjectWrapper<>();
    private final java.util.List<String> activationOutput = new java.util.ArrayList<>();
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

    public ReadOnlyObjectProperty<BuiltSystem> builtProperty() {
        return built.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<InspectResult.Comparison> comparisonProperty() {
        return comparison.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<SystemResult.Baseline> baselineProperty() {
        return baseline.getReadOnlyProperty();
    }

    /** Set only after the engine recorded the sign-off in the audit trail; Apply is bound to it. */
    public ReadOnlyObjectProperty<SystemResult.SignedOff> signedOffProperty() {
        return signedOff.getReadOnlyProperty();
    }

    public String signedOffBy() {
        return signedOffBy.get();
    }

    public ReadOnlyObjectProperty<SystemResult.Applied> appliedProperty() {
        return applied.getReadOnlyProperty();
    }

    /** How the apply ended for the operator ("Confirmed: …", "Reverted: …"), for the change record. */
    public ReadOnlyObjectProperty<String> applyOutcomeProperty() {
        return applyOutcome.getReadOnlyProperty();
    }

    /** The last lines of the activation output, for the change record. */
    public java.util.List<String> activationOutput() {
        return java.util.List.copyOf(activationOutput);
    }

    // Commands

    /** The operator chose a target. A different one than before invalidates everything derived. */
    public void chooseTarget(Target t) {
        if (!Objects.equals(t, target.get())) {
            target.set(t);
            built.set(null);
            comparison.set(null);
            clearSignoff();
            changes.set(changes.get() + 1);
        }
    }

    public void sandboxOpened(SandboxResult.Opened opened) {
        sandbox.set(opened);
    }

    public void sandboxClosed() {
        sandbox.set(null);
    }

    /** A new build replaces the old one; what was inspected and signed off was about the old one. */
    public void built(BuiltSystem b) {
        built.set(b);
        comparison.set(null);
        clearSignoff();
    }

    public void compared(InspectResult.Comparison c) {
        comparison.set(c);
    }

    public void baselineTaken(SystemResult.Baseline b) {
        baseline.set(b);
    }

    public void signedOff(SystemResult.SignedOff s, String operator) {
        signedOffBy.set(operator);
        signedOff.set(s);
    }

    public void applied(SystemResult.Applied a) {
        applied.set(a);
    }

    public void applyEnded(String outcome) {
        applyOutcome.set(outcome);
    }

    public void activationLines(java.util.List<String> lines) {
        activationOutput.addAll(lines);
        if (activationOutput.size() > 400) {
            activationOutput.subList(0, activationOutput.size() - 400).clear();
        }
    }

    /** The sign-off was for a configuration and build that no longer hold. */
    public void clearSignoff() {
        signedOff.set(null);
        signedOffBy.set(null);
        baseline.set(null);
    }
}
