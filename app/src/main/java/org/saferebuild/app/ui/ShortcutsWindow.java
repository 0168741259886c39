package org.saferebuild.app.ui;

import atlantafx.base.theme.Styles;
import java.util.Objects;
import javafx.geometry.Insets;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.ScrollPane;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.VBox;
import javafx.stage.Stage;
import javafx.stage.Window;

/** F1 (or Ctrl+?): every shortcut, by screen, from {@link Shortcuts#ALL}. */
public final class ShortcutsWindow {
    private ShortcutsWindow() {
    }

    public static Stage show(Window owner) {
        GridPane grid = new GridPane();
        grid.setHgap(18);
        grid.setVgap(4);
        int row = 0;
        for (String where : Shortcuts.places()) {
            Label head = new Label(where);
            head.getStyleClass().addAll(Styles.TEXT_BOLD);
            head.setPadding(new Insets(row == 0 ? 0 : 10, 0, 2, 0));
            grid.add(head, 0, row++, 2, 1);
            for (Shortcuts s : Shortcuts.ALL) {
                if (s.where().equals(where)) {
                    Label keys = new Label(s.keys());
                    keys.getStyleClass().add("keys");
                    keys.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
                    grid.add(keys, 0, row);
                    grid.add(Ui.wrap(s.action()), 1, row++);
                }
            }
        }
        Button close = new Button("Close");
        close.setId("shortcuts-close");
        close.setDefaultButton(true);
        close.setCancelButton(true);
        Label title = new Label("Keyboard shortcuts");
        title.getStyleClass().add(Styles.TITLE_3);
        Label hint = Ui.muted("Underlined letters are the Alt shortcuts of what is on the screen.");
        ScrollPane sp = new ScrollPane(grid);
        sp.setFitToWidth(true);
        sp.getStyleClass().add(Styles.FLAT);
        VBox box = new VBox(10, title, hint, sp, close);
        VBox.setVgrow(sp, javafx.scene.layout.Priority.ALWAYS);
        box.setPadding(new Insets(16));
        box.setId("shortcuts-window");
        Stage stage = new Stage();
        stage.initOwner(owner);
        stage.setTitle("Keyboard shortcuts — Safe Rebuild");
        Scene scene = new Scene(box, 620, 640);
        scene.getStylesheets().add(Objects.requireNonNull(ShortcutsWindow.class.getResource(
                "/org/saferebuild/app/app.css")).toExternalForm());
        stage.setScene(scene);
        close.setOnAction(e -> stage.close());
        stage.show();
        return stage;
    }
}
