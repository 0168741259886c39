package org.saferebuild.app.step.isolate;

import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import org.saferebuild.app.AppContext;
import org.saferebuild.app.client.Problems;
import org.saferebuild.app.session.RunSession;
import org.saferebuild.app.wizard.StepModel;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;

/**
 * Isolate (runbook steps 1 and 2): opens the sandbox and shows its mount tree as the kernel
 * reports it (/proc/&lt;holder&gt;/mountinfo, read by the engine), not as the engine meant it.
 */
public final class IsolateViewModel extends StepModel {
    private final AppContext ctx;
    private final ObservableList<SandboxResult.Mount> mounts = FXCollections.observableArrayList();
    private final ReadOnlyObjectWrapper<SandboxResult.Opened> opened = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Event.Failure> failure = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper("The isolated environment is not open.");
    private final ReadOnlyStringWrapper refreshedAt = new ReadOnlyStringWrapper("");

    public IsolateViewModel(AppContext ctx) {
        super("Isolate", "Steps 1–2: Prepare Isolated Environment, Set Up Bind Mounts");
        this.ctx = ctx;
        // A new target means a new sandbox: the old one is closed so nothing of it stays mounted.
        ctx.session().targetChangesProperty().addListener((o, a, b) -> {
            if (opened.get() != null) {
                close();
            }
            // What failed was about the old target.
            failure.set(null);
            refreshedAt.set("");
            if (opened.get() == null && !busy.get()) {
                status.set("The isolated environment is not open.");
            }
        });
    }

    public ObservableList<SandboxResult.Mount> mounts() {
        return mounts;
    }

    public ReadOnlyObjectProperty<SandboxResult.Opened> openedProperty() {
        return opened.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Event.Failure> failureProperty() {
        return failure.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty refreshedAtProperty() {
        return refreshedAt.getReadOnlyProperty();
    }

    public RunSession.Target target() {
        return ctx.session().target();
    }

    /**
     * The runbook's "Common Issues" entry for a failure, or null. The engine's own message and fix
     * come first; this is the runbook's background for the operator who knows it.
     */
    public static String commonIssue(ProblemCode code) {
        return switch (code) {
            case NOT_AUTHORIZED, NAMESPACES_UNAVAILABLE -> "Runbook, Common Issues — \"Permission denied\" when "
                    + "entering namespace: the engine must run as root; check that user namespaces are enabled "
                    + "(cat /proc/sys/kernel/unprivileged_userns_clone should print 1 where it exists).";
            case SOURCE_MISSING -> "Runbook, Common Issues — Build fails due to missing /run/systemd: /run must be "
                    + "bound into the sandbox when systemd integration is needed; a missing bind source means the "
                    + "host lacks that directory.";
            case NO_SPACE -> "Runbook, Common Issues — \"No space left on device\": free space with "
                    + "nix-collect-garbage (pin your rollback target first) or use a work directory on a larger disk.";
            case NETWORK_ISOLATED -> "Runbook, Common Issues — Chroot environment can't access network: this is "
                    + "intentional. Go back to Target and choose the shared network if the build must download.";
            case BUSY -> "Another isolated environment for this configuration is open (perhaps from another window). "
                    + "Close it there, or restart the app: the engine closes its sandboxes when its app goes away.";
            case TOOL_MISSING -> "The runbook's procedure needs unshare, nsenter, chroot and mount (util-linux) and nix.";
            default -> null;
        };
    }

    @Override
    public void entered() {
        if (opened.get() == null && !busy.get() && failure.get() == null) {
            open();
        }
    }

    // Commands

    /** Opens the sandbox for the chosen target (unshare, then the bind plan). */
    public void open() {
        RunSession.Target t = ctx.session().target();
        if (t == null || busy.get()) {
            return;
        }
        busy.set(true);
        failure.set(null);
        mounts.clear();
        status.set("Creating the namespaces and mounts…");
        ctx.client().run(id -> new SandboxRequest.Open(id, t.configDir(), t.plan(), t.network()),
                        SandboxResult.Opened.class, e -> {
                            if (e instanceof Event.Progress p) {
                                ctx.batcher().post(this, () -> status.set(p.message()));
                            }
                        })
                .result().whenComplete((r, err) -> ctx.ui().execute(() -> {
                    busy.set(false);
                    if (err != null) {
                        failure.set(Problems.of(err));
                        status.set("The isolated environment could not be opened; nothing of it is left mounted.");
                        complete.set(false);
                        return;
                    }
                    opened.set(r);
                    mounts.setAll(r.mounts());
                    refreshedAt.set("read from the kernel at " + org.saferebuild.app.ui.Times.clock(java.time.Instant.now()));
                    status.set("Open: " + r.mounts().size() + " mounts made in " + r.setupMillis() + " ms, holder pid "
                            + r.holderPid() + ", network " + r.network().name().toLowerCase() + ".");
                    ctx.session().sandboxOpened(r);
                    complete.set(true);
                }));
    }

    /** Reads the mount tree again from /proc/&lt;holder&gt;/mountinfo. */
    public void refresh() {
        SandboxResult.Opened o = opened.get();
        if (o == null) {
            return;
        }
        ctx.client().run(id -> new SandboxRequest.Mounts(id, o.sandbox()), SandboxResult.MountTree.class)
                .result().whenComplete((r, err) -> ctx.ui().execute(() -> {
                    if (err != null) {
                        failure.set(Problems.of(err));
                        return;
                    }
                    mounts.setAll(r.mounts());
                    refreshedAt.set("read from the kernel at " + org.saferebuild.app.ui.Times.clock(java.time.Instant.now()));
                }));
    }

    /** Runbook step 5: unmounts everything and removes the work directory (never rm -rf across a mount). */
    public void close() {
        SandboxResult.Opened o = opened.get();
        if (o == null) {
            return;
        }
        opened.set(null);
        complete.set(false);
        ctx.session().sandboxClosed();
        mounts.clear();
        status.set("Closing the isolated environment…");
        ctx.client().run(id -> new SandboxRequest.Close(id, o.sandbox(), false), SandboxResult.Closed.class)
                .result().whenComplete((r, err) -> ctx.ui().execute(() -> {
                    if (opened.get() != null || busy.get()) {
                        return; // a new one is opening or open: its state is what the screen shows
                    }
                    if (err != null) {
                        failure.set(Problems.of(err));
                        status.set("The isolated environment could not be closed.");
                    } else {
                        status.set(r.workDirRemoved() ? "Closed: every mount is gone and the work directory is removed."
                                : "Closed, but the work directory was kept because it still held: "
                                        + String.join(", ", r.left()));
                    }
                }));
    }
}
