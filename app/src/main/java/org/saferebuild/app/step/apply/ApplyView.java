package org.saferebuild.app.step.apply;

import atlantafx.base.theme.Styles;
import java.time.Instant;
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
import javafx.scene.layout.VBox;
import javafx.util.Duration;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.log.LogView;
import org.saferebuild.app.ui.ConfirmOrRevert;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.SystemRequest.Mode;

/** The Apply screen: mode, the named action, the activation output, then keep-or-revert. */
public final class ApplyView extends VBox {
    private final ApplyViewModel model;
    private final Timeline clock;

    public ApplyView(ApplyViewModel model, java.util.function.Consumer<java.nio.file.Path> opener) {
        this.model = model;
        this.clock = new Timeline(new KeyFrame(Duration.seconds(1), e -> model.tick(Instant.now())));
        clock.setCycleCount(Timeline.INDEFINITE);
        setSpacing(8);

        ToggleGroup modes = new ToggleGroup();
        VBox modeBox = new VBox(6);
        for (Mode m : new Mode[] {Mode.TEST, Mode.SWITCH, Mode.BOOT}) {
            RadioButton r = new RadioButton(switch (m) {
                case TEST -> "_Test: activate now, until reboot";
                case SWITCH -> "S_witch: activate now and make it the boot default";
                case BOOT -> "B_oot: make it the boot default, activate at next boot";
            });
            r.setId("mode-" + m.name().toLowerCase());
            r.setToggleGroup(modes);
            r.setUserData(m);
            r.setSelected(model.modeProperty().get() == m);
            r.disableProperty().bind(model.busyProperty().or(model.phaseProperty().isEqualTo(
                    ApplyViewModel.Phase.AWAITING_CONFIRM)));
            Label why = Ui.muted(ApplyViewModel.explain(m));
            VBox.setMargin(why, new javafx.geometry.Insets(0, 0, 0, 26));
            modeBox.getChildren().addAll(r, why);
        }
        modes.selectedToggleProperty().addListener((o, a, b) -> {
            if (b != null) {
                model.chooseMode((Mode) b.getUserData());
            }
        });

        Button apply = new Button();
        apply.setId("apply-button");
        apply.setGraphic(new FontIcon(Feather.PLAY_CIRCLE));
        apply.getStyleClass().add(Styles.ACCENT);
        apply.setDefaultButton(true);
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

        Label status = Ui.wrap("");
        status.setId("apply-status");
        status.textProperty().bind(model.statusProperty());

        ConfirmOrRevert row = new ConfirmOrRevert("apply", model.secondsLeftProperty(), model.busyProperty(),
                model::keep, model::revertNow);
        Label explain = Ui.wrap("The new configuration is active. If you do nothing, the engine reverts to the "
                + "previous generation when the countdown ends — also if this window closes or the display dies.");
        VBox confirmBox = new VBox(8, row, explain);
        confirmBox.getStyleClass().add("confirm-box");
        confirmBox.visibleProperty().bind(model.phaseProperty().isEqualTo(ApplyViewModel.Phase.AWAITING_CONFIRM));
        confirmBox.managedProperty().bind(confirmBox.visibleProperty());
        model.phaseProperty().addListener((o, a, b) -> {
            if (b == ApplyViewModel.Phase.AWAITING_CONFIRM) {
                clock.play();
                row.keepButton().requestFocus();
            } else {
                clock.stop();
            }
        });

        LogView out = new LogView(model.output());
        out.setOpener(opener);
        out.setId("activation-log");
        out.setMinHeight(180);
        VBox.setVgrow(out, Priority.ALWAYS);

        getChildren().addAll(Ui.header("Apply the new configuration", model.runbookStep(),
                        "switch-to-configuration runs on the live system. Choose how:"),
                modeBox, applyRow, status, confirmBox,
                Ui.slot(model.failureProperty(), f -> Ui.failure("The activation did not complete", f, null)),
                Ui.section("Activation output"), out);
    }
}
