package org.saferebuild.app.step.apply;

import atlantafx.base.theme.Styles;
import java.time.Instant;
import java.util.function.Consumer;
import javafx.animation.KeyFrame;
import javafx.animation.Timeline;
import javafx.beans.binding.Bindings;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.RadioButton;
import javafx.scene.control.ToggleGroup;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import javafx.util.Duration;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.log.LogView;
import org.saferebuild.app.ui.Callout;
import org.saferebuild.app.ui.ConfirmOrRevert;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.SystemRequest.Mode;

/**
 * The Apply screen: the mode and the action named for it; while the countdown runs, Keep and Revert
 * with the time it reverts at; afterwards what happened and the sensible ways on; the activation
 * output throughout.
 */
public final class ApplyView extends VBox {
    private final Timeline clock;

    public ApplyView(ApplyViewModel model, Consumer<java.nio.file.Path> opener) {
        this.clock = new Timeline(new KeyFrame(Duration.seconds(1), e -> model.tick(Instant.now())));
        clock.setCycleCount(Timeline.INDEFINITE);
        setSpacing(8);

        ToggleGroup modes = new ToggleGroup();
        HBox modeRow = new HBox(18);
        modeRow.setAlignment(Pos.CENTER_LEFT);
        for (Mode m : new Mode[] {Mode.TEST, Mode.SWITCH, Mode.BOOT}) {
            RadioButton r = new RadioButton(switch (m) {
                case TEST -> "_Test";
                case SWITCH -> "S_witch";
                case BOOT -> "B_oot";
            });
            r.setId("mode-" + m.name().toLowerCase());
            r.setToggleGroup(modes);
            r.setUserData(m);
            r.setSelected(model.modeProperty().get() == m);
            r.disableProperty().bind(model.phaseProperty().isNotEqualTo(ApplyViewModel.Phase.READY));
            r.setMinWidth(Region.USE_PREF_SIZE);
            modeRow.getChildren().add(r);
        }
        modes.selectedToggleProperty().addListener((o, a, b) -> {
            if (b != null) {
                model.chooseMode((Mode) b.getUserData());
            }
        });
        Label modeLabel = new Label("Mode");
        modeLabel.getStyleClass().add(Styles.TEXT_BOLD);
        modeLabel.setMinWidth(Region.USE_PREF_SIZE);
        modeRow.getChildren().add(0, modeLabel);
        Label why = Ui.muted("");
        why.setId("apply-mode-explained");
        why.textProperty().bind(Bindings.createStringBinding(() -> ApplyViewModel.explain(model.modeProperty().get()),
                model.modeProperty()));

        Button apply = new Button();
        apply.setId("apply-button");
        apply.setGraphic(new FontIcon(Feather.PLAY_CIRCLE));
        apply.getStyleClass().add(Styles.ACCENT);
        apply.setDefaultButton(true);
        apply.setMinWidth(Region.USE_PREF_SIZE);
        Ui.focusWhenEnabled(apply);
        apply.textProperty().bind(Bindings.createStringBinding(() -> ApplyViewModel.actionName(
                model.modeProperty().get()), model.modeProperty()));
        apply.disableProperty().bind(model.canApplyProperty().not());
        apply.setOnAction(e -> model.apply());
        Label locked = Ui.muted("Locked until the checklist is signed off.");
        locked.setId("apply-locked");
        locked.visibleProperty().bind(model.canApplyProperty().not().and(model.phaseProperty().isEqualTo(
                ApplyViewModel.Phase.READY)));
        HBox applyRow = new HBox(12, apply, locked);
        applyRow.setAlignment(Pos.CENTER_LEFT);
        VBox choose = new VBox(6, modeRow, why, applyRow);
        choose.setId("apply-choose");
        // One apply per run: once it ran, choosing and applying are gone from the screen.
        Ui.showWhen(choose, model.phaseProperty().isEqualTo(ApplyViewModel.Phase.READY));

        Label status = Ui.wrap("");
        status.setId("apply-status");
        status.textProperty().bind(model.statusProperty());
        Ui.showWhen(status, model.statusProperty().isNotEmpty());

        ConfirmOrRevert row = new ConfirmOrRevert("apply", model.secondsLeftProperty(), model.actingProperty(),
                model::keep, model::revertNow);
        Label deadline = Ui.wrap("");
        deadline.setId("apply-deadline");
        deadline.textProperty().bind(model.deadlineTextProperty());
        Label explain = Ui.muted("If you do nothing — or this window closes, or the display dies — the engine reverts"
                + " to the previous generation then.");
        VBox confirmBox = new VBox(6, row, deadline, explain);
        confirmBox.setId("apply-confirm");
        confirmBox.getStyleClass().add("confirm-box");
        Ui.showWhen(confirmBox, model.phaseProperty().isEqualTo(ApplyViewModel.Phase.AWAITING_CONFIRM));
        model.phaseProperty().addListener((o, a, b) -> {
            if (b == ApplyViewModel.Phase.AWAITING_CONFIRM) {
                clock.play();
                javafx.application.Platform.runLater(() -> row.keepButton().requestFocus());
            } else {
                clock.stop();
            }
            if (b == ApplyViewModel.Phase.LOST) {
                // Keep and Revert are gone and Next stays disabled: the message saying what happened and
                // what to do gets the focus (a screen reader reads it, Tab goes on from there), not the
                // next control in the window, which was the activation log's search field.
                focusLater("#apply-outcome");
            }
            if (b == ApplyViewModel.Phase.CONFIRMED || b == ApplyViewModel.Phase.REVERTED
                    || b == ApplyViewModel.Phase.FAILED) {
                // The apply ended: the next sensible step (Verify) has the focus, so another Enter
                // goes on instead of doing anything to the system.
                focusLater("#wizard-next");
            }
        });

        Button startOver = new Button("Start a n_ew change", new FontIcon(Feather.CORNER_UP_LEFT));
        startOver.setId("apply-start-over");
        startOver.setOnAction(e -> model.startOver());
        VBox outcome = Ui.slot(model.outcomeProperty(), o -> {
            boolean lost = model.phaseProperty().get() == ApplyViewModel.Phase.LOST;
            Callout c = Ui.info(o.title(), o.text() + "\n\n" + (lost
                    ? "Start Safe Rebuild again to reconnect: if the change still waits, it shows the countdown"
                            + " and you can keep it; otherwise History says what the engine did."
                    : o.good()
                    ? "Next verifies the system. To change it again, start a new change: choose a configuration and build."
                    : "Next verifies the system as it runs now. To try again, start a new change: fix the"
                            + " configuration, build it and sign off again."),
                    o.good() ? Feather.CHECK_CIRCLE : Feather.ALERT_TRIANGLE, o.good() ? Styles.SUCCESS
                            : lost ? Styles.DANGER : Styles.WARNING);
            c.setId("apply-outcome");
            if (!lost) {
                c.setActions(startOver);
            }
            return c;
        });
        Button startAgain = new Button("Start a n_ew change", new FontIcon(Feather.CORNER_UP_LEFT));
        startAgain.setId("apply-failed-start-over");
        startAgain.setOnAction(e -> model.startOver());
        VBox failure = Ui.slot(model.failureProperty(), f -> {
            Callout c = Ui.failure(model.phaseProperty().get() == ApplyViewModel.Phase.FAILED
                    ? "The activation did not complete" : "The engine refused", f, null);
            if (model.phaseProperty().get() == ApplyViewModel.Phase.FAILED) {
                c.setActions(startAgain);
            }
            return c;
        });

        LogView out = new LogView(model.output());
        out.setOpener(opener);
        out.setId("activation-log");
        out.setMinHeight(160);
        VBox.setVgrow(out, Priority.ALWAYS);
        Label outTitle = Ui.section("Activation output");

        getChildren().addAll(Ui.header("Apply the new configuration", model.runbookStep(),
                        "switch-to-configuration runs on the live system; Test and Switch wait for you to keep"
                                + " the result.",
                        "Test: activate now, without a new generation or boot entry; a reboot brings back the old"
                                + " one. Switch: the runbook's nixos-rebuild switch — a new generation, active now and"
                                + " the boot default. Boot: a new generation that becomes active at the next boot."
                                + " After Test or Switch a countdown runs in the engine: Keep ends it; without an"
                                + " answer the engine reverts to the previous generation, also when this window is"
                                + " gone."),
                choose, status, confirmBox, outcome, failure, outTitle, out);
    }

    /** Gives the focus to the node {@code selector} finds, once the scene shows the new phase. */
    private void focusLater(String selector) {
        javafx.application.Platform.runLater(() -> {
            javafx.scene.Node n = getScene() == null ? null : getScene().lookup(selector);
            if (n != null) {
                n.setFocusTraversable(true); // a button already is; a callout becomes reachable by Tab
                n.requestFocus();
            }
        });
    }
}
