package org.saferebuild.app.step.target;

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
import org.saferebuild.app.wizard.StepModel;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.SandboxRequest.Network;
import org.saferebuild.protocol.Sizes;

/**
 * Target: which configuration, which host, and whether the sandbox gets the network. The engine's
 * preflight lists the declared hosts and checks what the runbook's "Common Issues" are about.
 */
public final class TargetViewModel extends StepModel {
    private final AppContext ctx;
    private final ObservableList<String> configDirs = FXCollections.observableArrayList();
    private final ObservableList<String> hosts = FXCollections.observableArrayList();
    private final ObservableList<PreflightReport.Check> checks = FXCollections.observableArrayList();
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
        if (!configDirs.isEmpty()) {
            configDir.set(configDirs.get(0));
        }
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

    /** What each network choice means, for the screen. */
    public static String explain(Network n) {
        return switch (n) {
            case ISOLATED -> "The sandbox gets its own empty network (the runbook's --net). Nix runs offline: "
                    + "everything the build needs must already be in the Nix store, and a missing dependency "
                    + "is reported by name instead of being downloaded.";
            case SHARED -> "The sandbox shares this machine's network, so Nix may download from your binary "
                    + "caches. Use this when the build needs something that is not in the store yet.";
        };
    }

    @Override
    public void entered() {
        if (report.get() == null && !busy.get()) {
            checkAgain();
        }
    }

    // Commands

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

    /** Runs the engine's preflight for the chosen directory. */
    public void checkAgain() {
        String dir = configDir.get();
        busy.set(true);
        failure.set(null);
        status.set("Checking root, namespaces, tools, free space and " + (dir == null ? "the default configuration" : dir)
                + "…");
        ctx.client().run(id -> new Request.Preflight(id, dir), PreflightReport.class,
                        e -> {
                            if (e instanceof Event.Progress p) {
                                ctx.batcher().post(this, () -> status.set(p.message() + "…"));
                            }
                        })
                .result().whenComplete((r, err) -> ctx.ui().execute(() -> {
                    busy.set(false);
                    if (err != null) {
                        failure.set(Problems.of(err));
                        status.set("The check could not run.");
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
        recordDisk(r);
        publish();
    }

    private void recordDisk(PreflightReport r) {
        StringBuilder sb = new StringBuilder();
        boolean ok = !r.disks().isEmpty();
        for (PreflightReport.Disk d : r.disks()) {
            ok &= d.ok();
            if (sb.length() > 0) {
                sb.append("; ");
            }
            sb.append(Sizes.human(d.freeBytes())).append(" free on the ").append(d.label());
        }
        long need = r.disks().isEmpty() ? 0 : r.disks().get(0).thresholdBytes();
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
        }
        complete.set(ok);
    }
}
