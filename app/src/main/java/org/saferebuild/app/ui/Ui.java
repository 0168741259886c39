package org.saferebuild.app.ui;

import atlantafx.base.theme.Styles;
import javafx.beans.value.ObservableValue;
import javafx.geometry.Insets;
import javafx.scene.Node;
import javafx.scene.control.Label;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.Ikon;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.protocol.Event;

/** Small builders shared by the screens, so every screen looks and reads the same. */
public final class Ui {
    private Ui() {
    }

    /** The screen's heading and a sentence saying what this step of the runbook does. */
    public static VBox header(String title, String runbook, String explanation) {
        Label t = new Label(title);
        t.getStyleClass().add(Styles.TITLE_2);
        Label r = new Label(runbook);
        r.getStyleClass().addAll(Styles.TEXT_SMALL, Styles.TEXT_MUTED);
        Label e = wrap(explanation);
        VBox box = new VBox(2, r, t, e);
        box.setPadding(new Insets(0, 0, 8, 0));
        return box;
    }

    public static Label wrap(String text) {
        Label l = new Label(text);
        l.setWrapText(true);
        l.setMinHeight(Label.USE_PREF_SIZE);
        return l;
    }

    public static Label section(String text) {
        Label l = new Label(text);
        l.getStyleClass().add(Styles.TITLE_4);
        l.setPadding(new Insets(8, 0, 2, 0));
        return l;
    }

    public static Label muted(String text) {
        Label l = wrap(text);
        l.getStyleClass().add(Styles.TEXT_MUTED);
        return l;
    }

    public static FontIcon icon(Ikon ikon, String styleClass) {
        FontIcon i = new FontIcon(ikon);
        if (styleClass != null) {
            i.getStyleClass().add(styleClass);
        }
        return i;
    }

    /**
     * The engine's failure as the operator reads it: what happened, then what to do. {@code extra}
     * adds the runbook's "Common Issues" advice where one applies.
     */
    public static Callout failure(String title, Event.Failure f, String extra) {
        String text = f.message() + "\n\nWhat to do: " + f.fix() + (extra == null ? "" : "\n\n" + extra);
        Callout m = new Callout(title, text, new FontIcon(Feather.ALERT_OCTAGON));
        m.getStyleClass().add(Styles.DANGER);
        m.setId("failure");
        return m;
    }

    public static Callout info(String title, String text, Ikon ikon, String style) {
        Callout m = new Callout(title, text, new FontIcon(ikon));
        if (style != null) {
            m.getStyleClass().add(style);
        }
        return m;
    }

    /** A VBox that shows whatever node the value maps to (null: nothing). */
    public static <T> VBox slot(ObservableValue<T> value, java.util.function.Function<T, Node> render) {
        VBox box = new VBox();
        box.setMinHeight(javafx.scene.layout.Region.USE_PREF_SIZE);
        Runnable update = () -> {
            T v = value.getValue();
            box.getChildren().setAll(v == null ? new Node[0] : new Node[] {render.apply(v)});
        };
        value.addListener((o, a, b) -> update.run());
        update.run();
        return box;
    }

    /** "firefox-121.0" for "/nix/store/<hash>-firefox-121.0": what the operator recognises. */
    public static String storeName(String path) {
        if (path != null && path.startsWith("/nix/store/") && path.length() > 44) {
            return path.substring(44);
        }
        return path;
    }

    /**
     * Keyboard use: when the screen's named action becomes possible, it takes the focus, so Enter
     * runs it (the operator who clicked Next does not have to find it first).
     */
    public static void focusWhenEnabled(javafx.scene.control.Button action) {
        action.disabledProperty().addListener((o, was, disabled) -> {
            if (!disabled && action.getScene() != null) {
                javafx.application.Platform.runLater(action::requestFocus);
            }
        });
        action.sceneProperty().addListener((o, a, sc) -> {
            if (sc != null && !action.isDisabled()) {
                javafx.application.Platform.runLater(action::requestFocus);
            }
        });
    }

    public static void grow(Node n) {
        VBox.setVgrow(n, Priority.ALWAYS);
    }
}
