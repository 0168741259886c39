package org.saferebuild.app.testing;

import java.util.ArrayList;
import java.util.List;
import javafx.scene.Node;
import javafx.scene.Parent;
import javafx.scene.Scene;
import javafx.scene.control.Labeled;
import javafx.scene.control.TextInputControl;
import javafx.scene.text.Text;
import org.saferebuild.app.log.LogTail;
import org.saferebuild.app.ui.Callout;
import org.saferebuild.app.ui.Keys;

/**
 * Everything the operator can read in a window right now: labels, buttons, fields, table and tree
 * cells in view, the log lines drawn, and the full text behind shortened callouts. Hidden nodes
 * (another tab, a collapsed disclosure) are not read. Call on the FX thread.
 */
public final class ScreenText {
    private ScreenText() {
    }

    public static List<String> of(Scene scene) {
        List<String> out = new ArrayList<>();
        walk(scene.getRoot(), out);
        return out;
    }

    private static void walk(Node n, List<String> out) {
        if (!n.isVisible()) {
            return;
        }
        if (n instanceof Labeled l && l.getText() != null && !l.getText().isBlank()) {
            out.add(l.getText());
        } else if (n instanceof TextInputControl t && t.getText() != null && !t.getText().isBlank()) {
            out.add(t.getText());
        } else if (n instanceof Text t && !(n.getParent() instanceof Labeled) && t.getText() != null) {
            out.add(t.getText());
        }
        if (n instanceof LogTail tail && Keys.shown(tail)) {
            out.addAll(tail.visibleLines());
        }
        if (n instanceof Callout c) {
            out.add(c.getDescription());
        }
        if (n instanceof Parent p) {
            for (Node c : p.getChildrenUnmodifiable()) {
                walk(c, out);
            }
        }
    }

    /** The lines that contain any of the markers. */
    public static List<String> containing(Scene scene, List<String> markers) {
        return of(scene).stream().filter(t -> markers.stream().anyMatch(t::contains)).toList();
    }
}
