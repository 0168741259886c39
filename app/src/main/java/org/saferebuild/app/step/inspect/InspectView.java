package org.saferebuild.app.step.inspect;

import atlantafx.base.theme.Styles;
import atlantafx.base.theme.Tweaks;
import java.util.Collection;
import java.util.List;
import java.util.function.Function;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.FXCollections;
import javafx.geometry.Orientation;
import javafx.geometry.Pos;
import javafx.scene.Node;
import javafx.scene.control.Label;
import javafx.scene.control.SplitPane;
import javafx.scene.control.Tab;
import javafx.scene.control.TabPane;
import javafx.scene.control.TableCell;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableRow;
import javafx.scene.control.TableView;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import org.fxmisc.flowless.VirtualizedScrollPane;
import org.fxmisc.richtext.StyleClassedTextArea;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.changes.PackageChanges;
import org.saferebuild.app.changes.PackageChangesView;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.InspectResult.Comparison;
import org.saferebuild.protocol.InspectResult.Inspection;
import org.saferebuild.protocol.Sizes;

/**
 * The Inspect screen: watched services and reboot advice first (what the operator fears), one
 * sentence on what would change, then tabs for the units, every package that differs (nvd's
 * way), the unit actions beside their diffs, and the configuration search.
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

        FlowPane facts = new FlowPane(8, 6);
        facts.setId("inspect-facts");
        Runnable fill = () -> {
            facts.getChildren().clear();
            if (model.inspectionProperty().get() != null) {
                facts.getChildren().addAll(watched(model.inspectionProperty().get()));
            }
            if (model.comparisonProperty().get() != null) {
                facts.getChildren().add(reboot(model.comparisonProperty().get().reboot()));
            }
        };
        model.inspectionProperty().addListener((o, a, b) -> fill.run());
        model.comparisonProperty().addListener((o, a, b) -> fill.run());
        fill.run();
        VBox summary = Ui.slot(model.comparisonProperty(), InspectView::summary);

        PackageChangesView packages = new PackageChangesView();
        packages.setId("packages-table");
        model.comparisonProperty().addListener((o, a, c) -> packages.show(c));

        TabPane tabs = new TabPane(new Tab("Units", unitsTable()), new Tab("Packages", packages),
                new Tab("Unit actions", unitActions()), new Tab("Configuration search", hitsTable()));
        tabs.setId("inspect-tabs");
        tabs.setTabClosingPolicy(TabPane.TabClosingPolicy.UNAVAILABLE);
        tabs.setMinHeight(260);
        VBox.setVgrow(tabs, Priority.ALWAYS);

        getChildren().addAll(Ui.header("Inspect what would change", model.runbookStep(),
                        "What the built system contains, and what switching to it would change on this machine.",
                        "Everything here was read by the engine from the built system and the running one: the units "
                                + "in etc/systemd/system, the watched services, the configuration search through etc/,"
                                + " the two closures (packages compared as nvd does), and what switch-to-configuration"
                                + " would start, stop, restart or reload (its dry-activate where the running system"
                                + " is compared)."),
                status, Ui.slot(model.failureProperty(), f -> Ui.failure("The inspection could not finish", f, null)),
                facts, summary, tabs);
    }

    /** One chip per watched glob: green with the units found, red when missing. */
    private static List<Node> watched(Inspection i) {
        return i.watched().stream().map(w -> {
            Label l = new Label(w.present() ? String.join(", ", w.units()) : w.glob() + " — missing",
                    new FontIcon(w.present() ? Feather.CHECK_CIRCLE : Feather.X_CIRCLE));
            l.getStyleClass().addAll("chip", w.present() ? Styles.SUCCESS : Styles.DANGER);
            l.setTooltip(new Tooltip("Watched: " + w.glob()));
            if (!w.present()) {
                l.getStyleClass().add("missing");
            }
            l.setId("watched-" + w.glob().replaceAll("[^A-Za-z0-9]", "_"));
            return (Node) l;
        }).toList();
    }

    /** The reboot advice as one chip; the items that differ on hover. */
    private static Node reboot(InspectResult.Reboot r) {
        Label l = new Label(r.advised() ? "Reboot advised" : "No reboot needed",
                new FontIcon(r.advised() ? Feather.POWER : Feather.CHECK));
        l.getStyleClass().addAll("chip", r.advised() ? Styles.WARNING : Styles.SUCCESS);
        l.setId("reboot-advice");
        Tooltip t = new Tooltip(r.advice());
        t.setWrapText(true);
        t.setMaxWidth(480);
        l.setTooltip(t);
        return l;
    }

    private static Node summary(Comparison c) {
        String size = (c.bytesDelta() >= 0 ? "+" : "−") + Sizes.human(Math.abs(c.bytesDelta()));
        String text = "From " + c.from().label() + " to the " + c.to().label() + ": "
                + PackageChanges.of(c.packages()).summary() + "; closure " + size + " (" + c.closureFrom().paths()
                + " → " + c.closureTo().paths() + " paths). " + c.units().size() + " unit action"
                + (c.units().size() == 1 ? "" : "s");
        long critical = c.units().stream().filter(u -> u.sessionCritical() != null).count();
        text += critical > 0 ? ", " + critical + (critical == 1 ? " of them touches" : " of them touch")
                + " your desktop session." : ".";
        VBox box = new VBox(4, Ui.wrap(text));
        if (c.reboot().advised()) {
            box.getChildren().add(Ui.info("Reboot advised", c.reboot().advice(), Feather.POWER, Styles.WARNING));
        }
        box.setId("inspect-summary");
        box.setMinHeight(Region.USE_PREF_SIZE);
        return box;
    }

    private TableView<InspectResult.Unit> unitsTable() {
        TableView<InspectResult.Unit> t = new TableView<>();
        t.setId("units-table");
        t.getStyleClass().addAll(Styles.DENSE, Tweaks.EDGE_TO_EDGE, Styles.STRIPED);
        t.getColumns().add(col("Unit", 230, InspectResult.Unit::name));
        t.getColumns().add(col("Enabled by", 150, u -> String.join(", ", u.wantedBy())));
        t.getColumns().add(col("Marked", 130, u -> watchedUnits().contains(u.name()) ? "watched service"
                : u.sessionCritical() != null ? "session-critical" : ""));
        t.getColumns().add(col("ExecStart", 260, u -> String.join(" ; ", u.execStart().stream()
                .map(Ui::shortenStorePaths).toList())));
        t.getColumns().forEach(c -> c.setMinWidth(Math.min(c.getPrefWidth(), 110)));
        t.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        t.setRowFactory(v -> new TableRow<>() {
            @Override
            protected void updateItem(InspectResult.Unit u, boolean empty) {
                super.updateItem(u, empty);
                getStyleClass().removeAll("watched-row");
                setTooltip(null);
                if (!empty && u != null) {
                    if (watchedUnits().contains(u.name())) {
                        getStyleClass().add("watched-row");
                    }
                    if (!u.execStart().isEmpty()) {
                        setTooltip(new Tooltip(String.join("\n", u.execStart())));
                    }
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

    /** The actions on the left, the selected one's reason and unit-file diff on the right. */
    private SplitPane unitActions() {
        TableView<InspectResult.UnitAction> t = new TableView<>();
        t.setId("unit-actions");
        t.getStyleClass().addAll(Styles.DENSE, Tweaks.EDGE_TO_EDGE);
        TableColumn<InspectResult.UnitAction, String> flag = col("", 30, a -> "");
        flag.setCellFactory(c -> new TableCell<>() {
            @Override
            protected void updateItem(String s, boolean empty) {
                super.updateItem(s, empty);
                InspectResult.UnitAction a = empty ? null : getTableRow().getItem();
                setGraphic(a != null && a.sessionCritical() != null ? Ui.icon(Feather.ALERT_TRIANGLE, Styles.WARNING)
                        : null);
            }
        });
        flag.setMinWidth(30);
        t.getColumns().add(flag);
        t.getColumns().add(col("Action", 80, a -> a.action().name().toLowerCase()));
        t.getColumns().add(col("Unit", 200, InspectResult.UnitAction::unit));
        t.getColumns().get(1).setMinWidth(70);
        t.getColumns().get(2).setMinWidth(120);
        t.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        t.setPlaceholder(new Label("Switching would start, stop, restart or reload nothing."));
        StyleClassedTextArea diff = new StyleClassedTextArea();
        diff.setId("unit-diff");
        diff.setEditable(false);
        diff.getStyleClass().add("log-area");
        Label why = Ui.wrap("");
        why.setId("unit-action-why");
        t.getSelectionModel().selectedItemProperty().addListener((o, a, u) -> {
            why.setText(u == null ? "" : u.unit() + ": " + u.reason()
                    + (u.sessionCritical() == null ? "" : " Session-critical: " + u.sessionCritical()));
            showDiff(diff, u);
        });
        model.comparisonProperty().addListener((o, a, c) -> {
            t.setItems(c == null ? FXCollections.observableArrayList() : FXCollections.observableArrayList(c.units()));
            if (c != null && !c.units().isEmpty()) {
                t.getSelectionModel().select(0);
            }
        });
        Label method = Ui.muted("");
        method.setId("unit-method");
        model.comparisonProperty().addListener((o, a, c) -> method.setText(c == null ? "" : c.unitMethod()));
        VirtualizedScrollPane<StyleClassedTextArea> diffPane = new VirtualizedScrollPane<>(diff);
        VBox.setVgrow(diffPane, Priority.ALWAYS);
        VBox right = new VBox(6, why, diffPane);
        VBox left = new VBox(4, t, new org.saferebuild.app.ui.Disclosure("How these were found", method));
        VBox.setVgrow(t, Priority.ALWAYS);
        left.setAlignment(Pos.TOP_LEFT);
        SplitPane split = new SplitPane(left, right);
        split.setOrientation(Orientation.HORIZONTAL);
        split.setDividerPositions(0.42);
        return split;
    }

    /** The unit file's unified diff with added and removed lines coloured. */
    private static void showDiff(StyleClassedTextArea area, InspectResult.UnitAction u) {
        area.clear();
        if (u == null) {
            return;
        }
        String d = u.diff().isEmpty() ? "(the unit file itself is unchanged)" : u.diff();
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
        t.getColumns().add(col("File", 240, InspectResult.ConfigHit::file));
        t.getColumns().add(col("Line", 60, h -> Integer.toString(h.line())));
        t.getColumns().add(col("Text", 400, h -> Ui.shortenStorePaths(h.text())));
        t.getColumns().forEach(c -> c.setMinWidth(Math.min(c.getPrefWidth(), 60)));
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
