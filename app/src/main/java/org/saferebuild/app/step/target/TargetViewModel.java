package org.saferebuild.app.step.target;

import java.util.HashMap;
import java.util.Map;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import org.saferebuild.app.AppContext;
import org.saferebuild.app.checklist.ChecklistItem;
import org.saferebuild.app.client.Problems;
import org.saferebuild.app.session.RunSession;
import org.saferebuild.app.ui.Times;
import org.saferebuild.app.wizard.StepModel;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.NixResult;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.SandboxRequest.Network;
import org.saferebuild.protocol.Sizes;

/**
 * Target: which configuration, which host, and whether the sandbox gets the network. The engine
 * lists its configuration directories (hosts, description, last build) and its preflight checks
 * what the runbook's "Common Issues" are about. The last configuration chosen is remembered.
 */
public final class TargetViewModel extends StepModel {
    private final AppContext ctx;
    private final ObservableList<String> configDirs = FXCollections.observableArrayList();
    private final ObservableList<String> hosts = FXCollections.observableArrayList();
    private final ObservableList<PreflightReport.Check> checks = FXCollections.observableArrayList();
    private final ReadOnlyObjectWrapper<Map<String, NixResult.ConfigSummary>> summaries =
            new ReadOnlyObjectWrapper<>(Map.of());
    private final ReadOnlyStringWrapper configDir = new ReadOnlyStringWrapper();
    private final ReadOnlyStringWrapper host = new ReadOnlyStringWrapper();
    private final ReadOnlyObjectWrapper<Network> network = new ReadOnlyObjectWrapper<>(Network.ISOLATED);
    private final ReadOnlyObjectWrapper<PreflightReport> report = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Event.Failure> failure = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper("");

    public TargetViewModel(AppContext ctx) {
        super("Target", "Before Step 1: what to rebuild");
        this.ctx = ctx;
        configDirs.setAll(ctx.configDirs());
        String last = ctx.prefs().lastConfigDir();
        if (last != null && configDirs.contains(last)) {
            configDir.set(last);
            host.set(ctx.prefs().lastHost());
        } else if (!configDirs.isEmpty()) {
            configDir.set(configDirs.get(0));
        }
        // A build changes what the list says about its directory ("built 1 min ago").
        ctx.session().builtProperty().addListener((o, a, b) -> loadConfigs());
    }

    public ObservableList<String> configDirs() {
        return configDirs;
    }

    public ObservableList<String> hosts() {
        return hosts;
    }

    public ObservableList<PreflightReport.Check> checks() {
        return checks;
    }

