package org.saferebuild.app.history;

import atlantafx.base.theme.Styles;
import atlantafx.base.theme.Tweaks;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.SystemResult;

/** The History page: the audit trail (newest first), its verdict, and the change-record export. */
public final class HistoryView extends VBox {
    public HistoryView(HistoryViewModel model, java.util.function.Consumer<java.nio.file.Path> opener) {
        setSpacing(8);
        TableView<SystemResult.AuditLine> table = new TableView<>(model.lines());
        table.setId("audit-table");
        table.getStyleClass().addAll(Styles.DENSE, Tweaks.EDGE_TO_EDGE, Styles.STRIPED);
        TableColumn<SystemResult.AuditLine, String> n = new TableColumn<>("Line");
        n.setPrefWidth(60);
        n.setCellValueFactory(p -> new ReadOnlyStringWrapper(Long.toString(p.getValue().number())));
        TableColumn<SystemResult.AuditLine, String> text = new TableColumn<>("Record");
        text.setCellValueFactory(p -> new ReadOnlyStringWrapper(p.getValue().text()));
        table.getColumns().add(n);
        table.getColumns().add(text);
        table.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        VBox.setVgrow(table, Priority.ALWAYS);

        Button refresh = new Button("_Read the audit trail again", new FontIcon(Feather.REFRESH_CW));
        refresh.setOnAction(e -> model.refresh());
        Button export = new Button("_Export this run's change record", new FontIcon(Feather.DOWNLOAD));
        export.setId("history-export");
        export.getStyleClass().add(Styles.ACCENT);
        export.setOnAction(e -> model.exportChangeRecord());
        Button open = new Button("_Open the change record", new FontIcon(Feather.FILE_TEXT));
        open.disableProperty().bind(model.exportedProperty().isNull());
        open.setOnAction(e -> opener.accept(model.exportedProperty().get()));
        HBox actions = new HBox(8, export, open, refresh);
        actions.setAlignment(Pos.CENTER_LEFT);
        Label status = Ui.wrap("");
        status.setId("history-status");
        status.textProperty().bind(model.statusProperty());

        getChildren().addAll(Ui.header("History", "Audit trail",
                        "Every privileged action and every sign-off, one JSON line each, appended by the engine; "
                                + "each line carries the SHA-256 of the one before, so an edited line is found."),
                Ui.slot(model.verdictProperty(), v -> v.intact()
                        ? Ui.info("The audit trail verifies", v.lines() + " lines, chain intact; last SHA-256 "
                                + v.lastSha256() + ".", Feather.SHIELD, Styles.SUCCESS)
                        : Ui.info("The audit trail does not verify", "First line that no longer matches: "
                                + v.firstBadLine() + ". " + v.reason(), Feather.ALERT_OCTAGON, Styles.DANGER)),
                Ui.slot(model.failureProperty(), f -> Ui.failure("The audit trail could not be read", f, null)),
                actions, status, table);
    }
}
