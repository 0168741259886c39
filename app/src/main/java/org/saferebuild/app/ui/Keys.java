package org.saferebuild.app.ui;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javafx.collections.ObservableList;
import javafx.scene.Node;
import javafx.scene.Scene;
import javafx.scene.control.ButtonBase;
import javafx.scene.control.Label;
import javafx.scene.input.KeyCode;
import javafx.scene.input.KeyCombination;
import javafx.scene.input.KeyEvent;
import javafx.scene.input.Mnemonic;

/**
 * The keyboard as a GNOME operator expects it, for a whole scene:
 * <ul>
 * <li>Alt+letter (the underlined letter) does what a click would: a button is pressed, a radio
 * button chosen, a check box ticked, a field behind a label focused. JavaFX's own mnemonics only
 * send an action event, which presses a button but neither chooses a radio button nor ticks a
 * check box, and do nothing when two nodes share the letter; here only shown, enabled nodes
 * count.</li>
 * <li>Enter on a focused button presses it (JavaFX presses the default button instead).</li>
 * </ul>
 */
public final class Keys {
    private Keys() {
    }

    public static void install(Scene scene) {
        // JavaFX handles mnemonics in the scene's own dispatcher, before any filter sees the key:
        // ours goes in front of it.
        javafx.event.EventDispatcher original = scene.getEventDispatcher();
        java.util.Set<KeyCode> held = new java.util.HashSet<>();
        scene.setEventDispatcher((event, tail) -> {
            if (event instanceof KeyEvent e && e.getEventType() == KeyEvent.KEY_RELEASED) {
                held.remove(e.getCode());
            }
            if (event instanceof KeyEvent e && e.getEventType() == KeyEvent.KEY_PRESSED && e.isAltDown()
                    && !e.isControlDown() && !e.isShortcutDown() && !e.isMetaDown()) {
                List<Node> targets = targets(scene, e);
                if (!targets.isEmpty()) {
                    // A held key repeats its press: one press is one action (Alt+N held on a slow
                    // screen must not walk through the wizard).
                    if (held.add(e.getCode())) {
                        activate(targets.get(0));
                    }
                    return null; // consumed
                }
            }
            return original.dispatchEvent(event, tail);
        });
        scene.addEventFilter(KeyEvent.KEY_PRESSED, e -> {
            if (e.getCode() == KeyCode.ENTER && !e.isAltDown() && !e.isControlDown() && !e.isShiftDown()
                    && scene.getFocusOwner() instanceof ButtonBase b && !b.isDisabled() && b.isVisible()) {
                b.fire();
                e.consume();
            }
        });
    }

    /** The shown, enabled nodes whose mnemonic is this key press, in the order they registered. */
    public static List<Node> targets(Scene scene, KeyEvent e) {
        List<Node> out = new ArrayList<>();
        for (Map.Entry<KeyCombination, ObservableList<Mnemonic>> m : scene.getMnemonics().entrySet()) {
            if (!m.getKey().match(e) && !letter(m.getKey()).equalsIgnoreCase(e.getCode().getChar())) {
                continue;
            }
            for (Mnemonic mn : m.getValue()) {
                Node n = mn.getNode();
                if (shown(n) && !n.isDisabled()) {
                    out.add(n);
                }
            }
        }
        return out;
    }

    /**
     * The letter of a mnemonic's key combination ("Alt+'T'" → "T"): JavaFX matches mnemonics by the
     * typed character, which an X server may not send with Alt held; the key code is always there.
     */
    public static String letter(KeyCombination k) {
        String name = k.getName();
        int plus = name.lastIndexOf('+');
        return (plus >= 0 ? name.substring(plus + 1) : name).replace("'", "");
    }

    /** Whether the node and every parent are visible and it is in a scene. */
    public static boolean shown(Node n) {
        if (n.getScene() == null) {
            return false;
        }
        for (Node p = n; p != null; p = p.getParent()) {
            if (!p.isVisible()) {
                return false;
            }
        }
        return true;
    }

    /** What a click on the node would do. */
    public static void activate(Node n) {
        if (n instanceof ButtonBase b) {
            b.requestFocus();
            b.fire();
        } else if (n instanceof Label l && l.getLabelFor() != null) {
            l.getLabelFor().requestFocus();
        } else {
            n.requestFocus();
        }
    }
}
