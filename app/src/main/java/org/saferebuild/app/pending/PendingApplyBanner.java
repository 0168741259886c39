package org.saferebuild.app.pending;

import atlantafx.base.theme.Styles;
import java.time.Instant;
import javafx.animation.KeyFrame;
import javafx.animation.Timeline;
import javafx.beans.binding.Bindings;
import javafx.geometry.Insets;
import javafx.scene.control.Button;
import javafx.scene.layout.VBox;
import javafx.util.Duration;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.ui.ConfirmOrRevert;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * Above every screen while an apply from before this window opened waits for confirmation: what
 * runs, the seconds left, Keep and Revert. Afterwards, what became of it, until dismissed.
 */
public final class PendingApplyBanner extends VBox {
    private final PendingApplyModel model;
    private final Timeline clock;
    private Button dismiss;

    public PendingApplyBanner(PendingApplyModel model) {
        this.model = model;
        this.clock = new Timeline(new KeyFrame(Duration.seconds(1), e -> model.tick(Instant.now())));
        clock.setCycleCount(Timeline.INDEFINITE);
        setId("pending-apply");
        setPadding(new Insets(10, 16, 0, 16));
        getStyleClass().add("pending-apply");

        ConfirmOrRevert actions = new ConfirmOrRevert("pending", model.secondsLeftProperty(), model.busyProperty(),
                model::keep, model::revert);
        actions.setPadding(new Insets(0, 0, 4, 8));

        VBox waiting = new VBox(8);
        waiting.setId("pending-waiting");
        waiting.visibleProperty().bind(model.waitingProperty().isNotNull());
        waiting.managedProperty().bind(waiting.visibleProperty());
        model.waitingProperty().addListener((o, a, b) -> {
            waiting.getChildren().clear();
            if (b != null) {
                waiting.getChildren().addAll(Ui.info("A configuration is waiting for your confirmation",
                        describe(b), Feather.ALERT_TRIANGLE, Styles.WARNING), actions);
                clock.play();
                actions.keepButton().requestFocus();
            } else {
                clock.stop();
            }
        });

        Button dismiss = new Button(null, new FontIcon(Feather.X));
        dismiss.setId("pending-dismiss");
        dismiss.setTooltip(new javafx.scene.control.Tooltip("Dismiss (Escape)"));
        dismiss.getStyleClass().addAll(Styles.FLAT, Styles.BUTTON_ICON);
        VBox outcome = new VBox(6);
        outcome.setId("pending-outcome");
        model.outcomeProperty().addListener((o, a, b) -> {
            outcome.getChildren().clear();
            if (b != null) {
                boolean kept = b.startsWith("Confirmed");
                org.saferebuild.app.ui.Callout note = Ui.info(kept ? "Kept" : "Confirm or revert", b,
                        kept ? Feather.CHECK_CIRCLE : Feather.INFO, kept ? Styles.SUCCESS : null);
                javafx.scene.layout.HBox.setHgrow(note, javafx.scene.layout.Priority.ALWAYS);
                javafx.scene.layout.HBox row = new javafx.scene.layout.HBox(6, note, dismiss);
                row.setAlignment(javafx.geometry.Pos.TOP_RIGHT);
                outcome.getChildren().add(row);
            }
        });
        dismiss.setOnAction(e -> outcome.getChildren().clear());
        this.dismiss = dismiss;
        outcome.visibleProperty().bind(Bindings.isNotEmpty(outcome.getChildren()));
        outcome.managedProperty().bind(outcome.visibleProperty());

        getChildren().addAll(waiting, outcome);
        visibleProperty().bind(waiting.visibleProperty().or(outcome.visibleProperty()));
        managedProperty().bind(visibleProperty());
    }

    static String describe(SystemResult.ApplyState s) {
        String what = s.mode() == SystemRequest.Mode.TEST
                ? "A test activation of " + Ui.storeName(s.storePath()) + " is running"
                : "Generation " + s.generation() + " (" + Ui.storeName(s.storePath()) + ") was switched to";
        return what + " before this window opened, and nobody has confirmed it yet. Keep it if the system works;"
                + " otherwise, or if nobody answers, the engine goes back to generation " + s.revertsTo() + " when the"
                + " countdown ends" + (s.enginePid() == null ? "" : " (engine pid " + s.enginePid() + " runs it)") + ".";
    }

    /** Dismisses what became of the countdown, if it is shown (Escape). Returns whether it was. */
    public boolean dismiss() {
        if (dismiss != null && dismiss.getParent() != null && dismiss.getScene() != null && isVisible()) {
            dismiss.fire();
            return true;
        }
        return false;
    }

    public PendingApplyModel model() {
        return model;
    }
}
