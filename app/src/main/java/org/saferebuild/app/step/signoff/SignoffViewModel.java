package org.saferebuild.app.step.signoff;

import java.util.List;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import org.saferebuild.app.AppContext;
import org.saferebuild.app.checklist.ChecklistItem.Key;
import org.saferebuild.app.checklist.ChecklistItem;
import org.saferebuild.app.client.Problems;
import org.saferebuild.app.wizard.StepModel;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.Sizes;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * Sign-off, between Inspect and Apply: the engine captures the baseline and backs up the
 * configuration, the generations show the rollback target, and the operator signs the
 * checklist. The engine writes the sign-off into its audit trail with the OS user it saw.
 */
public final class SignoffViewModel extends StepModel {
    private final AppContext ctx;
    private final ReadOnlyStringWrapper operator = new ReadOnlyStringWrapper();
    private final ReadOnlyObjectWrapper<Event.Failure> failure = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper("");
    private final BooleanBinding canSign;

    public SignoffViewModel(AppContext ctx, String operatorName) {
        super("Sign off", "Safety Checklist: before Step 6");
        this.ctx = ctx;
        operator.set(operatorName);
        canSign = ctx.checklist().allPassedProperty().and(busy.not())
                .and(ctx.session().signedOffProperty().isNull()).and(operator.isNotEmpty());
        ctx.session().signedOffProperty().addListener((o, a, b) -> complete.set(b != null));
        // The operator's answer was for that run: a new one asks again.
        ctx.session().runProperty().addListener((o, a, b) -> ctx.checklist().clear(Key.WINDOW));
        ctx.session().baselineProperty().addListener((o, a, b) -> {
            if (b == null) {
                ctx.checklist().clear(Key.BACKUP, Key.BASELINE);
                failure.set(null);
                status.set("");
            }
        });
    }

