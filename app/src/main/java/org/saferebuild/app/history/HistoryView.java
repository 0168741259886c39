package org.saferebuild.app.history;

import atlantafx.base.theme.Styles;
import atlantafx.base.theme.Tweaks;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.SystemResult;

/** The History page: the audit trail (newest first), its verdict, and the change-record export. */
public final class HistoryView extends VBox {
    /** A field of an audit line (a JSON object), "a.b" for nested ones; "" when absent or unreadable. */
    static String field(SystemResult.AuditLine l, String path) {
        try {
            com.fasterxml.jackson.databind.JsonNode n = org.saferebuild.protocol.Json.mapper().readTree(l.text());
            for (String part : path.split("\\.")) {
                n = n == null ? null : n.get(part);
            }
            return n == null || n.isNull() ? "" : n.asText();
        } catch (java.io.IOException | RuntimeException e) {
            return "";
        }
    }

    static TableColumn<SystemResult.AuditLine, String> col(String name, double width,
            java.util.function.Function<SystemResult.AuditLine, String> value) {
        TableColumn<SystemResult.AuditLine, String> c = new TableColumn<>(name);
        c.setPrefWidth(width);
        c.setCellValueFactory(p -> new ReadOnlyStringWrapper(value.apply(p.getValue())));
        return c;
    }

    public HistoryView(HistoryViewModel model, java.util.function.Consumer<java.nio.file.Path> opener) {
        setSpacing(8);
        TableView<SystemResult.AuditLine> table = new TableView<>(model.lines());
        table.setId("audit-table");
        table.getStyleClass().addAll(Styles.DENSE, Tweaks.EDGE_TO_EDGE, Styles.STRIPED);
        table.getColumns().add(col("Line", 50, l -> Long.toString(l.number())));
        table.getColumns().add(col("When", 150, l -> org.saferebuild.app.ui.Times.local(field(l, "when"))));
        table.getColumns().add(col("Who", 130, l -> field(l, "who.name") + " · " + field(l, "who.via")));
        table.getColumns().add(col("What", 130, l -> field(l, "what")));
        table.getColumns().add(col("Generation", 105, l -> field(l, "generationBefore").isEmpty() ? ""
                : field(l, "generationBefore") + " → " + field(l, "generationAfter")));
        table.getColumns().add(col("Outcome", 90, l -> field(l, "outcome")));
        table.getColumns().add(col("Message", 300, l -> Ui.shortenStorePaths(field(l, "message"))));
        table.setRowFactory(v -> new javafx.scene.control.TableRow<>() {
            @Override
            protected void updateItem(SystemResult.AuditLine l, boolean empty) {
                super.updateItem(l, empty);
                setTooltip(empty || l == null ? null : new javafx.scene.control.Tooltip(field(l, "when") + "\n"
                        + field(l, "who.name") + " (uid " + field(l, "who.uid") + ", " + field(l, "who.via") + ")\n"
                        + field(l, "message")));
            }
        });
        table.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        table.getColumns().forEach(c -> c.setMinWidth(c.getPrefWidth() <= 110 ? c.getPrefWidth() : 90));
        table.setMinHeight(200);
        VBox.setVgrow(table, Priority.ALWAYS);

        Button refresh = new Button("Read the _audit trail again", new FontIcon(Feather.REFRESH_CW));
        refresh.setOnAction(e -> model.refresh());
        Button export = new Button("E_xport this run's change record", new FontIcon(Feather.DOWNLOAD));
        export.setId("history-export");
        export.getStyleClass().add(Styles.ACCENT);
        export.setOnAction(e -> model.exportChangeRecord());
        Button open = new Button("_Open the change record", new FontIcon(Feather.FILE_TEXT));
        open.setId("history-open");
        open.disableProperty().bind(model.exportedProperty().isNull());
        open.setOnAction(e -> opener.accept(model.exportedProperty().get()));
        Button copy = new Button("_Copy its path", new FontIcon(Feather.COPY));
        copy.setId("history-copy");
        copy.disableProperty().bind(model.exportedProperty().isNull());
        copy.setOnAction(e -> Ui.copyToClipboard(model.exportedProperty().get().toString()));
        javafx.scene.layout.FlowPane actions = new javafx.scene.layout.FlowPane(8, 8, export, open, copy, refresh);
        for (Button b : new Button[] {export, open, copy, refresh}) {
            b.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        }
        Label status = Ui.wrap("");
        status.setId("history-status");
        status.textProperty().bind(model.statusProperty());

        getChildren().addAll(Ui.header("History", "Audit trail",
                        "Every privileged action and every sign-off, newest first, and this run's change record.",
                        "The engine appends one JSON line per action; each line carries the SHA-256 of the one before,"
                                + " so an edited line is found. The change record is a Markdown file with the target,"
                                + " the checklist answers and their evidence, the sign-off, the package and unit diff,"
                                + " what happened to the system in this run, and the activation output."),
                Ui.slot(model.verdictProperty(), v -> v.intact()
                        ? Ui.info("The audit trail verifies", v.lines() + " lines, chain intact; last SHA-256 "
                                + v.lastSha256() + ".", Feather.SHIELD, Styles.SUCCESS)
                        : Ui.info("The audit trail does not verify", "First line that no longer matches: "
                                + v.firstBadLine() + ". " + v.reason(), Feather.ALERT_OCTAGON, Styles.DANGER)),
                Ui.slot(model.failureProperty(), f -> Ui.failure("The audit trail could not be read", f, null)),
                actions, status, table);
    }
}
