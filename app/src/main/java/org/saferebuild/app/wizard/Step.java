package org.saferebuild.app.wizard;

import java.util.function.Supplier;
import javafx.scene.Node;

/** A wizard step: its view model and how to make its view (made once, on first show). */
public final class Step {
    private final StepModel model;
    private final Supplier<Node> factory;
    private Node view;

    public Step(StepModel model, Supplier<Node> factory) {
        this.model = model;
        this.factory = factory;
    }

    public StepModel model() {
        return model;
    }

    public Node view() {
        if (view == null) {
            view = factory.get();
        }
        return view;
    }
}
