package org.saferebuild.app.session;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;
import org.saferebuild.protocol.SystemResult;

/**
 * What this run has established so far, shared by the steps. A run is one target and one build
 * of it: choosing another target, or building again, starts a new run, and everything derived
 * from the old one (comparison, baseline, sign-off, apply) is dropped — every screen listens to
 * {@link #runProperty()} and clears what it showed. A change of the live system made outside
 * this run's apply (a rollback, an answer in the reopened-window banner) is announced by
 * {@link #systemChangesProperty()}: screens that show the system re-read it.
 */
public final class RunSession {
    /** The configuration to build: directory, host (null for a classic configuration.nix), network. */
    public record Target(String configDir, String host, SandboxRequest.Network network, String plan) {
        public String describe() {
            return host == null ? configDir : configDir + "#" + host;
        }

        /** "update#BearsiMac": the directory's own name, for headers and sentences. */
        public String shortName() {
            Path name = Path.of(configDir).getFileName();
            String dir = name == null ? configDir : name.toString();
            return host == null ? dir : dir + "#" + host;
        }
    }

    /**
     * The system the engine built for this run: only such a path can be applied (the engine keeps
     * it as a GC root and checks that it built it).
     */
    public record BuiltSystem(String storePath, String gcRoot, String logFile, long millis) {
    }

    /** One thing that happened in this run, for the change record: when, and what in words. */
    public record Entry(Instant when, String what) {
    }

    private final ReadOnlyObjectWrapper<BuiltSystem> built = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<InspectResult.Comparison> comparison = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<SystemResult.Baseline> baseline = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<SystemResult.SignedOff> signedOff = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<String> signedOffBy = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<SystemResult.Applied> applied = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<String> applyOutcome = new ReadOnlyObjectWrapper<>();
    private final List<String> activationOutput = new ArrayList<>();
    private final ReadOnlyObjectWrapper<Target> target = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<SandboxResult.Opened> sandbox = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Long> changes = new ReadOnlyObjectWrapper<>(0L);
    private final ReadOnlyObjectWrapper<Long> run = new ReadOnlyObjectWrapper<>(0L);
    private final ReadOnlyObjectWrapper<Long> systemChanges = new ReadOnlyObjectWrapper<>(0L);
    private final ObservableList<Entry> timeline = FXCollections.observableArrayList();

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

    /** Bumped when a new run starts (another target, or a new build of it). */
    public ReadOnlyObjectProperty<Long> runProperty() {
        return run.getReadOnlyProperty();
    }

    /** Bumped when the live system changed: an apply ended, a rollback, an answer from the banner. */
    public ReadOnlyObjectProperty<Long> systemChangesProperty() {
        return systemChanges.getReadOnlyProperty();
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

    /** How this run's apply ended for the operator ("Kept: …", "Reverted: …"), for the change record. */
    public ReadOnlyObjectProperty<String> applyOutcomeProperty() {
        return applyOutcome.getReadOnlyProperty();
    }

    /** The last lines of the activation output, for the change record. */
    public List<String> activationOutput() {
        return List.copyOf(activationOutput);
    }

    /** What happened in this run, oldest first (read-only). */
    public ObservableList<Entry> timeline() {
        return FXCollections.unmodifiableObservableList(timeline);
    }

    // Commands

    /** The operator chose a target. A different one than before starts a new run. */
    public void chooseTarget(Target t) {
        if (!Objects.equals(t, target.get())) {
            target.set(t);
            changes.set(changes.get() + 1);
            newRun();
            note("Configuration chosen: " + (t == null ? "none" : t.describe() + ", network "
                    + t.network().name().toLowerCase()));
        }
    }

    public void sandboxOpened(SandboxResult.Opened opened) {
        sandbox.set(opened);
    }

    public void sandboxClosed() {
        sandbox.set(null);
    }

    /** A build starts: what was inspected, signed off and applied was about the old one. */
    public void startBuild() {
        Target t = target.get();
        newRun();
        if (t != null) {
            note("Configuration chosen: " + t.describe() + ", network " + t.network().name().toLowerCase());
        }
    }

    public void built(BuiltSystem b) {
        built.set(b);
        note("Built " + b.storePath() + " in " + String.format("%.1f", b.millis() / 1000.0) + " s");
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
        note("Signed off by " + operator + " (OS user " + s.osUser() + "), audit line " + s.line());
    }

    public void applied(SystemResult.Applied a) {
        applied.set(a);
        note(a.message());
        systemChanged();
    }

    /** This run's apply ended (kept, reverted, failed): the outcome in words. */
    public void applyEnded(String outcome) {
        applyOutcome.set(outcome);
        note(outcome);
        systemChanged();
    }

    public void activationLines(List<String> lines) {
        activationOutput.addAll(lines);
        if (activationOutput.size() > 400) {
            activationOutput.subList(0, activationOutput.size() - 400).clear();
        }
    }

    /**
     * The live system changed outside this run's apply (a rollback from Generations, an answer
     * from the reopened-window banner). Before this run applied anything, the comparison and the
     * baseline were of a system that no longer runs: they are dropped, and so is the sign-off.
     */
    public void systemChangedElsewhere(String what) {
        note(what);
        if (applied.get() == null) {
            comparison.set(null);
            clearSignoff();
        }
        systemChanged();
    }

    /** Something worth a line in the change record. */
    public void note(String what) {
        timeline.add(new Entry(Instant.now(), what));
    }

    /** The sign-off was for a configuration, build or system that no longer holds. */
    public void clearSignoff() {
        signedOff.set(null);
        signedOffBy.set(null);
        baseline.set(null);
    }

    private void systemChanged() {
        systemChanges.set(systemChanges.get() + 1);
    }

    private void newRun() {
        built.set(null);
        comparison.set(null);
        clearSignoff();
        applied.set(null);
        applyOutcome.set(null);
        activationOutput.clear();
        timeline.clear();
        run.set(run.get() + 1);
    }
}
