package org.saferebuild.app.history;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import org.saferebuild.app.AppContext;
import org.saferebuild.app.client.Problems;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/** History: the engine's audit trail, whether its hash chain holds, and this run's change record. */
public final class HistoryViewModel {
    static final int PAGE = 500;

    private final AppContext ctx;
    private final ObservableList<SystemResult.AuditLine> lines = FXCollections.observableArrayList();
    private final ReadOnlyObjectWrapper<SystemResult.AuditVerdict> verdict = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Event.Failure> failure = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper("");
    private final ReadOnlyObjectWrapper<Path> exported = new ReadOnlyObjectWrapper<>();

    public HistoryViewModel(AppContext ctx) {
        this.ctx = ctx;
    }

    public ObservableList<SystemResult.AuditLine> lines() {
        return lines;
    }

    public ReadOnlyObjectProperty<SystemResult.AuditVerdict> verdictProperty() {
        return verdict.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Event.Failure> failureProperty() {
        return failure.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Path> exportedProperty() {
        return exported.getReadOnlyProperty();
    }

    // Commands

    /** Reads the newest lines of the audit trail and checks its hash chain. */
    public void refresh() {
        failure.set(null);
        ctx.client().run(SystemRequest.AuditVerify::new, SystemResult.AuditVerdict.class).result()
                .thenCompose(v -> {
                    ctx.ui().execute(() -> verdict.set(v));
                    long from = Math.max(1, v.lines() - PAGE + 1);
                    return ctx.client().run(id -> new SystemRequest.AuditRead(id, from, PAGE),
                            SystemResult.AuditLines.class).result();
                })
                .whenComplete((a, err) -> ctx.ui().execute(() -> {
                    if (err != null) {
                        failure.set(Problems.of(err));
                        return;
                    }
                    java.util.List<SystemResult.AuditLine> newest = new java.util.ArrayList<>(a.lines());
                    java.util.Collections.reverse(newest);
                    lines.setAll(newest);
                    if (exported.get() == null) {
                        status.set(a.total() + " lines in " + a.file() + (a.total() > PAGE ? "; the newest " + PAGE
                                + " are shown" : "") + ".");
                    }
                }));
    }

    /** Writes this run's change record as Markdown next to the app's logs and returns where. */
    public void exportChangeRecord() {
        String md = ChangeRecord.markdown(ctx.session(), ctx.checklist(), Instant.now());
        Path file = ctx.logDir().resolve("change-record-" + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
                .withZone(ZoneOffset.UTC).format(Instant.now()) + ".md");
        ctx.background().execute(() -> {
            try {
                Files.createDirectories(file.getParent());
                Files.writeString(file, md);
                ctx.ui().execute(() -> {
                    exported.set(file);
                    status.set("This run's change record is " + file + ".");
                });
            } catch (IOException e) {
                ctx.ui().execute(() -> status.set("The change record could not be written to " + file + ": "
                        + e.getMessage() + ". Choose a writable home directory."));
            }
        });
    }
}
