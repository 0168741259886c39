package org.saferebuild.app.checklist;

import atlantafx.base.theme.Styles;
import javafx.geometry.Insets;
import javafx.scene.control.CheckBox;
import javafx.scene.control.Label;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.ui.Ui;

/**
 * The Safety Checklist beside every screen: each item with its state and the evidence behind it.
 * The manual item is a check box; the others cannot be ticked by hand.
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
        setSpacing(10);
        setPadding(new Insets(14));
        setPrefWidth(300);
        setMinWidth(260);
        Label title = new Label("Safety checklist");
        title.getStyleClass().add(Styles.TITLE_4);
        Label count = new Label();
        count.getStyleClass().add(Styles.TEXT_MUTED);
        Runnable counter = () -> count.setText(model.items().stream().filter(ChecklistItem::passed).count()
                + " of " + model.items().size() + " done");
        model.items().forEach(i -> i.stateProperty().addListener((o, a, b) -> counter.run()));
        counter.run();
        getChildren().addAll(new VBox(0, title, count));
        for (ChecklistItem item : model.items()) {
            getChildren().add(row(item));
        }
    }

    private VBox row(ChecklistItem item) {
        Label evidence = Ui.wrap("");
        evidence.getStyleClass().addAll(Styles.TEXT_SMALL, Styles.TEXT_MUTED);
        evidence.textProperty().bind(item.evidenceProperty());
        evidence.setMaxWidth(250);
        VBox box;
        if (item.key().manual) {
            CheckBox tick = new CheckBox(item.key().runbookText);
            tick.setId("check-" + item.key().name().toLowerCase());
            tick.setWrapText(true);
            tick.setMaxWidth(250);
            tick.setSelected(item.passed());
            tick.selectedProperty().addListener((o, a, b) -> model.tick(item.key(), b, operator));
            item.stateProperty().addListener((o, a, b) -> tick.setSelected(item.passed()));
            box = new VBox(2, tick, evidence);
        } else {
            FontIcon icon = new FontIcon();
            Label text = Ui.wrap(item.key().runbookText);
            text.setMaxWidth(220);
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
            head.setId("check-" + item.key().name().toLowerCase());
            box = new VBox(2, head, evidence);
            VBox.setMargin(evidence, new Insets(0, 0, 0, 24));
        }
        box.getStyleClass().add("checklist-item");
        return box;
    }
}
