package org.saferebuild.app.ui;

import atlantafx.base.theme.Styles;
import javafx.beans.binding.Bindings;
import javafx.beans.value.ObservableBooleanValue;
import javafx.beans.value.ObservableLongValue;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.layout.HBox;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;

/**
 * The confirm-or-revert row: the time left (m:ss), "Keep this configuration" and "Revert now".
 * Ids are {@code <prefix>-countdown}, {@code <prefix>-keep} and {@code <prefix>-revert}.
 */
public final class ConfirmOrRevert extends HBox {
    private final Button keep = new Button("_Keep this configuration", new FontIcon(Feather.CHECK));

    public ConfirmOrRevert(String idPrefix, ObservableLongValue secondsLeft, ObservableBooleanValue busy,
                           Runnable onKeep, Runnable onRevert) {
        super(16);
        Label countdown = new Label();
        countdown.setId(idPrefix + "-countdown");
        countdown.getStyleClass().add("countdown");
        countdown.textProperty().bind(Bindings.createStringBinding(() -> {
            long s = secondsLeft.get();
            return s < 0 ? "" : String.format("%d:%02d", s / 60, s % 60);
        }, secondsLeft));
        keep.setId(idPrefix + "-keep");
        keep.getStyleClass().add(Styles.SUCCESS);
        keep.disableProperty().bind(busy);
        keep.setOnAction(e -> onKeep.run());
        Button revert = new Button("_Revert now", new FontIcon(Feather.ROTATE_CCW));
        revert.setId(idPrefix + "-revert");
        revert.getStyleClass().add(Styles.DANGER);
        revert.disableProperty().bind(busy);
        revert.setOnAction(e -> onRevert.run());
        getChildren().addAll(countdown, keep, revert);
        setAlignment(Pos.CENTER_LEFT);
    }

    /** Focused when the countdown starts, so that Enter keeps the configuration. */
    public Button keepButton() {
        return keep;
    }
}
