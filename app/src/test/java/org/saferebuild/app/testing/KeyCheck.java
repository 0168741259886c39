package org.saferebuild.app.testing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javafx.collections.ObservableList;
import javafx.scene.Node;
import javafx.scene.Scene;
import javafx.scene.control.Labeled;
import javafx.scene.input.KeyCombination;
import javafx.scene.input.Mnemonic;
import org.saferebuild.app.ui.Keys;
import org.saferebuild.app.ui.Shortcuts;

/**
 * The keyboard of a screen as the operator meets it: each Alt+letter shown does one thing, and the
 * shortcuts window (and the guide, which lists the same table) names it for this screen or for
 * everywhere.
 */
public final class KeyCheck {
    private KeyCheck() {
    }

    public static List<String> problems(Scene scene, String place) {
        List<String> out = new ArrayList<>();
        Map<String, List<Node>> byKey = new HashMap<>();
        for (Map.Entry<KeyCombination, ObservableList<Mnemonic>> e : scene.getMnemonics().entrySet()) {
            for (Mnemonic m : e.getValue()) {
                if (Keys.shown(m.getNode())) {
                    byKey.computeIfAbsent(keys(e.getKey()), k -> new ArrayList<>()).add(m.getNode());
                }
            }
        }
        for (Map.Entry<String, List<Node>> e : byKey.entrySet()) {
            if (e.getValue().size() > 1) {
                out.add(e.getKey() + " means " + e.getValue().size() + " things here: " + e.getValue().stream()
                        .map(KeyCheck::name).toList());
            }
            boolean listed = Shortcuts.ALL.stream().anyMatch(s -> s.keys().equals(e.getKey())
                    && (s.where().equals(place) || s.where().equals(Shortcuts.EVERYWHERE)
                    || s.where().equals(Shortcuts.LOG) || s.where().endsWith(" banner")));
            if (!listed) {
                out.add(e.getKey() + " (" + e.getValue().stream().map(KeyCheck::name).toList()
                        + ") is not in the shortcuts list for " + place);
            }
        }
        return out;
    }

    /** "Alt+N" for the mnemonic of N. */
    static String keys(KeyCombination k) {
        return "Alt+" + Keys.letter(k).toUpperCase();
    }

    private static String name(Node n) {
        return n instanceof Labeled l ? l.getText().replace("_", "") : n.getClass().getSimpleName() + "#" + n.getId();
    }
}
