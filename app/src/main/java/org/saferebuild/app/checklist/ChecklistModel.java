package org.saferebuild.app.checklist;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import javafx.beans.binding.Bindings;
import javafx.beans.binding.BooleanBinding;
import org.saferebuild.app.checklist.ChecklistItem.Key;
import org.saferebuild.app.checklist.ChecklistItem.State;

/** The runbook's Safety Checklist, filled in as the engine's evidence arrives. */
public final class ChecklistModel {
    private final Map<Key, ChecklistItem> items = new EnumMap<>(Key.class);
    private final BooleanBinding allPassed;

    public ChecklistModel() {
        for (Key k : Key.values()) {
            items.put(k, new ChecklistItem(k));
        }
        allPassed = Bindings.createBooleanBinding(() -> items.values().stream().allMatch(ChecklistItem::passed),
                items.values().stream().map(ChecklistItem::stateProperty).toArray(javafx.beans.Observable[]::new));
    }

    public List<ChecklistItem> items() {
        return List.copyOf(items.values());
    }

    public ChecklistItem item(Key k) {
        return items.get(k);
    }

    public BooleanBinding allPassedProperty() {
        return allPassed;
    }

    /** The items that are not green yet, for the sign-off screen's "what is missing". */
    public List<ChecklistItem> open() {
        return items.values().stream().filter(i -> !i.passed()).toList();
    }

    // Commands

    /** Evidence arrived: the item passes only when {@code ok}, and the sentence says what was seen. */
    public void record(Key k, boolean ok, String evidence) {
        items.get(k).set(ok ? State.PASSED : State.FAILED, evidence);
    }

    /** The operator ticked (or unticked) a manual item. */
    public void tick(Key k, boolean ticked, String who) {
        if (!k.manual) {
            throw new IllegalArgumentException(k + " is filled in from evidence, not by a tick");
        }
        if (ticked) {
            items.get(k).set(State.PASSED, "Ticked by " + who + ".");
        } else {
            items.get(k).clear();
        }
    }

    /** Evidence no longer holds (the configuration changed): back to waiting. */
    public void clear(Key... keys) {
        for (Key k : keys) {
            items.get(k).clear();
        }
    }
}
