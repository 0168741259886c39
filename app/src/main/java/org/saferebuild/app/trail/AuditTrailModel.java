package org.saferebuild.app.trail;

import javafx.beans.binding.Bindings;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.StringProperty;
import javafx.beans.property.SimpleStringProperty;
import org.saferebuild.app.AppContext;
import org.saferebuild.app.client.Problems;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * The audit trail's state as the engine found it (issue 11): when it is broken and nobody has
 * acknowledged the break, the engine refuses every privileged action. The operator looks at the
 * trail, writes down what they found, and acknowledges; the engine records that with their name.
 */
public final class AuditTrailModel {
    private final AppContext ctx;
    private final ReadOnlyObjectWrapper<SystemResult.AuditVerdict> verdict = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<SystemResult.Acknowledged> acknowledged = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Event.Failure> failure = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyBooleanWrapper busy = new ReadOnlyBooleanWrapper();
    private final StringProperty note = new SimpleStringProperty("");

    /** @param atStart the handshake's verdict (null from an engine that does not say) */
    public AuditTrailModel(AppContext ctx, SystemResult.AuditVerdict atStart) {
        this.ctx = ctx;
        verdict.set(atStart);
    }

    public ReadOnlyObjectProperty<SystemResult.AuditVerdict> verdictProperty() {
        return verdict.getReadOnlyProperty();
    }

    /** The recorded acknowledgement, once made (null before). */
    public ReadOnlyObjectProperty<SystemResult.Acknowledged> acknowledgedProperty() {
        return acknowledged.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Event.Failure> failureProperty() {
        return failure.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty busyProperty() {
        return busy.getReadOnlyProperty();
    }

    /** What the operator found; it goes into the trail with the acknowledgement. */
    public StringProperty noteProperty() {
        return note;
    }

    /** Whether privileged actions are refused until someone acknowledges the break. */
    public BooleanBinding needsAcknowledgement() {
        return Bindings.createBooleanBinding(() -> verdict.get() != null && verdict.get().needsAcknowledgement(),
                verdict);
    }

    /** Whether Acknowledge can be pressed: a note is written and nothing is running. */
    public BooleanBinding canAcknowledge() {
        return Bindings.createBooleanBinding(() -> !busy.get() && !note.get().isBlank()
                && note.get().length() <= 2000, busy, note);
    }

    // Commands

    /** Records the acknowledgement with the note; the trail is then checked again. */
    public void acknowledge() {
        String text = note.get().strip();
        busy.set(true);
        failure.set(null);
        ctx.client().run(id -> new SystemRequest.AuditAcknowledge(id, text), SystemResult.Acknowledged.class).result()
                .thenCompose(a -> {
                    ctx.ui().execute(() -> acknowledged.set(a));
                    return ctx.client().run(SystemRequest.AuditVerify::new, SystemResult.AuditVerdict.class).result();
                })
                .whenComplete((v, err) -> ctx.ui().execute(() -> {
                    busy.set(false);
                    if (err != null) {
                        failure.set(Problems.of(err));
                        return;
                    }
                    note.set("");
                    verdict.set(v);
                }));
    }

    /** Asks the engine to walk the trail again (after an action was refused as AUDIT_BROKEN, say). */
    public void refresh() {
        ctx.client().run(SystemRequest.AuditVerify::new, SystemResult.AuditVerdict.class).result()
                .whenComplete((v, err) -> ctx.ui().execute(() -> {
                    if (err == null) {
                        verdict.set(v);
                    }
                }));
    }

    /** Forgets the acknowledgement's confirmation (the operator dismissed it). */
    public void dismiss() {
        acknowledged.set(null);
    }
}
