package org.saferebuild.app.step.build;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.ZoneOffset;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import org.saferebuild.app.AppContext;
import org.saferebuild.app.checklist.ChecklistItem.Key;
import org.saferebuild.app.client.Operation;
import org.saferebuild.app.client.Problems;
import org.saferebuild.app.log.LogModel;
import org.saferebuild.app.session.RunSession;
import org.saferebuild.app.wizard.StepModel;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.NixEvent;
import org.saferebuild.protocol.NixRequest;
import org.saferebuild.protocol.NixResult;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SandboxResult;

/**
 * Build (runbook steps 3 and 4): validate inside the sandbox (evaluation, then a dry build), then
 * build in its chroot with progress and the log. The built system is the engine's GC root.
 */
public final class BuildViewModel extends StepModel {
    private final AppContext ctx;
    private final LogModel log = new LogModel();
    private final ReadOnlyObjectWrapper<NixResult.Validation> validation = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<NixResult.Built> built = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<NixEvent.BuildProgress> progress = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Event.Failure> failure = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper("Not validated yet.");
    private final ReadOnlyObjectWrapper<Instant> startedAt = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Instant> endedAt = new ReadOnlyObjectWrapper<>();
    private Operation<?> running;

    public BuildViewModel(AppContext ctx) {
        super("Build", "Steps 3–4: Validate Configuration, Perform Test Build");
        this.ctx = ctx;
        ctx.session().targetChangesProperty().addListener((o, a, b) -> forget());
        ctx.session().sandboxProperty().addListener((o, a, b) -> {
            if (b == null && built.get() == null) {
                forget();
            }
        });
    }

    public LogModel log() {
        return log;
    }