    /** What the engine says about each configuration directory (empty until it answered). */
    public ReadOnlyObjectProperty<Map<String, NixResult.ConfigSummary>> summariesProperty() {
        return summaries.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty configDirProperty() {
        return configDir.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty hostProperty() {
        return host.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Network> networkProperty() {
        return network.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<PreflightReport> reportProperty() {
        return report.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Event.Failure> failureProperty() {
        return failure.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }

    /** What each network choice means, in one sentence. */
    public static String explain(Network n) {
        return switch (n) {
            case ISOLATED -> "The sandbox gets no network (the runbook's --net): Nix builds offline from the store and"
                    + " names anything missing instead of downloading it.";
            case SHARED -> "The sandbox shares this machine's network, so Nix may download from your binary caches.";
        };
    }

    /** "update", the directory's own name. */
    public static String name(String dir) {
        int slash = dir.lastIndexOf('/');
        return slash >= 0 && slash < dir.length() - 1 ? dir.substring(slash + 1) : dir;
    }

    /** One line about a directory: its hosts, what it says about itself, and its last build. */
    public static String describe(NixResult.ConfigSummary s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        b.append(switch (s.kind()) {
            case FLAKE -> s.hosts().isEmpty() ? "flake" : "host " + String.join(", ", s.hosts());
            case CLASSIC -> "classic configuration.nix";
            case NONE -> "no configuration";
        });
        String words = s.comment() != null ? s.comment() : s.description();
        if (words != null) {
            b.append(" · ").append(words);
        }
        b.append(" · ").append(lastBuild(s.lastBuild()));
        return b.toString();
    }

    /** "built today 01:25 (3 min ago)", "failed yesterday 23:10 (2 h ago)", "never built here". */
    public static String lastBuild(NixResult.LastBuild l) {
        if (l == null) {
            return "never built by this engine";
        }
        return (l.ok() ? "built " : "failed to build ") + Times.localAndRelative(l.at());
    }

    @Override
    public void entered() {
        if (summaries.get().isEmpty()) {
            loadConfigs();
        }
        if (report.get() == null && !busy.get()) {
            checkAgain();
        }
    }

    // Commands

    /** Asks the engine for its configuration directories (hosts, description, last build). */
    public void loadConfigs() {
        if (!ctx.client().offers("configs")) {
            return;
        }
        ctx.client().run(Request.Configs::new, NixResult.ConfigList.class).result()
                .whenComplete((l, err) -> ctx.ui().execute(() -> {
                    if (err != null) {
                        return; // the list is a help; the preflight says what matters
                    }
                    Map<String, NixResult.ConfigSummary> m = new HashMap<>();
                    for (NixResult.ConfigSummary s : l.configs()) {
                        m.put(s.path(), s);
                        if (!configDirs.contains(s.path())) {
                            configDirs.add(s.path());
                        }
                    }
                    summaries.set(Map.copyOf(m));
                }));
    }

    public void chooseConfigDir(String dir) {
        if (dir == null || dir.isBlank() || dir.equals(configDir.get())) {
            return;
        }
        if (!configDirs.contains(dir)) {
            configDirs.add(dir);
        }
        configDir.set(dir);
        host.set(null);
        hosts.clear();
        report.set(null);
        checks.clear();
        publish();
        checkAgain();
    }

    public void chooseHost(String h) {
        host.set(h);
        publish();
    }

    public void chooseNetwork(Network n) {
        network.set(n);
        publish();
    }

    /**
     * Whether {@code f} is the engine refusing the configuration directory itself (one its settings
     * do not name, or one reached through a link), rather than a check that failed to run.
     */
    public static boolean refusesDirectory(Event.Failure f) {
        return (f.code() == org.saferebuild.protocol.ProblemCode.INVALID_ARGUMENT
                || f.code() == org.saferebuild.protocol.ProblemCode.NOT_AUTHORIZED)
                && f.message().startsWith("The configuration directory ");
    }

    /** Runs the engine's preflight for the chosen directory. */
    public void checkAgain() {
        String dir = configDir.get();
        busy.set(true);
        failure.set(null);
        status.set("Checking root, namespaces, tools, free space and " + (dir == null ? "the default configuration"
                : name(dir)) + "…");
        ctx.client().run(id -> new Request.Preflight(id, dir), PreflightReport.class,
                        e -> {
                            if (e instanceof Event.Progress p) {
                                ctx.batcher().post(this, () -> status.set(p.message() + "…"));
                            }
                        })
                .result().whenComplete((r, err) -> ctx.ui().execute(() -> {
                    busy.set(false);
                    if (err != null) {
                        if (!java.util.Objects.equals(dir, configDir.get())) {
                            return;
                        }
                        Event.Failure f = Problems.of(err);
                        failure.set(f);
                        status.set(refusesDirectory(f) ? "The engine does not accept this directory."
                                : "The check could not run.");
                        report.set(null);
                        publish();
                        return;
                    }
                    accept(r);
                }));
    }

    private void accept(PreflightReport r) {
        if (!r.config().path().equals(configDir.get())) {
            return; // the operator chose another directory meanwhile; its own check is on its way
        }
        report.set(r);
        checks.setAll(r.checks());
        hosts.setAll(r.config().hosts());
        if (host.get() == null || !hosts.contains(host.get())) {
            host.set(hosts.size() == 1 ? hosts.get(0) : hosts.contains("BearsiMac") ? "BearsiMac" : null);
        }
        long failed = r.checks().stream().filter(c -> c.status() == PreflightReport.Status.FAIL).count();
        status.set(failed == 0 ? "Everything the runbook needs is in place." : failed + " check"
                + (failed == 1 ? "" : "s") + " failed; each says how to fix it.");
        recordDisk(ctx, r.disks());
        publish();
    }

    /** The checklist's disk item from measured free space (the preflight's, or measured again after a build). */
    public static void recordDisk(AppContext ctx, java.util.List<PreflightReport.Disk> disks) {
        StringBuilder sb = new StringBuilder();
        boolean ok = !disks.isEmpty();
        for (PreflightReport.Disk d : disks) {
            ok &= d.ok();
            if (sb.length() > 0) {
                sb.append("; ");
            }
            sb.append(Sizes.human(d.freeBytes())).append(" free on the ").append(d.label());
        }
        long need = disks.isEmpty() ? 0 : disks.get(0).thresholdBytes();
        ctx.checklist().record(ChecklistItem.Key.DISK, ok, sb.append("; ").append(Sizes.human(need))
                .append(" needed (df -h).").toString());
    }

    /** Tells the session and decides whether the operator may go on. */
    private void publish() {
        PreflightReport r = report.get();
        boolean needsHost = r != null && r.config().kind() == PreflightReport.ConfigKind.FLAKE;
        boolean ok = r != null && r.ready() && configDir.get() != null && (!needsHost || host.get() != null);
        if (ok) {
            ctx.session().chooseTarget(new RunSession.Target(configDir.get(), needsHost ? host.get() : null,
                    network.get(), ctx.plan()));
            ctx.prefs().rememberConfig(configDir.get(), needsHost ? host.get() : null);
        }
        complete.set(ok);
    }
}
