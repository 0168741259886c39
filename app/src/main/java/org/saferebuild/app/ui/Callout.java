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
 * warning or danger colours (app.css). Its text wraps and its height follows its width. Store
 * paths in the text are shortened to their names (hover or "Copy" gives the full text); longer
 * background goes behind a disclosure ({@link #setDetails}).
 */
public final class Callout extends HBox {
    private final Label title = new Label();
    private final Label description;
    private String fullDescription;
    private final VBox text;
    private final HBox actions = new HBox(8);

    public Callout(String title, String description, Node icon) {
        super(14);
        getStyleClass().add("callout");
        this.title.setText(title);
        this.title.getStyleClass().add("callout-title");
        this.title.setWrapText(true);
        this.title.setMinHeight(Region.USE_PREF_SIZE);
        this.fullDescription = description;
        this.description = Ui.withStorePaths(description);
        this.description.getStyleClass().add("callout-description");
        this.description.setId("callout-description");
        text = new VBox(4, this.title, this.description);
        HBox.setHgrow(text, Priority.ALWAYS);
        text.setMaxWidth(Double.MAX_VALUE);
        if (icon != null) {
            icon.getStyleClass().add("callout-icon");
            getChildren().add(icon);
        }
        getChildren().add(text);
        setAlignment(Pos.TOP_LEFT);
        setPadding(new Insets(10, 14, 10, 14));
        setMinHeight(Region.USE_PREF_SIZE);
    }

    /** The whole text this box stands for (some of it behind its disclosures), as {@link #getDescription} gives it. */
    public void setFullDescription(String full) {
        this.fullDescription = full;
    }

    /** Background the operator may want, behind a "title ▸" disclosure under the text. */
    public Callout setDetails(String title, String details) {
        text.getChildren().add(new Disclosure(title, Ui.withStorePaths(details)));
        return this;
    }

    /** Buttons under the text: the sensible next actions. */
    public Callout setActions(Node... buttons) {
        actions.getChildren().setAll(buttons);
        actions.setAlignment(Pos.CENTER_LEFT);
        actions.setPadding(new Insets(4, 0, 0, 0));
        if (!text.getChildren().contains(actions)) {
            text.getChildren().add(actions);
        }
        return this;
    }

    public String getTitle() {
        return title.getText();
    }

    /** The full description (store paths not shortened), as the engine sent it. */
    public String getDescription() {
        return fullDescription;
    }

    /** The description as shown (store paths shortened to their names). */
    public String shownDescription() {
        return description.getText();
    }
}
