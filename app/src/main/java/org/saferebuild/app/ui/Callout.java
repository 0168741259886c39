package org.saferebuild.app.ui;

import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.Node;
import javafx.scene.control.Label;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;

/**
 * A titled box for a result, a warning or a failure, coloured by the theme's accent, success,
 * warning or danger colours (app.css). Its text wraps and its height follows its width — which
 * AtlantaFX's Message did not do for long descriptions (a failure with a long log path was drawn
 * over the boxes above it).
 */
public final class Callout extends HBox {
    private final Label title = new Label();
    private final Label description = new Label();

    public Callout(String title, String description, Node icon) {
        super(14);
        getStyleClass().add("callout");
        this.title.setText(title);
        this.title.getStyleClass().add("callout-title");
        this.title.setWrapText(true);
        this.description.setText(description);
        this.description.getStyleClass().add("callout-description");
        this.description.setWrapText(true);
        this.description.setMinHeight(Region.USE_PREF_SIZE);
        VBox text = new VBox(4, this.title, this.description);
        HBox.setHgrow(text, Priority.ALWAYS);
        text.setMaxWidth(Double.MAX_VALUE);
        if (icon != null) {
            icon.getStyleClass().add("callout-icon");
            getChildren().add(icon);
        }
        getChildren().add(text);
        setAlignment(Pos.TOP_LEFT);
        setPadding(new Insets(12, 16, 12, 16));
        setMinHeight(Region.USE_PREF_SIZE);
    }

    public String getTitle() {
        return title.getText();
    }

    public String getDescription() {
        return description.getText();
    }
}
