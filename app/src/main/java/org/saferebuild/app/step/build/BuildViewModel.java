package org.saferebuild.app.step.build;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import org.saferebuild.app.AppContext;
import org.saferebuild.app.checklist.ChecklistItem.Key;
import org.saferebuild.app.client.Operation;
import org.saferebuild.app.client.Problems;
import org.saferebuild.app.log.LogModel;
import org.saferebuild.app.session.RunSession;
import org.saferebuild.app.step.target.TargetViewModel;
import org.saferebuild.app.ui.Times;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.app.wizard.StepModel;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.NixEvent;
import org.saferebuild.protocol.NixRequest;
import org.saferebuild.protocol.NixResult;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.SandboxResult;

/**
 * Build (runbook steps 3 and 4): validate inside the sandbox (evaluation, then a dry build), then
 * build in its chroot with the tree of derivations (waiting, building, done, failed, each with its
 * time), the counts and the log. The built system is the engine's GC root. Everything shown
 * belongs to the current target: another target or a new validation clears it.
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
    private final ReadOnlyObjectWrapper<String> treeRoot = new ReadOnlyObjectWrapper<>();
    private final ObservableList<Derivation> derivations = FXCollections.observableArrayList();
    private final Map<String, Derivation> byPath = new LinkedHashMap<>();
    private final ReadOnlyObjectWrapper<Derivation> failedDerivation = new ReadOnlyObjectWrapper<>();
    /** Derivation changes from the reader thread, applied on the UI thread in one go. */
    private final List<NixEvent.DerivationState> pendingChanges = new ArrayList<>();
    private Operation<?> running;
    private long operation;

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

    /** The derivations of the running (or last) build, in the engine's plan order, downloads last. */
    public ObservableList<Derivation> derivations() {
        return derivations;
    }

    /** The system's own derivation: the root of the build tree (null before a build). */
    public ReadOnlyObjectProperty<String> treeRootProperty() {
        return treeRoot.getReadOnlyProperty();
    }

    public Derivation derivation(String path) {
        return byPath.get(path);
    }

    /** The first derivation that failed to build, with its log tail; null when none did. */
    public ReadOnlyObjectProperty<Derivation> failedDerivationProperty() {
        return failedDerivation.getReadOnlyProperty();
    }

    /** "1:23" for the elapsed time of the build (or the validation) so far. */
    public String elapsed(Instant now) {
        Instant s = startedAt.get();
        if (s == null) {
            return "";
        }
        return Times.elapsed(Duration.between(s, endedAt.get() != null ? endedAt.get() : now));
    }

    /** "3 of 12 built · 1 building · 1 failed · 2 of 4 downloaded", from the engine's counts. */
    public static String counts(NixEvent.BuildProgress p) {
        if (p == null) {
            return "";
        }
        return p.done() + " of " + p.planned() + " derivations built · " + p.running() + " building"
                + (p.failed() > 0 ? " · " + p.failed() + " failed" : "")
                + " · " + (p.fetchPlanned() == 0 ? "no downloads" : p.fetchDone() + " of " + p.fetchPlanned()
                + " downloaded");
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
        start("Evaluating " + t.shortName() + " inside the sandbox…", "validate");
        validation.set(null);
        built.set(null);
        clearTree();
        long op = operation;
        Operation<NixResult.Validation> o = ctx.client().run(id -> new NixRequest.Validate(id, sb.sandbox(),
                t.host()), NixResult.Validation.class, e -> onEvent(e, op));
        running = o;
        o.result().whenComplete((v, err) -> ctx.ui().execute(() -> {
            if (op != operation) {
                return;
            }
            finish();
            if (err != null) {
                fail(Problems.of(err), false);
                return;
            }
            validation.set(v);
            status.set("Valid: " + v.systemName() + ".");
        }));
    }

    /** Builds the system in the sandbox's chroot: a new run (what was inspected or signed off is dropped). */
    public void build() {
        SandboxResult.Opened sb = ctx.session().sandboxProperty().get();
        RunSession.Target t = ctx.session().target();
        if (sb == null || t == null || busy.get()) {
            return;
        }
        ctx.session().startBuild();
        built.set(null);
        complete.set(false);
        ctx.checklist().clear(Key.BUILDS, Key.LOG_CLEAN, Key.SERVICES);
        start("Building " + t.shortName() + " inside the sandbox…", "build");
        clearTree();
        long op = operation;
        Operation<NixResult.Built> o = ctx.client().run(id -> new NixRequest.Build(id, sb.sandbox(), t.host()),
                NixResult.Built.class, e -> onEvent(e, op));
        running = o;
        o.result().whenComplete((b, err) -> ctx.ui().execute(() -> {
            if (op != operation) {
                return;
            }
            finish();
            log.flushFile();
            log.publish();
            applyChanges();
            if (err != null) {
                fail(Problems.of(err), true);
                return;
            }
            built.set(b);
            ctx.session().built(new RunSession.BuiltSystem(b.storePath(), b.gcRoot(), b.logFile(), b.millis()));
            status.set("Built " + Ui.storeName(b.storePath()) + " in " + String.format("%.1f", b.millis() / 1000.0)
                    + " s.");
            ctx.checklist().record(Key.BUILDS, true, "Built " + Ui.storeName(b.storePath())
                    + " in the isolated environment (" + b.built() + " derivations built, " + b.fetched()
                    + " downloaded); the engine keeps it as a GC root.");
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

    private void onEvent(Event e, long op) {
        if (op != operation) {
            return;
        }
        if (e instanceof Event.Log l) {
            log.append(l.stream(), l.lines());
        } else if (e instanceof NixEvent.BuildProgress p) {
            ctx.batcher().post(progress, () -> {
                if (op == operation) {
                    progress.set(p);
                }
            });
        } else if (e instanceof NixEvent.BuildPlan plan) {
            ctx.ui().execute(() -> {
                if (op == operation) {
                    plan(plan);
                }
            });
        } else if (e instanceof NixEvent.Derivations d) {
            synchronized (pendingChanges) {
                pendingChanges.addAll(d.changed());
            }
            ctx.batcher().post(pendingChanges, () -> {
                if (op == operation) {
                    applyChanges();
                }
            });
        } else if (e instanceof Event.Progress p) {
            ctx.batcher().post(status, () -> {
                if (op == operation && busy.get()) {
                    status.set(p.message() + "…");
                }
            });
        }
    }

    private void plan(NixEvent.BuildPlan plan) {
        // Changes already queued behind the plan are about this build: they stay queued.
        byPath.clear();
        derivations.clear();
        failedDerivation.set(null);
        List<Derivation> all = new ArrayList<>();
        for (NixEvent.PlannedDerivation d : plan.derivations()) {
            Derivation x = new Derivation(d.drvPath(), d.name(), d.inputs(), false);
            byPath.put(d.drvPath(), x);
            all.add(x);
        }
        for (String d : plan.downloads()) {
            Derivation x = new Derivation(d, Ui.storeName(d), List.of(), true);
            byPath.put(d, x);
            all.add(x);
        }
        treeRoot.set(plan.root());
        derivations.setAll(all);
    }

    private void applyChanges() {
        List<NixEvent.DerivationState> changes;
        synchronized (pendingChanges) {
            changes = new ArrayList<>(pendingChanges);
            pendingChanges.clear();
        }
        List<Derivation> added = new ArrayList<>();
        for (NixEvent.DerivationState s : changes) {
            Derivation d = byPath.get(s.path());
            if (d == null) {
                // nix built something the dry run did not name: it joins the tree at the top
                d = new Derivation(s.path(), s.name(), List.of(), s.state() == NixEvent.State.DOWNLOADING
                        || s.state() == NixEvent.State.DOWNLOADED);
                byPath.put(s.path(), d);
                added.add(d);
            }
            d.update(s);
            if (s.state() == NixEvent.State.FAILED && failedDerivation.get() == null) {
                failedDerivation.set(d);
            }
        }
        derivations.addAll(added);
    }

    private void clearTree() {
        synchronized (pendingChanges) {
            pendingChanges.clear();
        }
        byPath.clear();
        derivations.clear();
        treeRoot.set(null);
        failedDerivation.set(null);
        progress.set(null);
    }

    private void start(String what, String kind) {
        operation++;
        busy.set(true);
        failure.set(null);
        status.set(what);
        startedAt.set(Instant.now());
        endedAt.set(null);
        log.reset(ctx.logDir().resolve(kind + "-" + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
                .withZone(ZoneOffset.UTC).format(Instant.now()) + ".log"));
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
            ctx.checklist().record(Key.BUILDS, false, firstSentence(Ui.shortenStorePaths(f.message())));
        }
        if (f.code() == ProblemCode.NO_SPACE) {
            measureDisksAgain();
        }
        if (building) {
            recordLogScan(false);
        }
    }

    /**
     * "No space left on device": the disks are measured again (the preflight's numbers), and the
     * checklist's disk item says what is true now — short of space, or room on both disks and the
     * space that ran out was elsewhere.
     */
    private void measureDisksAgain() {
        RunSession.Target t = ctx.session().target();
        if (t == null) {
            return;
        }
        long op = operation;
        ctx.client().run(id -> new Request.Preflight(id, t.configDir()), PreflightReport.class).result()
                .whenComplete((r, err) -> ctx.ui().execute(() -> {
                    if (err != null || op != operation) {
                        return;
                    }
                    TargetViewModel.recordDisk(ctx, r.disks());
                    if (r.disks().stream().allMatch(PreflightReport.Disk::ok)) {
                        String now = ctx.checklist().item(Key.DISK).evidenceProperty().get();
                        ctx.checklist().record(Key.DISK, true, now + " The build's \"No space left on device\" came"
                                + " from somewhere its builder wrote to, not from these disks.");
                    }
                }));
    }

    /** "The derivation x failed to build (exit code 1)." — the checklist's evidence stays one line. */
    static String firstSentence(String text) {
        String first = text.lines().findFirst().orElse(text);
        int dot = first.indexOf(". ");
        int colon = first.indexOf(": ");
        int end = dot < 0 ? colon : colon < 0 ? dot : Math.min(dot, colon);
        return end > 0 ? first.substring(0, end) + "." : first;
    }

    private void recordLogScan(boolean buildOk) {
        long lines = log.receivedNow();
        long errors = log.errorsNow();
        long warnings = log.warningsNow();
        ctx.checklist().record(Key.LOG_CLEAN, buildOk && errors == 0, String.format(
                "Scanned all %,d lines of the build log: %,d error%s, %,d warning%s.", lines, errors,
                errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s"));
    }

    /** Everything shown was about the old target: the screen starts empty. */
    private void forget() {
        if (busy.get()) {
            cancel();
        }
        operation++;
        busy.set(false);
        running = null;
        validation.set(null);
        built.set(null);
        failure.set(null);
        clearTree();
        startedAt.set(null);
        endedAt.set(null);
        log.reset(null);
        status.set("Not validated yet.");
        complete.set(false);
        ctx.checklist().clear(Key.BUILDS, Key.LOG_CLEAN);
    }

    /** The app's own copy of the full log the operator can open. */
    public Path appLogFile() {
        return log.fullLogProperty().get();
    }
}
