package org.saferebuild.app.wizard;

import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;

/**
 * The part of a step's view model the wizard needs: its name, whether the operator may go on
 * ({@code complete}), and whether it is busy (then Back is disabled too, so a running build is
 * not abandoned by accident). View models hold no Node.
 */
public abstract class StepModel {
    private final String title;
    private final String runbookStep;
    protected final ReadOnlyBooleanWrapper complete = new ReadOnlyBooleanWrapper(false);
    protected final ReadOnlyBooleanWrapper busy = new ReadOnlyBooleanWrapper(false);

    protected StepModel(String title, String runbookStep) {
        this.title = title;
        this.runbookStep = runbookStep;
    }

    public String title() {
        return title;
    }

    /** Where this step is in the runbook ("Step 1: Prepare Isolated Environment"). */
    public String runbookStep() {
        return runbookStep;
    }

    public ReadOnlyBooleanProperty completeProperty() {
        return complete.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty busyProperty() {
        return busy.getReadOnlyProperty();
    }

    /** The operator arrived on this step (forward or back). */
    public void entered() {
    }
}
