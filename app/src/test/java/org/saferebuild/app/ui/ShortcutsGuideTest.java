package org.saferebuild.app.ui;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The operator guide lists every shortcut once, as the shortcuts window does (issue 12, item 5),
 * and gives no key two meanings on one screen.
 */
class ShortcutsGuideTest {

    @Test
    void theGuidesTableIsTheShortcutsWindowsTable() throws Exception {
        String guide = Files.readString(Path.of("..", "docs", "operator-guide.md"));
        for (Shortcuts s : Shortcuts.ALL) {
            assertThat(guide).as("the guide lists %s", s).contains("| " + s.where() + " | " + s.keys() + " | "
                    + s.action() + " |");
        }
        long rows = guide.lines().filter(l -> l.startsWith("| ") && Shortcuts.places().stream()
                .anyMatch(p -> l.startsWith("| " + p + " | "))).count();
        assertThat(rows).as("no row the app does not have").isEqualTo(Shortcuts.ALL.size());
    }

    @Test
    void noKeyMeansTwoThingsOnOneScreen() {
        Set<String> seen = new HashSet<>();
        for (Shortcuts s : Shortcuts.ALL) {
            assertThat(seen.add(s.where() + "/" + s.keys())).as("%s is listed once", s).isTrue();
        }
        List<String> global = Shortcuts.ALL.stream().filter(s -> s.where().equals(Shortcuts.EVERYWHERE))
                .map(Shortcuts::keys).toList();
        assertThat(Shortcuts.ALL).filteredOn(s -> !s.where().equals(Shortcuts.EVERYWHERE))
                .noneMatch(s -> global.contains(s.keys()));
    }
}
