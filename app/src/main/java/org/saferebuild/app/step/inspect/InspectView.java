package org.saferebuild.app.step.inspect;

import atlantafx.base.theme.Styles;
import atlantafx.base.theme.Tweaks;
import java.util.Collection;
import java.util.List;
import java.util.function.Function;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.FXCollections;
import javafx.geometry.Orientation;
import javafx.scene.Node;
import javafx.scene.control.Label;
import javafx.scene.control.SplitPane;
import javafx.scene.control.Tab;
import javafx.scene.control.TabPane;
import javafx.scene.control.TableCell;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableRow;
import javafx.scene.control.TableView;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import org.fxmisc.flowless.VirtualizedScrollPane;
import org.fxmisc.richtext.StyleClassedTextArea;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.InspectResult.Comparison;
import org.saferebuild.protocol.InspectResult.Inspection;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.Sizes;

/**
 * The Inspect screen: watched services and reboot advice first (what the operator fears), then
 * tabs for the units, the package diff, the unit actions with their diffs, and the config hits.
 */
public final class InspectView extends VBox {
    private final InspectViewModel model;

    public InspectView(InspectViewModel model) {
        this.model = model;
        createView();
    }

    private void createView() {
        setSpacing(8);
        Label status = Ui.wrap("");
        status.setId("inspect-status");
        status.textProperty().bind(model.statusProperty());

        VBox watched = Ui.slot(model.inspectionProperty(), InspectView::watched);
        VBox reboot = Ui.slot(model.comparisonProperty(), InspectView::summary);

        TableView<InspectResult.Unit> units = unitsTable();
        TableView<InspectResult.Package> packages = packagesTable();
        SplitPane actions = unitActions();
        TableView<InspectResult.ConfigHit> hits = hitsTable();

        TabPane tabs = new TabPane(new Tab("Units", units), new Tab("Packages", packages),
                new Tab("Unit actions", actions), new Tab("Configuration search", hits));
        tabs.setId("inspect-tabs");
        tabs.setTabClosingPolicy(TabPane.TabClosingPolicy.UNAVAILABLE);
        tabs.getStyleClass().add(Styles.TABS_FLOATING);
        tabs.setMinHeight(300);
        VBox.setVgrow(tabs, Priority.ALWAYS);

        getChildren().addAll(Ui.header("Inspect what would change", model.runbookStep(),
                        "Everything here was read by the engine from the built system and the running one: the units "
                                + "in etc/systemd/system, the watched services, the configuration search, the closures, "
                                + "and what switch-to-configuration would start, stop, restart or reload."),
                status, Ui.slot(model.failureProperty(), f -> Ui.failure("The inspection could not finish", f, null)),
                watched, reboot, tabs);
    }

    /** One chip per watched glob: green with the units found, red when missing. */
    private static Node watched(Inspection i) {
        FlowPane chips = new FlowPane(8, 6);
        chips.setId("watched-services");
        for (InspectResult.WatchedService w : i.watched()) {
            Label l = new Label(w.present() ? String.join(", ", w.units()) : w.glob() + " — missing",
                    new FontIcon(w.present() ? Feather.CHECK_CIRCLE : Feather.X_CIRCLE));
            l.getStyleClass().addAll("chip", w.present() ? Styles.SUCCESS : Styles.DANGER);
            if (!w.present()) {
                l.getStyleClass().add("missing");
            }
            chips.getChildren().add(l);
        }
        Label title = new Label("Watched services in the built system:");
        title.getStyleClass().add(Styles.TEXT_BOLD);
        return new VBox(4, title, chips, Ui.muted(i.system().label() + " · " + i.units().size() + " units · closure "
                + i.closure().paths() + " paths, " + Sizes.human(i.closure().bytes())));
    }

