package org.saferebuild.app.ui;

import atlantafx.base.theme.Styles;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javafx.beans.value.ObservableValue;
import javafx.geometry.Insets;
import javafx.scene.Node;
import javafx.scene.control.ContextMenu;
import javafx.scene.control.Label;
import javafx.scene.control.MenuItem;
import javafx.scene.control.Tooltip;
import javafx.scene.input.Clipboard;
import javafx.scene.input.ClipboardContent;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import javafx.util.Duration;
import org.kordamp.ikonli.Ikon;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.protocol.Event;

/** Small builders shared by the screens, so every screen looks and reads the same. */
public final class Ui {
    private static final Pattern STORE_PATH = Pattern.compile("/nix/store/[0-9a-z]{32}-([^\\s'\"`,;:()\\[\\]]+)");

    private Ui() {
    }

    /**
     * The screen's heading: where it is in the runbook, the title, and one sentence of context.
     * {@code details} (may be null) is behind a "More about this step" disclosure.
     */
    public static VBox header(String title, String runbook, String sentence, String details) {
        Label t = new Label(title);
        t.getStyleClass().add(Styles.TITLE_3);
        t.setMinHeight(Region.USE_PREF_SIZE);
        Label r = new Label(runbook);
        r.getStyleClass().addAll(Styles.TEXT_SMALL, Styles.TEXT_MUTED);
        Label e = wrap(sentence);
        e.setId("step-sentence");
        VBox box = new VBox(2, r, t, e);
        if (details != null) {
            box.getChildren().add(new Disclosure("More about this step", muted(details)));
        }
        box.setPadding(new Insets(0, 0, 6, 0));
        box.setMinHeight(Region.USE_PREF_SIZE);
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
        l.getStyleClass().add(Styles.TEXT_BOLD);
        l.setPadding(new Insets(6, 0, 2, 0));
        l.setMinHeight(Region.USE_PREF_SIZE);
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
     * The engine's failure as the operator reads it: what happened and what to do; the runbook's
     * "Common Issues" advice ({@code extra}, may be null) behind a disclosure.
     */
    public static Callout failure(String title, Event.Failure f, String extra) {
        // The first line says what happened; lines quoted from a log and where the log is go behind a
        // disclosure, so the box reads as two sentences: what happened, what to do.
        String message = f.message();
        String details = null;
        String detailsTitle = "Details";
        int nl = message.indexOf('\n');
        if (nl > 0) {
            details = message.substring(nl + 1);
            message = message.substring(0, nl).strip();
            for (String lead : new String[] {"Its last lines:", "Its last lines", "Last lines:"}) {
                if (message.endsWith(lead)) {
                    message = message.substring(0, message.length() - lead.length()).strip();
                    detailsTitle = "The last lines of its log";
                }
            }
        }
        Callout m = new Callout(title, message + "\n\nWhat to do: " + f.fix(), new FontIcon(Feather.ALERT_OCTAGON));
        m.setFullDescription(f.message() + "\n\nWhat to do: " + f.fix());
        if (details != null) {
            m.setDetails(detailsTitle, details);
        }
        if (extra != null) {
            m.setDetails("From the runbook", extra);
        }
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
        box.setMinHeight(Region.USE_PREF_SIZE);
        Runnable update = () -> {
            T v = value.getValue();
            box.getChildren().setAll(v == null ? new Node[0] : new Node[] {render.apply(v)});
        };
        value.addListener((o, a, b) -> update.run());
        update.run();
        return box;
    }

    /** "firefox-121.0" for "/nix/store/&lt;hash&gt;-firefox-121.0": what the operator recognises. */
    public static String storeName(String path) {
        if (path != null && path.startsWith("/nix/store/") && path.length() > 44) {
            return path.substring(44);
        }
        return path;
    }

    /** The text with every store path shortened to its name (the full text goes in a tooltip). */
    public static String shortenStorePaths(String text) {
        if (text == null) {
            return null;
        }
        Matcher m = STORE_PATH.matcher(text);
        return m.replaceAll(r -> Matcher.quoteReplacement(r.group(1)));
    }

    /**
     * A label for text that may name store paths: shown with the paths shortened to their names,
     * the full text on hover and in "Copy" on its context menu.
     */
    public static Label withStorePaths(String text) {
        Label l = wrap(Times.localizeIn(shortenStorePaths(text)));
        copyable(l, text);
        return l;
    }

    /** Hover shows {@code full}; the context menu copies it. */
    public static void copyable(Label l, String full) {
        if (full == null) {
            return;
        }
        if (!full.equals(l.getText())) {
            Tooltip t = new Tooltip(full);
            t.setWrapText(true);
            t.setMaxWidth(640);
            t.setShowDuration(Duration.seconds(30));
            l.setTooltip(t);
        }
        MenuItem copy = new MenuItem("Copy");
        copy.setOnAction(e -> copyToClipboard(full));
        l.setContextMenu(new ContextMenu(copy));
    }

    public static void copyToClipboard(String text) {
        ClipboardContent c = new ClipboardContent();
        c.putString(text);
        Clipboard.getSystemClipboard().setContent(c);
    }

    /**
     * Keyboard use: when the screen's named action becomes possible, it takes the focus, so Enter
     * runs it (the operator who clicked Next does not have to find it first).
     */
    public static void focusWhenEnabled(javafx.scene.control.Button action) {
        action.disabledProperty().addListener((o, was, disabled) -> {
            if (!disabled && action.getScene() != null && action.isVisible()) {
                javafx.application.Platform.runLater(action::requestFocus);
            }
        });
        action.sceneProperty().addListener((o, a, sc) -> {
            if (sc != null && !action.isDisabled() && action.isVisible()) {
                javafx.application.Platform.runLater(action::requestFocus);
            }
        });
    }

    public static void grow(Node n) {
        VBox.setVgrow(n, Priority.ALWAYS);
    }

    /** Shows the node only while {@code visible} holds, and takes no room otherwise. */
    public static void showWhen(Node n, ObservableValue<Boolean> visible) {
        n.visibleProperty().bind(visible);
        n.managedProperty().bind(n.visibleProperty());
    }
}