    public ReadOnlyObjectProperty<NixResult.Validation> validationProperty() {
        return validation.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<NixResult.Built> builtProperty() {
        return built.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<NixEvent.BuildProgress> progressProperty() {
        return progress.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Event.Failure> failureProperty() {
        return failure.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Instant> startedAtProperty() {
        return startedAt.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Instant> endedAtProperty() {
        return endedAt.getReadOnlyProperty();
    }

    /** "1:23" for the elapsed time of the build (or the validation) so far. */
    public String elapsed(Instant now) {
        Instant s = startedAt.get();
        if (s == null) {
            return "";
        }
        Duration d = Duration.between(s, endedAt.get() != null ? endedAt.get() : now);
        return String.format("%d:%02d", d.toMinutes(), d.toSecondsPart());
    }

    @Override
    public void entered() {
        if (validation.get() == null && built.get() == null && !busy.get() && failure.get() == null) {
            validate();
        }
    }

    // Commands

    /** Evaluates and dry-builds in the sandbox: what would be built, what fetched, what needs the network. */
    public void validate() {
        SandboxResult.Opened sb = ctx.session().sandboxProperty().get();
        RunSession.Target t = ctx.session().target();
        if (sb == null || t == null || busy.get()) {
            return;
        }
        start("Evaluating " + t.describe() + " inside the sandbox…");
        validation.set(null);
        Operation<NixResult.Validation> op = ctx.client().run(id -> new NixRequest.Validate(id, sb.sandbox(),
                t.host()), NixResult.Validation.class, this::onEvent);
        running = op;
        op.result().whenComplete((v, err) -> ctx.ui().execute(() -> {
            finish();
            if (err != null) {
                fail(Problems.of(err), false);
                return;
            }
            validation.set(v);
            status.set("Valid: " + v.systemName() + ". " + v.toBuild().size() + " derivation"
                    + (v.toBuild().size() == 1 ? "" : "s") + " to build, " + v.toFetch().size() + " to fetch.");
        }));
    }

    /** Builds the system in the sandbox's chroot. */
    public void build() {
        SandboxResult.Opened sb = ctx.session().sandboxProperty().get();
        RunSession.Target t = ctx.session().target();
        if (sb == null || t == null || busy.get()) {
            return;
        }
        built.set(null);
        progress.set(null);
        complete.set(false);
        ctx.checklist().clear(Key.BUILDS, Key.LOG_CLEAN, Key.SERVICES);
        log.reset(ctx.logDir().resolve("build-" + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
                .withZone(ZoneOffset.UTC).format(Instant.now()) + ".log"));
        start("Building " + t.describe() + " inside the sandbox…");
        Operation<NixResult.Built> op = ctx.client().run(id -> new NixRequest.Build(id, sb.sandbox(), t.host()),
                NixResult.Built.class, this::onEvent);
        running = op;
        op.result().whenComplete((b, err) -> ctx.ui().execute(() -> {
            finish();
            log.flushFile();
            log.publish();
            if (err != null) {
                fail(Problems.of(err), true);
                return;
            }
            built.set(b);
            ctx.session().built(new RunSession.BuiltSystem(b.storePath(), b.gcRoot(), b.logFile(), b.millis()));
            status.set("Built " + b.storePath() + " in " + String.format("%.1f", b.millis() / 1000.0) + " s.");
            ctx.checklist().record(Key.BUILDS, true, "Built " + org.saferebuild.app.ui.Ui.storeName(b.storePath())
                    + " in the isolated environment (" + b.built() + " derivations built, " + b.fetched()
                    + " fetched); the engine keeps it as a GC root.");
            recordLogScan(true);
            complete.set(true);
        }));
    }

    public void cancel() {
        if (running != null && busy.get()) {
            status.set("Cancelling…");
            running.cancel();
        }
    }

    private void onEvent(Event e) {
        if (e instanceof Event.Log l) {
            log.append(l.stream(), l.lines());
        } else if (e instanceof NixEvent.BuildProgress p) {
            ctx.batcher().post(progress, () -> progress.set(p));
        } else if (e instanceof Event.Progress p) {
            ctx.batcher().post(status, () -> status.set(p.message()));
        }
    }

    private void start(String what) {
        busy.set(true);
        failure.set(null);
        status.set(what);
        startedAt.set(Instant.now());
        endedAt.set(null);
    }

    private void finish() {
        busy.set(false);
        endedAt.set(Instant.now());
        running = null;
    }

    private void fail(Event.Failure f, boolean building) {
        failure.set(f);
        status.set(f.code() == ProblemCode.CANCELLED ? "Cancelled; the sandbox stays open and can be closed."
                : building ? "The build failed." : "The configuration does not validate.");
        if (f.code() != ProblemCode.CANCELLED) {
            ctx.checklist().record(Key.BUILDS, false, f.message());
        }
        if (f.code() == ProblemCode.NO_SPACE) {
            // The preflight's free space was enough to start; the build proved it was not.
            int from = f.message().indexOf("Free now: ");
            int to = from < 0 ? -1 : f.message().indexOf(". The whole log", from);
            ctx.checklist().record(Key.DISK, false, "The build ran out of disk space (\"No space left on device\")."
                    + (to < 0 ? "" : " " + f.message().substring(from, to) + ".")
                    + " Free space, then check again on the Target screen.");
        }
        if (building) {
            recordLogScan(false);
        }
    }

    private void recordLogScan(boolean buildOk) {
        long lines = log.receivedNow();
        long errors = log.errorsNow();
        long warnings = log.warningsNow();
        ctx.checklist().record(Key.LOG_CLEAN, buildOk && errors == 0, String.format(
                "Scanned all %,d lines of the build log: %,d error%s, %,d warning%s.", lines, errors,
                errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s"));
    }

    private void forget() {
        if (busy.get()) {
            cancel();
        }
        validation.set(null);
        built.set(null);
        progress.set(null);
        failure.set(null);
        startedAt.set(null);
        status.set("Not validated yet.");
        complete.set(false);
        ctx.checklist().clear(Key.BUILDS, Key.LOG_CLEAN);
    }

    /** The engine's full build log (root's copy) and the app's own copy the operator can open. */
    public Path appLogFile() {
        return log.fullLogProperty().get();
    }
}
