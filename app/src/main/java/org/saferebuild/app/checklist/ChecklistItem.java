package org.saferebuild.app.checklist;

import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;

/**
 * One line of the runbook's "Safety Checklist". An automatic item turns green only from evidence
 * the engine gathered (the evidence text says what it was); the manual one needs the operator.
 */
public final class ChecklistItem {
    public enum State { WAITING, PASSED, FAILED }

    private final Key key;
    private final ReadOnlyObjectWrapper<State> state = new ReadOnlyObjectWrapper<>(State.WAITING);
    private final ReadOnlyStringWrapper evidence = new ReadOnlyStringWrapper();

    ChecklistItem(Key key) {
        this.key = key;
        evidence.set(key.waitingFor);
    }

    /** The eight items, in the runbook's order, with what fills each in. */
    public enum Key {
        BUILDS("Configuration builds successfully in isolated environment", false, "Waiting for the build."),
        SERVICES("All expected services are defined in result closure", false,
                "Waiting for the inspection of the built system."),
        LOG_CLEAN("No obvious errors in build output", false, "Waiting for the build log."),
        DISK("Disk space sufficient", false, "Waiting for the preflight check."),
        BACKUP("Backup of current configuration exists", false, "Waiting for the baseline (taken at sign-off)."),
        ROLLBACK("Know how to rollback", false, "Waiting for the list of generations."),
        BASELINE("Observer has captured pre-change baseline", false, "Waiting for the baseline (taken at sign-off)."),
        WINDOW("Off-hours or maintenance window if possible", true, "Tick when this is a good time to change the system.");

        public final String runbookText;
        public final boolean manual;
        final String waitingFor;

        Key(String runbookText, boolean manual, String waitingFor) {
            this.runbookText = runbookText;
            this.manual = manual;
            this.waitingFor = waitingFor;
        }
    }

    public Key key() {
        return key;
    }

    public ReadOnlyObjectProperty<State> stateProperty() {
        return state.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty evidenceProperty() {
        return evidence.getReadOnlyProperty();
    }

    public boolean passed() {
        return state.get() == State.PASSED;
    }

    // Commands

    void set(State s, String why) {
        state.set(s);
        evidence.set(why);
    }

    void clear() {
        state.set(State.WAITING);
        evidence.set(key.waitingFor);
    }
}
