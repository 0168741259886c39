package org.saferebuild.app.checklist;

import atlantafx.base.theme.Styles;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.CheckBox;
import javafx.scene.control.Label;
import javafx.scene.control.Tooltip;
import javafx.scene.input.MouseEvent;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import javafx.util.Duration;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.ui.Ui;

/**
 * The Safety Checklist beside every screen, compact enough to fit a 1280×800 window: each item
 * one line with its state; the evidence behind it shows when the item failed, on hover, and when
 * the item is clicked. The manual item is a check box; the others cannot be ticked by hand.
 */
public final class ChecklistView extends VBox {
    private final ChecklistModel model;
    private final String operator;

    public ChecklistView(ChecklistModel model, String operator) {
        this.model = model;
        this.operator = operator;
        createView();
    }

    private void createView() {
        getStyleClass().add("checklist");
        setId("checklist");
        setSpacing(6);
        setPadding(new Insets(12));
        setPrefWidth(270);
        setMinWidth(240);
        Label title = new Label("Safety checklist");
        title.getStyleClass().add(Styles.TITLE_4);
        Label count = new Label();
        count.setId("checklist-count");
        count.getStyleClass().addAll(Styles.TEXT_MUTED, Styles.TEXT_SMALL);
        Runnable counter = () -> count.setText(model.items().stream().filter(ChecklistItem::passed).count()
                + " of " + model.items().size() + " done · click an item for its evidence");
        model.items().forEach(i -> i.stateProperty().addListener((o, a, b) -> counter.run()));
        counter.run();
        getChildren().addAll(new VBox(0, title, count));
        for (ChecklistItem item : model.items()) {
            getChildren().add(row(item));
        }
    }

    private VBox row(ChecklistItem item) {
        Label evidence = Ui.wrap("");
        evidence.setId("evidence-" + item.key().name().toLowerCase());
        evidence.getStyleClass().addAll(Styles.TEXT_SMALL, Styles.TEXT_MUTED);
        evidence.textProperty().bind(item.evidenceProperty());
        evidence.setMaxWidth(228);
        VBox.setMargin(evidence, new Insets(0, 0, 0, 24));
        boolean[] opened = {false};
        Runnable shown = () -> {
            boolean show = opened[0] || item.stateProperty().get() == ChecklistItem.State.FAILED;
            evidence.setVisible(show);
            evidence.setManaged(show);
        };
        item.stateProperty().addListener((o, a, b) -> shown.run());
        shown.run();
        Tooltip tip = new Tooltip();
        tip.textProperty().bind(item.evidenceProperty());
        tip.setWrapText(true);
        tip.setMaxWidth(420);
        tip.setShowDuration(Duration.seconds(30));

        VBox box;
        if (item.key().manual) {
            CheckBox tick = new CheckBox(item.key().runbookText);
            tick.setId("check-" + item.key().name().toLowerCase());
            tick.setWrapText(true);
            tick.setMaxWidth(236);
            tick.setMinHeight(Region.USE_PREF_SIZE);
            tick.setSelected(item.passed());
            tick.selectedProperty().addListener((o, a, b) -> model.tick(item.key(), b, operator));
            item.stateProperty().addListener((o, a, b) -> tick.setSelected(item.passed()));
            tick.setTooltip(tip);
            box = new VBox(2, tick);
        } else {
            FontIcon icon = new FontIcon();
            Label text = Ui.wrap(item.key().runbookText);
            text.setMaxWidth(212);
            text.setTooltip(tip);
            Runnable style = () -> {
                switch (item.stateProperty().get()) {
                    case PASSED -> {
                        icon.setIconCode(Feather.CHECK_CIRCLE);
                        icon.getStyleClass().setAll("ikonli-font-icon", Styles.SUCCESS);
                    }
                    case FAILED -> {
                        icon.setIconCode(Feather.X_CIRCLE);
                        icon.getStyleClass().setAll("ikonli-font-icon", Styles.DANGER);
                    }
                    case WAITING -> {
                        icon.setIconCode(Feather.CIRCLE);
                        icon.getStyleClass().setAll("ikonli-font-icon", Styles.TEXT_MUTED);
                    }
                }
            };
            item.stateProperty().addListener((o, a, b) -> style.run());
            style.run();
            HBox head = new HBox(8, icon, text);
            head.setAlignment(Pos.TOP_LEFT);
            head.setId("check-" + item.key().name().toLowerCase());
            box = new VBox(2, head, evidence);
            head.addEventHandler(MouseEvent.MOUSE_CLICKED, e -> {
                opened[0] = !opened[0];
                shown.run();
            });
        }
        box.getStyleClass().add("checklist-item");
        box.setMinHeight(Region.USE_PREF_SIZE);
        return box;
    }
}
