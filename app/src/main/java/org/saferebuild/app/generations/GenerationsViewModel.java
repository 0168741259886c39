package org.saferebuild.app.generations;

import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import org.saferebuild.app.AppContext;
import org.saferebuild.app.client.Problems;
import org.saferebuild.app.step.signoff.SignoffViewModel;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.InspectRequest;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.SystemRef;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * Generations and the runbook's "Emergency Rollback", reachable from every screen: the list from
 * the system profile, a rollback that first shows what it would change and then names the
 * generation it switches to, and pinning so a garbage collection cannot take a target away.
 */
public final class GenerationsViewModel {
    private final AppContext ctx;
    private final ObservableList<SystemResult.Generation> generations = FXCollections.observableArrayList();
    private final ReadOnlyObjectWrapper<SystemResult.GenerationList> list = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<SystemResult.Generation> selected = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<SystemResult.Generation> proposed = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<InspectResult.Comparison> preview = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Event.Failure> failure = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper("");
    private final ReadOnlyBooleanWrapper busy = new ReadOnlyBooleanWrapper();

    public GenerationsViewModel(AppContext ctx) {
        this.ctx = ctx;
    }

    public ObservableList<SystemResult.Generation> generations() {
        return generations;
    }

    public ReadOnlyObjectProperty<SystemResult.GenerationList> listProperty() {
        return list.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<SystemResult.Generation> selectedProperty() {
        return selected.getReadOnlyProperty();
    }

    /** The generation the operator asked to roll back to: its comparison is shown before confirming. */
    public ReadOnlyObjectProperty<SystemResult.Generation> proposedProperty() {
        return proposed.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<InspectResult.Comparison> previewProperty() {
        return preview.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Event.Failure> failureProperty() {
        return failure.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty busyProperty() {
        return busy.getReadOnlyProperty();
    }

    // Commands

    public void refresh() {
        busy.set(true);
        ctx.client().run(SystemRequest.Generations::new, SystemResult.GenerationList.class).result()
                .whenComplete((g, err) -> ctx.ui().execute(() -> {
                    busy.set(false);
                    if (err != null) {
                        failure.set(Problems.of(err));
                        return;
                    }
                    Integer keep = selected.get() == null ? null : selected.get().number();
                    list.set(g);
                    java.util.List<SystemResult.Generation> newestFirst = new java.util.ArrayList<>(g.generations());
                    java.util.Collections.reverse(newestFirst);
                    generations.setAll(newestFirst);
                    selected.set(keep == null ? null : generations.stream().filter(x -> x.number() == keep)
                            .findFirst().orElse(null));
                    SignoffViewModel.recordRollbackTarget(ctx, g);
                }));
    }

    public void select(SystemResult.Generation g) {
        selected.set(g);
        if (proposed.get() != null && (g == null || g.number() != proposed.get().number())) {
            proposed.set(null);
            preview.set(null);
        }
    }

    /**
     * "Roll back to generation N": first the comparison from the running system to N, so the
     * operator sees what it changes; {@link #confirmRollback} does it.
     */
    public void proposeRollback() {
        SystemResult.Generation g = selected.get();
        if (g == null || busy.get()) {
            return;
        }
        proposed.set(g);
        preview.set(null);
        failure.set(null);
        busy.set(true);
        status.set("Comparing the running system with generation " + g.number() + "…");
        ctx.client().run(id -> new InspectRequest.Compare(id, SystemRef.current(), SystemRef.generation(g.number())),
                        InspectResult.Comparison.class).result()
                .whenComplete((c, err) -> ctx.ui().execute(() -> {
                    busy.set(false);
                    if (err != null) {
                        // The comparison is information; the rollback itself may still be possible.
                        status.set("The comparison could not be made: " + Problems.of(err).message());
                        return;
                    }
                    preview.set(c);
                    status.set("Generation " + g.number() + " differs from the running system as shown. "
                            + "Confirm below.");
                }));
    }

    public void cancelRollback() {
        proposed.set(null);
        preview.set(null);
        status.set("");
    }

    /** Rolls back to the proposed generation now ({@code boot}: at the next boot). */
    public void confirmRollback(boolean boot) {
        SystemResult.Generation g = proposed.get();
        if (g == null || busy.get()) {
            return;
        }
        busy.set(true);
        failure.set(null);
        status.set((boot ? "Making generation " : "Switching to generation ") + g.number() + "…");
        ctx.client().run(id -> new SystemRequest.Rollback(id, g.number(),
                        boot ? SystemRequest.RollbackMode.BOOT : SystemRequest.RollbackMode.SWITCH),
                        SystemResult.RolledBack.class).result()
                .whenComplete((r, err) -> ctx.ui().execute(() -> {
                    busy.set(false);
                    proposed.set(null);
                    preview.set(null);
                    if (err != null) {
                        failure.set(Problems.of(err));
                        status.set("The rollback to generation " + g.number() + " was refused; nothing changed.");
                    } else {
                        status.set(r.message());
                        ctx.session().systemChangedElsewhere((boot ? "Made generation " + g.number()
                                + " the boot default from Generations: " : "Rolled back to generation " + g.number()
                                + " from Generations: ") + r.message());
                    }
                    refresh();
                }));
    }

    public void pin(boolean pin) {
        SystemResult.Generation g = selected.get();
        if (g == null || busy.get()) {
            return;
        }
        busy.set(true);
        failure.set(null);
        ctx.client().run(id -> pin ? new SystemRequest.Pin(id, g.number()) : new SystemRequest.Unpin(id, g.number()),
                        SystemResult.Pinned.class).result()
                .whenComplete((p, err) -> ctx.ui().execute(() -> {
                    busy.set(false);
                    if (err != null) {
                        failure.set(Problems.of(err));
                        return;
                    }
                    status.set(p.message());
                    refresh();
                }));
    }
}