    private static Node summary(Comparison c) {
        String size = (c.bytesDelta() >= 0 ? "+" : "−") + Sizes.human(Math.abs(c.bytesDelta()));
        String text = c.packages().added().size() + " added, " + c.packages().removed().size() + " removed, "
                + c.packages().changed().size() + " changed packages; closure " + size + " ("
                + c.closureFrom().paths() + " → " + c.closureTo().paths() + " paths). " + c.units().size()
                + " unit action" + (c.units().size() == 1 ? "" : "s") + ".";
        long critical = c.units().stream().filter(u -> u.sessionCritical() != null).count();
        if (critical > 0) {
            text += " " + critical + (critical == 1 ? " of them touches" : " of them touch")
                    + " your desktop session (flagged under Unit actions).";
        }
        VBox box = new VBox(6);
        box.setId("inspect-summary");
        box.getChildren().add(Ui.wrap("From " + c.from().label() + " to " + c.to().label() + ": " + text));
        InspectResult.Reboot r = c.reboot();
        box.getChildren().add(Ui.info(r.advised() ? "Reboot advised" : "Reboot advice", r.advice(),
                r.advised() ? Feather.POWER : Feather.CHECK, r.advised() ? Styles.WARNING : Styles.SUCCESS));
        box.getChildren().get(1).setId("reboot-advice");
        return box;
    }

    private TableView<InspectResult.Unit> unitsTable() {
        TableView<InspectResult.Unit> t = new TableView<>();
        t.setId("units-table");
        t.getStyleClass().addAll(Styles.DENSE, Tweaks.EDGE_TO_EDGE, Styles.STRIPED);
        t.getColumns().add(col("Unit", 250, InspectResult.Unit::name));
        t.getColumns().add(col("Enabled by", 170, u -> String.join(", ", u.wantedBy())));
        t.getColumns().add(col("Marked", 150, u -> watchedUnits().contains(u.name()) ? "watched service"
                : u.sessionCritical() != null ? "session-critical" : ""));
        t.getColumns().add(col("ExecStart", 300, u -> String.join(" ; ", u.execStart().stream()
                .map(x -> x.replaceAll("/nix/store/[0-9a-z]{32}-", "…/")).toList())));
        t.getColumns().forEach(c -> c.setMinWidth(c.getPrefWidth() * 0.8));
        t.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        t.setRowFactory(v -> new TableRow<>() {
            @Override
            protected void updateItem(InspectResult.Unit u, boolean empty) {
                super.updateItem(u, empty);
                setGraphic(null);
                getStyleClass().removeAll("watched-row");
                if (!empty && u != null && watchedUnits().contains(u.name())) {
                    getStyleClass().add("watched-row");
                }
            }
        });
        model.inspectionProperty().addListener((o, a, i) -> t.setItems(i == null ? FXCollections.observableArrayList()
                : FXCollections.observableArrayList(i.units())));
        return t;
    }

    private Collection<String> watchedUnits() {
        Inspection i = model.inspectionProperty().get();
        return i == null ? List.of() : i.watched().stream().flatMap(w -> w.units().stream()).toList();
    }

    private TableView<InspectResult.Package> packagesTable() {
        TableView<InspectResult.Package> t = new TableView<>();
        t.setId("packages-table");
        t.getStyleClass().addAll(Styles.DENSE, Tweaks.EDGE_TO_EDGE, Styles.STRIPED);
        t.getColumns().add(col("Change", 110, p -> p.change().name().toLowerCase()));
        t.getColumns().add(col("Package", 220, InspectResult.Package::name));
        t.getColumns().add(col("Before", 160, p -> String.join(", ", p.before())));
        t.getColumns().add(col("After", 160, p -> String.join(", ", p.after())));
        t.getColumns().add(col("Size change", 120, p -> {
            long d = p.bytesAfter() - p.bytesBefore();
            return (d >= 0 ? "+" : "−") + Sizes.human(Math.abs(d));
        }));
        t.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        model.comparisonProperty().addListener((o, a, c) -> {
            if (c == null) {
                t.getItems().clear();
                return;
            }
            var all = FXCollections.<InspectResult.Package>observableArrayList();
            all.addAll(c.packages().added());
            all.addAll(c.packages().removed());
            all.addAll(c.packages().changed());
            t.setItems(all);
        });
        t.setPlaceholder(new Label("No package differs."));
        return t;
    }

