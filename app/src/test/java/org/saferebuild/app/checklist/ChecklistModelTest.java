package org.saferebuild.app.checklist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.saferebuild.app.checklist.ChecklistItem.Key;
import org.saferebuild.app.checklist.ChecklistItem.State;

class ChecklistModelTest {
    private final ChecklistModel model = new ChecklistModel();

    @Test
    void hasTheRunbooksEightItemsInOrder() {
        assertThat(model.items()).extracting(i -> i.key().runbookText).containsExactly(
                "Configuration builds successfully in isolated environment",
                "All expected services are defined in result closure",
                "No obvious errors in build output",
                "Disk space sufficient",
                "Backup of current configuration exists",
                "Know how to rollback",
                "Observer has captured pre-change baseline",
                "Off-hours or maintenance window if possible");
    }

    @Test
    void allPassOnlyWhenEveryItemHasEvidenceOrTheTick() {
        for (Key k : Key.values()) {
            if (!k.manual) {
                model.record(k, true, "seen");
            }
        }
        assertThat(model.allPassedProperty().get()).isFalse();
        model.tick(Key.WINDOW, true, "bear");
        assertThat(model.allPassedProperty().get()).isTrue();
        assertThat(model.item(Key.WINDOW).evidenceProperty().get()).isEqualTo("Ticked by bear.");
        model.record(Key.DISK, false, "1 GiB free, needs 5 GiB");
        assertThat(model.allPassedProperty().get()).isFalse();
        assertThat(model.item(Key.DISK).stateProperty().get()).isEqualTo(State.FAILED);
        assertThat(model.open()).extracting(ChecklistItem::key).containsExactly(Key.DISK);
    }

    @Test
    void automaticItemsCannotBeTicked() {
        assertThatThrownBy(() -> model.tick(Key.BUILDS, true, "bear")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void clearingPutsItemsBackToWaiting() {
        model.record(Key.BUILDS, true, "built /nix/store/…");
        model.clear(Key.BUILDS);
        assertThat(model.item(Key.BUILDS).stateProperty().get()).isEqualTo(State.WAITING);
        assertThat(model.item(Key.BUILDS).evidenceProperty().get()).isEqualTo("Waiting for the build.");
    }
}
