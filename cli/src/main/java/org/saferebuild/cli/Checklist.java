package org.saferebuild.cli;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.saferebuild.protocol.SystemRequest;

/**
 * The runbook's "Safety Checklist", as the wizard's checklist has it (same eight items, same
 * words, same order): seven are filled in from what the engine reported, the maintenance window
 * needs the operator (a question on the terminal, or --maintenance-window). The sign-off sends
 * every item with its evidence to the engine, which writes it into the audit trail of the machine
 * being changed, exactly as the wizard's sign-off does ({@code signoff}).
 */
final class Checklist {
    enum Item {
        BUILDS("Configuration builds successfully in isolated environment"),
        SERVICES("All expected services are defined in result closure"),
        LOG_CLEAN("No obvious errors in build output"),
        DISK("Disk space sufficient"),
        BACKUP("Backup of current configuration exists"),
        ROLLBACK("Know how to rollback"),
        BASELINE("Observer has captured pre-change baseline"),
        WINDOW("Off-hours or maintenance window if possible");

        final String runbookText;

        Item(String runbookText) {
            this.runbookText = runbookText;
        }
    }

    private record Entry(boolean passed, String evidence) {
    }

    private final Map<Item, Entry> entries = new EnumMap<>(Item.class);

    Checklist record(Item item, boolean passed, String evidence) {
        entries.put(item, new Entry(passed, evidence));
        return this;
    }

    /** Items not filled in or not passed, in the runbook's order. */
    List<Item> open() {
        List<Item> out = new ArrayList<>();
        for (Item i : Item.values()) {
            Entry e = entries.get(i);
            if (e == null || !e.passed()) {
                out.add(i);
            }
        }
        return out;
    }

    String evidence(Item i) {
        Entry e = entries.get(i);
        return e == null ? "not checked" : e.evidence();
    }

    boolean passed(Item i) {
        Entry e = entries.get(i);
        return e != null && e.passed();
    }

    /** The answers the engine records, one per item. */
    List<SystemRequest.Answer> answers() {
        List<SystemRequest.Answer> out = new ArrayList<>();
        for (Item i : Item.values()) {
            out.add(new SystemRequest.Answer(i.runbookText, passed(i), evidence(i)));
        }
        return out;
    }

    /** The checklist as the terminal shows it: [x] or [ ] and the evidence. */
    List<String> lines() {
        List<String> out = new ArrayList<>();
        for (Item i : Item.values()) {
            out.add("  [" + (passed(i) ? "x" : " ") + "] " + i.runbookText + " — " + evidence(i));
        }
        return out;
    }
}
