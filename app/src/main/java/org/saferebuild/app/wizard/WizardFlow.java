package org.saferebuild.app.wizard;

import java.util.List;
import javafx.beans.binding.Bindings;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.property.ReadOnlyIntegerProperty;
import javafx.beans.property.ReadOnlyIntegerWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;

/**
 * Decides where the operator may go (ControlsFX's Wizard.Flow with canAdvance is the pattern):
 * Next only when the current step is complete, Back only when it is not busy, and a step in the
 * list only when every step before it is complete.
 */
public final class WizardFlow {
    private final List<StepModel> steps;
    private final ReadOnlyIntegerWrapper index = new ReadOnlyIntegerWrapper(0);
    private final ReadOnlyObjectWrapper<StepModel> current = new ReadOnlyObjectWrapper<>();
    private final BooleanBinding canAdvance;
    private final BooleanBinding canGoBack;

    public WizardFlow(List<StepModel> steps) {
        if (steps.isEmpty()) {
            throw new IllegalArgumentException("a wizard needs steps");
        }
        this.steps = List.copyOf(steps);
        current.set(this.steps.get(0));
        canAdvance = Bindings.createBooleanBinding(() -> {
            StepModel s = current.get();
            return index.get() < this.steps.size() - 1 && s.completeProperty().get() && !s.busyProperty().get();
        }, deps());
        canGoBack = Bindings.createBooleanBinding(() -> index.get() > 0 && !current.get().busyProperty().get(),
                deps());
    }

    /** Everything the two bindings depend on: the position and every step's complete and busy. */
    private javafx.beans.Observable[] deps() {
        java.util.List<javafx.beans.Observable> d = new java.util.ArrayList<>(java.util.List.of(index, current));
        for (StepModel s : steps) {
            d.add(s.completeProperty());
            d.add(s.busyProperty());
        }
        return d.toArray(javafx.beans.Observable[]::new);
    }

    public List<StepModel> steps() {
        return steps;
    }

    public ReadOnlyIntegerProperty indexProperty() {
        return index.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<StepModel> currentProperty() {
        return current.getReadOnlyProperty();
    }

    public BooleanBinding canAdvanceProperty() {
        return canAdvance;
    }

    public BooleanBinding canGoBackProperty() {
        return canGoBack;
    }

    /** Whether every step before {@code i} is complete, so the operator may jump there. */
    public boolean reachable(int i) {
        if (i < 0 || i >= steps.size()) {
            return false;
        }
        for (int k = 0; k < i; k++) {
            if (!steps.get(k).completeProperty().get()) {
                return false;
            }
        }
        return true;
    }

    // Commands

    public void next() {
        if (canAdvance.get()) {
            show(index.get() + 1);
        }
    }

    public void back() {
        if (canGoBack.get()) {
            show(index.get() - 1);
        }
    }

    public void goTo(int i) {
        if (i != index.get() && reachable(i) && !current.get().busyProperty().get()) {
            show(i);
        }
    }

    /** A step's result was invalidated (the configuration changed): the operator goes back there. */
    public void returnTo(int i) {
        if (i < index.get()) {
            show(i);
        }
    }

    private void show(int i) {
        index.set(i);
        current.set(steps.get(i));
        steps.get(i).entered();
    }
}