    private SplitPane unitActions() {
        TableView<InspectResult.UnitAction> t = new TableView<>();
        t.setId("unit-actions");
        t.getStyleClass().addAll(Styles.DENSE, Tweaks.EDGE_TO_EDGE);
        TableColumn<InspectResult.UnitAction, String> flag = col("", 34, a -> "");
        flag.setCellFactory(c -> new TableCell<>() {
            @Override
            protected void updateItem(String s, boolean empty) {
                super.updateItem(s, empty);
                InspectResult.UnitAction a = empty ? null : getTableRow().getItem();
                setGraphic(a != null && a.sessionCritical() != null ? Ui.icon(Feather.ALERT_TRIANGLE, Styles.WARNING)
                        : null);
            }
        });
        t.getColumns().add(flag);
        t.getColumns().add(col("Action", 80, a -> a.action().name().toLowerCase()));
        t.getColumns().add(col("Unit", 230, InspectResult.UnitAction::unit));
        t.getColumns().add(col("Why", 300, a -> a.reason()
                + (a.sessionCritical() == null ? "" : " — session-critical: " + a.sessionCritical())));
        t.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        t.setPlaceholder(new Label("Switching would start, stop, restart or reload nothing."));
        StyleClassedTextArea diff = new StyleClassedTextArea();
        diff.setId("unit-diff");
        diff.setEditable(false);
        diff.getStyleClass().add("log-area");
        t.getSelectionModel().selectedItemProperty().addListener((o, a, u) -> showDiff(diff, u));
        model.comparisonProperty().addListener((o, a, c) -> {
            t.setItems(c == null ? FXCollections.observableArrayList() : FXCollections.observableArrayList(c.units()));
            if (c != null && !c.units().isEmpty()) {
                t.getSelectionModel().select(0);
            }
        });
        Label method = Ui.muted("");
        model.comparisonProperty().addListener((o, a, c) -> method.setText(c == null ? "" : c.unitMethod()));
        VBox top = new VBox(4, method, t);
        VBox.setVgrow(t, Priority.ALWAYS);
        SplitPane split = new SplitPane(top, new VirtualizedScrollPane<>(diff));
        split.setOrientation(Orientation.VERTICAL);
        split.setDividerPositions(0.45);
        return split;
    }

    /** The unit file's unified diff with added and removed lines coloured. */
    private static void showDiff(StyleClassedTextArea area, InspectResult.UnitAction u) {
        area.clear();
        if (u == null) {
            return;
        }
        String d = u.diff().isEmpty() ? "(the unit file itself is unchanged: " + u.reason() + ")" : u.diff();
        for (String line : d.split("\n", -1)) {
            String style = line.startsWith("+++") || line.startsWith("---") || line.startsWith("@@") ? "diff-header"
                    : line.startsWith("+") ? "diff-added" : line.startsWith("-") ? "diff-removed" : "";
            area.append(line + "\n", style);
        }
    }

    private TableView<InspectResult.ConfigHit> hitsTable() {
        TableView<InspectResult.ConfigHit> t = new TableView<>();
        t.setId("config-hits");
        t.getStyleClass().addAll(Styles.DENSE, Tweaks.EDGE_TO_EDGE, Styles.STRIPED);
        t.getColumns().add(col("File", 260, InspectResult.ConfigHit::file));
        t.getColumns().add(col("Line", 60, h -> Integer.toString(h.line())));
        t.getColumns().add(col("Text", 420, InspectResult.ConfigHit::text));
        t.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        model.inspectionProperty().addListener((o, a, i) -> t.setItems(i == null ? FXCollections.observableArrayList()
                : FXCollections.observableArrayList(i.configSearch().hits())));
        return t;
    }

    static <S> TableColumn<S, String> col(String name, double width, Function<S, String> value) {
        TableColumn<S, String> c = new TableColumn<>(name);
        c.setPrefWidth(width);
        c.setCellValueFactory(p -> new ReadOnlyStringWrapper(p.getValue() == null ? "" : value.apply(p.getValue())));
        return c;
    }
}