    public ReadOnlyStringProperty operatorProperty() {
        return operator.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Event.Failure> failureProperty() {
        return failure.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }

    /** Whether every item is green, the operator is named, and nothing is signed yet. */
    public BooleanBinding canSignProperty() {
        return canSign;
    }

    public List<ChecklistItem> openItems() {
        return ctx.checklist().open();
    }

    @Override
    public void entered() {
        if (ctx.session().baselineProperty().get() == null && !busy.get()) {
            gatherEvidence();
        }
    }

    // Commands

    public void nameOperator(String name) {
        operator.set(name == null ? "" : name.strip());
    }

    /** Baseline + configuration backup, then the generations (the rollback target). */
    public void gatherEvidence() {
        var t = ctx.session().target();
        busy.set(true);
        failure.set(null);
        status.set("Capturing the baseline and backing up " + (t == null ? "the configuration" : t.configDir()) + "…");
        ctx.client().run(id -> new SystemRequest.Baseline(id, t == null ? null : t.configDir()),
                        SystemResult.Baseline.class).result()
                .thenCompose(b -> {
                    ctx.ui().execute(() -> recordBaseline(b));
                    return ctx.client().run(SystemRequest.Generations::new, SystemResult.GenerationList.class).result();
                })
                .whenComplete((g, err) -> ctx.ui().execute(() -> {
                    busy.set(false);
                    if (err != null) {
                        failure.set(Problems.of(err));
                        status.set("The evidence could not be gathered.");
                        return;
                    }
                    recordRollbackTarget(ctx, g);
                    status.set("Baseline, backup and rollback target gathered at "
                            + org.saferebuild.app.ui.Times.clock(java.time.Instant.now()) + ".");
                }));
    }

    private void recordBaseline(SystemResult.Baseline b) {
        ctx.session().baselineTaken(b);
        SystemResult.Backup k = b.backup();
        ctx.checklist().record(Key.BACKUP, k != null && k.files() > 0, k == null ? "No backup was made."
                : k.files() + " files (" + Sizes.human(k.bytes()) + ") copied to the engine's state with"
                        + " their SHA-256; tree " + abbreviate(k.treeSha256())
                        + (k.gitCommit() == null ? "" : "; git " + abbreviate(k.gitCommit())
                        + (Boolean.TRUE.equals(k.gitDirty()) ? " (dirty)" : "")) + ".");
        StringBuilder sb = new StringBuilder("Taken " + org.saferebuild.app.ui.Times.local(b.takenAt())
                + ": generation " + b.generation());
        if (b.services() != null) {
            sb.append(", ").append(b.services().size()).append(" watched service states");
        }
        if (b.failedUnits() != null) {
            sb.append(", ").append(b.failedUnits().size()).append(" failed units");
        }
        sb.append(", ").append(b.logSizes().size()).append(" watched logs");
        if (!b.notObserved().isEmpty()) {
            // The engine says why for each; the checklist names what, the details are in the change record.
            sb.append(". Not observed here: ").append(String.join(", ", b.notObserved().stream()
                    .map(x -> x.contains(":") ? x.substring(0, x.indexOf(':')) : x).toList()));
        }
        ctx.checklist().record(Key.BASELINE, true, sb.append('.').toString());
    }

    /**
     * The rollback target: the generation a revert or a rollback would really return to, which must
     * still be complete on disk. Before this run applied anything, that is the generation running now
     * (not the newest one, which may be a boot-only or an unconfirmed one); while this run's system
     * runs (after Switch or Test), it is the generation that ran before it.
     */
    public static void recordRollbackTarget(AppContext ctx, SystemResult.GenerationList g) {
        java.util.Optional<SystemResult.Generation> target = rollbackTarget(g, ctx.session().appliedProperty().get());
        if (target.isEmpty()) {
            ctx.checklist().record(Key.ROLLBACK, false, "No generation of the system profile " + g.profile()
                    + " runs now, so there is none to return to.");
            return;
        }
        SystemResult.Generation c = target.get();
        boolean ok = c.onDisk() && c.closureComplete();
        ctx.checklist().record(Key.ROLLBACK, ok, "Generation " + c.number() + " (" + org.saferebuild.app.ui.Times
                .local(c.date()) + ")" + (c.running() ? ", which runs now," : ", which ran before this change,")
                + " is " + (ok ? "on disk with its complete closure" : "NOT complete on disk") + (c.pinned()
                ? " and pinned" : "") + "; a revert returns to it, and Generations rolls back to it in one click.");
    }

    /** See {@link #recordRollbackTarget}. */
    public static java.util.Optional<SystemResult.Generation> rollbackTarget(SystemResult.GenerationList g,
                                                                             SystemResult.Applied applied) {
        java.util.Optional<SystemResult.Generation> running = g.generations().stream()
                .filter(SystemResult.Generation::running).max(java.util.Comparator.comparingInt(
                        SystemResult.Generation::number));
        boolean ours = applied != null && applied.generationBefore() != null && applied.mode()
                != org.saferebuild.protocol.SystemRequest.Mode.BOOT && (running.isEmpty()
                || running.get().storePath().equals(applied.storePath()));
        if (ours) {
            return g.generations().stream().filter(x -> x.number() == applied.generationBefore()).findFirst();
        }
        if (running.isPresent()) {
            return running;
        }
        return g.generations().stream().filter(SystemResult.Generation::current).findFirst();
    }

    /** Records the sign-off through the engine's audit trail. */
    public void signOff() {
        if (!canSign.get()) {
            return;
        }
        List<SystemRequest.Answer> answers = ctx.checklist().items().stream()
                .map(i -> new SystemRequest.Answer(i.key().runbookText, i.passed(), i.evidenceProperty().get()))
                .toList();
        String name = operator.get();
        busy.set(true);
        failure.set(null);
        status.set("Recording the sign-off in the audit trail…");
        ctx.client().run(id -> new SystemRequest.Signoff(id, name, answers), SystemResult.SignedOff.class).result()
                .whenComplete((s, err) -> ctx.ui().execute(() -> {
                    busy.set(false);
                    if (err != null) {
                        failure.set(Problems.of(err));
                        status.set("The sign-off was not recorded.");
                        return;
                    }
                    ctx.session().signedOff(s, name);
                    status.set("Signed off by " + name + " (OS user " + s.osUser() + "), audit line " + s.line()
                            + ". Apply is unlocked.");
                }));
    }

    static String abbreviate(String s) {
        return s == null ? "?" : s.length() > 12 ? s.substring(0, 12) + "…" : s;
    }
}
