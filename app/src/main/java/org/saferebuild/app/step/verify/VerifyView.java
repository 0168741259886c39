package org.saferebuild.app.step.verify;

import atlantafx.base.theme.Styles;
import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.SystemResult;

/** The Verify screen: the verdict, every check with its status, then services, logs and journal. */
public final class VerifyView extends VBox {
    public VerifyView(VerifyViewModel model) {
        setSpacing(8);
        Button again = new Button("_Verify again", new FontIcon(Feather.REFRESH_CW));
        again.setId("verify-again");
        again.disableProperty().bind(model.busyProperty());
        again.setOnAction(e -> model.verify());
        Label when = Ui.muted("");
        when.setId("verify-when");
        model.reportProperty().addListener((o, a, r) -> when.setText(r == null ? (model.busyProperty().get()
                ? "Verifying…" : "") : "Verified at " + org.saferebuild.app.ui.Times.clock(
                        model.verifiedAtProperty().get()) + "."));
        model.busyProperty().addListener((o, a, b) -> {
            if (b) {
                when.setText("Verifying the system as it runs now…");
            }
        });
        HBox top = new HBox(12, again, when);
        top.setAlignment(javafx.geometry.Pos.CENTER_LEFT);
        again.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        getChildren().addAll(Ui.header("Verify the activation", model.runbookStep(),
                        "The engine looks at the live system now; a check that cannot run here says so, never passes.",
                        "The watched services' states against the baseline, units that failed since, the new lines"
                                + " of the watched logs and this boot's journal lines that match. The report is made"
                                + " again whenever the running system changes (a revert, a rollback)."),
                top, Ui.slot(model.failureProperty(), f -> Ui.failure("Verification could not run", f, null)),
                Ui.slot(model.reportProperty(), VerifyView::report));
    }

    private static Node report(SystemResult.VerifyReport r) {
        VBox box = new VBox(6);
        box.setId("verify-report");
        String style = switch (r.verdict()) {
            case PASS -> Styles.SUCCESS;
            case FAIL -> Styles.DANGER;
            case INCOMPLETE -> Styles.WARNING;
        };
        box.getChildren().add(Ui.info(switch (r.verdict()) {
            case PASS -> "Verified";
            case FAIL -> "Something is wrong";
            case INCOMPLETE -> "Partly verified: some checks could not run here";
        }, r.summary(), r.verdict() == SystemResult.Verdict.PASS ? Feather.CHECK_CIRCLE : Feather.ALERT_TRIANGLE,
                style));
        for (SystemResult.Check c : r.checks()) {
            FontIcon icon = switch (c.status()) {
                case PASS -> Ui.icon(Feather.CHECK_CIRCLE, Styles.SUCCESS);
                case FAIL -> Ui.icon(Feather.X_CIRCLE, Styles.DANGER);
                case WARN -> Ui.icon(Feather.ALERT_TRIANGLE, Styles.WARNING);
                case NOT_RUN -> Ui.icon(Feather.MINUS_CIRCLE, Styles.TEXT_MUTED);
                case INFO -> Ui.icon(Feather.INFO, null);
            };
            Label name = new Label(c.name() + (c.status() == SystemResult.CheckStatus.NOT_RUN ? " (not run)" : ""));
            name.getStyleClass().add(Styles.TEXT_BOLD);
            name.setMinWidth(200);
            name.setPrefWidth(200);
            name.setWrapText(true);
            VBox detail = new VBox(2, Ui.withStorePaths(c.detail()));
            if (c.fix() != null) {
                detail.getChildren().add(new org.saferebuild.app.ui.Disclosure("What to do", Ui.muted(c.fix())));
            }
            HBox.setHgrow(detail, javafx.scene.layout.Priority.ALWAYS);
            HBox row = new HBox(10, icon, name, detail);
            row.setMinHeight(javafx.scene.layout.Region.USE_PREF_SIZE);
            box.getChildren().add(row);
        }
        // Service states against the baseline, where systemd could be asked (null: it could not).
        if (r.services() != null && !r.services().isEmpty()) {
            box.getChildren().add(Ui.section("Watched services now"));
            for (SystemResult.ServiceState st : r.services()) {
                boolean active = "active".equals(st.activeState());
                Label l = new Label(st.unit() + ": " + st.activeState() + " (" + st.subState() + ")"
                        + (st.result() == null || "success".equals(st.result()) ? "" : ", result " + st.result()),
                        Ui.icon(active ? Feather.CHECK_CIRCLE : Feather.X_CIRCLE, active ? Styles.SUCCESS : Styles.DANGER));
                box.getChildren().add(l);
            }
        }
        if (r.newlyFailed() != null) {
            box.getChildren().add(Ui.wrap(r.newlyFailed().isEmpty() ? "No unit failed since the baseline."
                    : "Failed since the baseline: " + String.join(", ", r.newlyFailed()) + "."));
        }
        if (r.logs() != null) {
            for (SystemResult.LogTail t : r.logs()) {
                Label head = Ui.section(java.nio.file.Path.of(t.file()).getFileName() + " — " + t.newLines().size()
                        + " new line" + (t.newLines().size() == 1 ? "" : "s") + " since the baseline");
                head.setTooltip(new javafx.scene.control.Tooltip(t.file()));
                box.getChildren().add(head);
                Label lines = Ui.muted(String.join("\n", t.newLines().isEmpty() ? t.tail() : t.newLines()));
                lines.getStyleClass().add("mono");
                box.getChildren().add(lines);
            }
        }
        if (r.journalMatches() != null && !r.journalMatches().isEmpty()) {
            box.getChildren().add(Ui.section("Journal matches"));
            box.getChildren().add(Ui.muted(String.join("\n", r.journalMatches())));
        }
        return box;
    }
}
