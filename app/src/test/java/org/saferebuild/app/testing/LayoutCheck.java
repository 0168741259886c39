package org.saferebuild.app.testing;

import java.util.ArrayList;
import java.util.List;
import javafx.geometry.Bounds;
import javafx.scene.Node;
import javafx.scene.Parent;
import javafx.scene.Scene;
import javafx.scene.control.ButtonBase;
import javafx.scene.control.Control;
import javafx.scene.control.IndexedCell;
import javafx.scene.control.Label;
import javafx.scene.control.Labeled;
import javafx.scene.control.ScrollPane;
import javafx.scene.text.Text;
import org.saferebuild.app.ui.Keys;

/**
 * What an operator would call a layout that does not fit: a control they cannot reach because it
 * lies outside the window (or, inside the screen's scroll area, beyond its sides: that area only
 * scrolls up and down), and a button, tab or column title cut short with "…". Rows of lists and
 * tables are data and may scroll; a control inside the scroll area may be below the fold.
 */
public final class LayoutCheck {
    private LayoutCheck() {
    }

    /** Every problem found, in words; empty when the screen fits. */
    public static List<String> problems(Scene scene) {
        List<String> out = new ArrayList<>();
        double w = scene.getWidth();
        double h = scene.getHeight();
        walk(scene.getRoot(), n -> {
            if (!(n instanceof Control c) || !Keys.shown(n) || insideCell(n) || n.getScene() == null) {
                return;
            }
            // Layout bounds: a focus ring's glow may reach past the edge; the control itself may not.
            Bounds b = n.localToScene(n.getLayoutBounds());
            if (b.getWidth() <= 0 || b.getHeight() <= 0) {
                return;
            }
            ScrollPane sp = scrollParent(n);
            if (sp == null) {
                if (b.getMinX() < -1 || b.getMinY() < -1 || b.getMaxX() > w + 1 || b.getMaxY() > h + 1) {
                    out.add(describe(c) + " lies outside the " + (int) w + "×" + (int) h + " window at " + fmt(b));
                }
            } else {
                Bounds v = sp.localToScene(sp.getLayoutBounds());
                if (b.getMinX() < v.getMinX() - 1 || b.getMaxX() > v.getMaxX() + 1) {
                    out.add(describe(c) + " sticks out of the side of its scroll area (" + fmt(v) + ") at " + fmt(b));
                }
            }
            if (n instanceof Labeled l && truncationMatters(l) && truncated(l)) {
                out.add(describe(c) + " is cut short: \"" + shownText(l) + "\"");
            }
        });
        return out;
    }

    /** Buttons of every kind, tab titles and column titles must read in full; other labels may wrap or cut data. */
    private static boolean truncationMatters(Labeled l) {
        if (l instanceof ButtonBase) {
            return true;
        }
        if (l instanceof Label label) {
            if (label.getLabelFor() != null || label.getStyleClass().contains("keys")) {
                return true;
            }
            for (Parent p = label.getParent(); p != null; p = p.getParent()) {
                String cls = p.getClass().getName();
                if (cls.endsWith("TabHeaderSkin") || cls.endsWith("TableColumnHeader")
                        || p.getStyleClass().contains("tab") || p.getStyleClass().contains("column-header")) {
                    return true;
                }
            }
        }
        return false;
    }

    static boolean truncated(Labeled l) {
        String full = l.getText();
        if (full == null || full.isEmpty()) {
            return false;
        }
        String shown = shownText(l);
        if (shown == null) {
            return false;
        }
        String wanted = l.isMnemonicParsing() ? full.replace("_", "") : full;
        return !shown.equals(wanted) && (shown.endsWith("…") || shown.endsWith("...") || shown.contains("…"));
    }

    private static String shownText(Labeled l) {
        for (Node c : l.getChildrenUnmodifiable()) {
            if (c instanceof Text t && c.getClass().getSimpleName().equals("LabeledText")) {
                return t.getText();
            }
        }
        return null;
    }

    private static boolean insideCell(Node n) {
        for (Node p = n; p != null; p = p.getParent()) {
            if (p instanceof IndexedCell<?>) {
                return true;
            }
        }
        return false;
    }

    private static ScrollPane scrollParent(Node n) {
        for (Node p = n.getParent(); p != null; p = p.getParent()) {
            if (p instanceof ScrollPane sp) {
                return sp;
            }
        }
        return null;
    }

    private static void walk(Node n, java.util.function.Consumer<Node> visit) {
        visit.accept(n);
        if (n instanceof Parent p) {
            for (Node c : p.getChildrenUnmodifiable()) {
                walk(c, visit);
            }
        }
    }

    private static String describe(Control c) {
        String text = c instanceof Labeled l && l.getText() != null ? " \"" + l.getText().replace("_", "") + "\"" : "";
        return c.getClass().getSimpleName() + (c.getId() == null ? "" : "#" + c.getId()) + text;
    }

    private static String fmt(Bounds b) {
        return String.format("(%.0f,%.0f)–(%.0f,%.0f)", b.getMinX(), b.getMinY(), b.getMaxX(), b.getMaxY());
    }
}
