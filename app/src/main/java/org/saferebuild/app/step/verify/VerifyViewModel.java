package org.saferebuild.app.step.verify;

import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import org.saferebuild.app.AppContext;
import org.saferebuild.app.client.Problems;
import org.saferebuild.app.wizard.StepModel;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * Verify (runbook step 7): service states against the baseline, new failures, log tails, journal
 * matches — and the checks that could not run here, said plainly, never counted as passes.
 */
public final class VerifyViewModel extends StepModel {
    private final AppContext ctx;
    private final ReadOnlyObjectWrapper<SystemResult.VerifyReport> report = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Event.Failure> failure = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<java.time.Instant> verifiedAt = new ReadOnlyObjectWrapper<>();

    public VerifyViewModel(AppContext ctx) {
        super("Verify", "Step 7: Verify Activation");
        this.ctx = ctx;
        ctx.session().runProperty().addListener((o, a, b) -> {
            report.set(null);
            failure.set(null);
            complete.set(false);
        });
        // The live system changed (an apply ended, a rollback): a report on screen is about a system
        // that no longer runs, so it is made again; one not yet made waits for the operator.
        ctx.session().systemChangesProperty().addListener((o, a, b) -> {
            boolean shown = report.get() != null;
            report.set(null);
            complete.set(false);
            if (shown && !busy.get()) {
                verify();
            }
        });
    }

    public ReadOnlyObjectProperty<SystemResult.VerifyReport> reportProperty() {
        return report.getReadOnlyProperty();
    }

    /** When the report on screen was made. */
    public ReadOnlyObjectProperty<java.time.Instant> verifiedAtProperty() {
        return verifiedAt.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Event.Failure> failureProperty() {
        return failure.getReadOnlyProperty();
    }

    @Override
    public void entered() {
        if (report.get() == null && !busy.get()) {
            verify();
        }
    }

    // Commands

    public void verify() {
        busy.set(true);
        failure.set(null);
        ctx.client().run(SystemRequest.Verify::new, SystemResult.VerifyReport.class).result()
                .whenComplete((r, err) -> ctx.ui().execute(() -> {
                    busy.set(false);
                    if (err != null) {
                        failure.set(Problems.of(err));
                        return;
                    }
                    verifiedAt.set(java.time.Instant.now());
                    report.set(r);
                    complete.set(true);
                }));
    }
}
