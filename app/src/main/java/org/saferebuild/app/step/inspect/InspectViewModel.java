package org.saferebuild.app.step.inspect;

import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import org.saferebuild.app.AppContext;
import org.saferebuild.app.checklist.ChecklistItem.Key;
import org.saferebuild.app.client.Problems;
import org.saferebuild.app.wizard.StepModel;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.InspectRequest;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.SystemRef;

/**
 * Inspect (runbook step 4, done properly): what the built system contains — units, watched
 * services, configuration hits — and what switching to it would change against the running one.
 */
public final class InspectViewModel extends StepModel {
    private final AppContext ctx;
    private final ReadOnlyObjectWrapper<InspectResult.Inspection> inspection = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<InspectResult.Comparison> comparison = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Event.Failure> failure = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper("");
    private String inspectedPath;

    public InspectViewModel(AppContext ctx) {
        super("Inspect", "Step 4: Inspect what was built");
        this.ctx = ctx;
        ctx.session().builtProperty().addListener((o, a, b) -> forget());
        // The running system changed before this run applied anything (a rollback): the comparison
        // was against a system that no longer runs, so it is made again.
        ctx.session().comparisonProperty().addListener((o, a, b) -> {
            if (b == null && comparison.get() != null && ctx.session().builtProperty().get() != null) {
                comparison.set(null);
                inspectedPath = null;
                complete.set(false);
                status.set("The running system changed since the comparison: it is made again on this screen.");
            }
        });
    }

    public ReadOnlyObjectProperty<InspectResult.Inspection> inspectionProperty() {
        return inspection.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<InspectResult.Comparison> comparisonProperty() {
        return comparison.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Event.Failure> failureProperty() {
        return failure.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }

    @Override
    public void entered() {
        var b = ctx.session().builtProperty().get();
        if (b != null && !b.storePath().equals(inspectedPath) && !busy.get()) {
            inspect();
        }
    }

    // Commands

    /** Inspects the built system, then compares it with the running one. */
    public void inspect() {
        var b = ctx.session().builtProperty().get();
        if (b == null) {
            return;
        }
        inspectedPath = b.storePath();
        busy.set(true);
        failure.set(null);
        status.set("Reading the built system's units and configuration…");
        SystemRef built = SystemRef.path(b.storePath());
        ctx.client().run(id -> new InspectRequest.Inspect(id, built), InspectResult.Inspection.class).result()
                .thenCompose(i -> {
                    ctx.ui().execute(() -> {
                        if (!b.storePath().equals(inspectedPath)) {
                            return;
                        }
                        inspection.set(i);
                        recordServices(i);
                        status.set("Comparing with the running system…");
                    });
                    return ctx.client().run(id -> new InspectRequest.Compare(id, SystemRef.current(), built),
                            InspectResult.Comparison.class).result();
                })
                .whenComplete((c, err) -> ctx.ui().execute(() -> {
                    busy.set(false);
                    if (!b.storePath().equals(inspectedPath)) {
                        return; // another build (or none) since: this answer is about the old one
                    }
                    if (err != null) {
                        failure.set(Problems.of(err));
                        status.set("The inspection could not finish.");
                        return;
                    }
                    comparison.set(c);
                    ctx.session().compared(c);
                    status.set("Compared " + c.from().label() + " with the " + c.to().label() + " in " + c.millis()
                            + " ms.");
                    complete.set(true);
                }));
    }

    private void forget() {
        inspection.set(null);
        comparison.set(null);
        failure.set(null);
        inspectedPath = null;
        status.set("");
        complete.set(false);
        ctx.checklist().clear(Key.SERVICES);
    }

    private void recordServices(InspectResult.Inspection i) {
        boolean all = !i.watched().isEmpty() && i.watched().stream().allMatch(InspectResult.WatchedService::present);
        StringBuilder sb = new StringBuilder();
        for (InspectResult.WatchedService w : i.watched()) {
            if (sb.length() > 0) {
                sb.append("; ");
            }
            if (!w.present()) {
                sb.append(w.glob()).append(" MISSING");
            } else if (w.units().equals(java.util.List.of(w.glob()))) {
                sb.append(w.glob()).append(" found");
            } else {
                sb.append(w.glob()).append(" → ").append(String.join(", ", w.units()));
            }
        }
        ctx.checklist().record(Key.SERVICES, all, "In the built system: " + sb + ".");
    }
}
