package org.saferebuild.app.generations;

import atlantafx.base.theme.Styles;
import atlantafx.base.theme.Tweaks;
import java.util.function.Function;
import javafx.beans.binding.Bindings;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.Sizes;
import org.saferebuild.protocol.SystemResult.Generation;

/** The Generations page: the table, "Roll back to generation N" with its comparison, pin and unpin. */
public final class GenerationsView extends VBox {
    private final GenerationsViewModel model;

    public GenerationsView(GenerationsViewModel model) {
        this.model = model;
        setSpacing(8);
        TableView<Generation> table = new TableView<>(model.generations());
        table.setId("generations-table");
        table.getStyleClass().addAll(Styles.DENSE, Tweaks.EDGE_TO_EDGE, Styles.STRIPED);
        table.getColumns().add(col("#", 50, g -> Integer.toString(g.number())));
        table.getColumns().add(col("Date", 170, g -> org.saferebuild.app.ui.Times.local(g.date())));
        table.getColumns().add(col("NixOS", 190, g -> nz(g.nixosVersion())));
        table.getColumns().add(col("Kernel", 80, g -> nz(g.kernelVersion())));
        table.getColumns().add(col("Status", 210, GenerationsView::markers));
        table.getColumns().add(col("On disk", 100, g -> !g.onDisk() ? "missing" : g.closureComplete() ? "complete"
                : "incomplete"));
        table.getColumns().add(col("Closure", 90, g -> g.closureBytes() == null ? "" : Sizes.human(
                g.closureBytes())));
        table.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        // As tall as its rows (up to eight), so the rollback's comparison below stays in view.
        table.prefHeightProperty().bind(Bindings.createDoubleBinding(() -> (double) Math.max(120, Math.min(260,
                36 + 28 * model.generations().size())), model.generations()));
        table.setMinHeight(120);
        table.getColumns().forEach(c -> c.setMinWidth(Math.min(c.getPrefWidth(), 70)));
        table.getSelectionModel().selectedItemProperty().addListener((o, a, b) -> model.select(b));

        Button rollback = new Button("", new FontIcon(Feather.ROTATE_CCW));
        rollback.setId("rollback-propose");
        rollback.getStyleClass().add(Styles.ACCENT);
        rollback.textProperty().bind(Bindings.createStringBinding(() -> model.selectedProperty().get() == null
                ? "Roll back to the selected generation"
                : "Ro_ll back to generation " + model.selectedProperty().get().number(), model.selectedProperty()));
        rollback.disableProperty().bind(model.selectedProperty().isNull().or(model.busyProperty()));
        rollback.setOnAction(e -> model.proposeRollback());
        Button pin = new Button("_Pin", new FontIcon(Feather.BOOKMARK));
        pin.setId("generation-pin");
        pin.disableProperty().bind(model.selectedProperty().isNull().or(model.busyProperty()));
        pin.setOnAction(e -> model.pin(true));
        Button unpin = new Button("_Unpin", new FontIcon(Feather.X));
        unpin.setId("generation-unpin");
        unpin.disableProperty().bind(model.selectedProperty().isNull().or(model.busyProperty()));
        unpin.setOnAction(e -> model.pin(false));
        Button refresh = new Button("R_ead the generations again", new FontIcon(Feather.REFRESH_CW));
        refresh.setOnAction(e -> model.refresh());
        javafx.scene.layout.FlowPane actions = new javafx.scene.layout.FlowPane(8, 8, rollback, pin, unpin, refresh);
        for (Button b : new Button[] {rollback, pin, unpin, refresh}) {
            b.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        }

        Label status = Ui.wrap("");
        status.setId("generations-status");
        status.textProperty().bind(model.statusProperty());

        Label profile = Ui.muted("");
        profile.textProperty().bind(Bindings.createStringBinding(() -> model.listProperty().get() == null ? ""
                : "System profile " + model.listProperty().get().profile() + "; running "
                + Ui.storeName(model.listProperty().get().runningSystem()), model.listProperty()));

        getChildren().addAll(Ui.header("Generations", "Emergency Rollback",
                        "Select a generation and roll back: you see what it changes before you confirm.",
                        "Every generation of the system profile, as the engine reads it: current is the boot"
                                + " default, running is what runs now, booted what the machine booted. A rollback"
                                + " first compares the running system with the generation (every package, as nvd"
                                + " shows it, and the units it would start, stop, restart or reload), then asks with"
                                + " buttons that name the generation. Pin keeps a generation from garbage"
                                + " collection."),
                profile, table, actions, status,
                Ui.slot(model.failureProperty(), f -> Ui.failure("The engine refused", f, null)),
                Ui.slot(model.proposedProperty(), this::confirmation));
    }

    /** The comparison and the two named actions, shown after "Roll back to generation N". */
    private Node confirmation(Generation g) {
        Button now = new Button("_Switch to generation " + g.number() + " now", new FontIcon(Feather.ROTATE_CCW));
        now.setId("rollback-confirm");
        now.getStyleClass().add(Styles.DANGER);
        now.disableProperty().bind(model.busyProperty());
        now.setOnAction(e -> model.confirmRollback(false));
        Button boot = new Button("Make generation " + g.number() + " the boot _default", new FontIcon(Feather.POWER));
        boot.setId("rollback-boot");
        boot.disableProperty().bind(model.busyProperty());
        boot.setOnAction(e -> model.confirmRollback(true));
        Button keep = new Button("Keep the _current generation");
        keep.setId("rollback-cancel");
        keep.setOnAction(e -> model.cancelRollback());
        // The decision first (what it changes in one sentence, the three buttons), the details below.
        VBox sentence = Ui.slot(model.previewProperty(), GenerationsView::sentence);
        VBox preview = Ui.slot(model.previewProperty(), GenerationsView::preview);
        javafx.scene.layout.FlowPane buttons = new javafx.scene.layout.FlowPane(8, 8, now, boot, keep);
        for (Button b : new Button[] {now, boot, keep}) {
            b.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        }
        VBox box = new VBox(8, Ui.section("Roll back to generation " + g.number() + " ("
                + org.saferebuild.app.ui.Times.local(g.date()) + ")"), sentence, buttons, preview);
        box.setId("rollback-confirmation");
        return box;
    }

    /** What the rollback changes, in one sentence. */
    private static Node sentence(InspectResult.Comparison c) {
        org.saferebuild.app.changes.PackageChanges p = org.saferebuild.app.changes.PackageChanges.of(c.packages());
        String size = (c.bytesDelta() >= 0 ? "+" : "−") + Sizes.human(Math.abs(c.bytesDelta()));
        Label l = Ui.wrap("From the " + c.from().label() + " to " + c.to().label() + ": " + p.summary() + "; closure "
                + size + ". " + c.units().size() + " unit action" + (c.units().size() == 1 ? "" : "s")
                + (c.reboot().advised() ? ". " + c.reboot().advice() : "."));
        l.setId("rollback-preview");
        return l;
    }

    /** Every package (nvd's way) and the unit actions. */
    private static Node preview(InspectResult.Comparison c) {
        org.saferebuild.app.changes.PackageChangesView packages = new org.saferebuild.app.changes.PackageChangesView();
        packages.setId("rollback-packages");
        packages.show(c);
        packages.setPrefHeight(200);
        packages.setMinHeight(140);
        VBox box = new VBox(6, packages);
        if (!c.units().isEmpty()) {
            StringBuilder sb = new StringBuilder();
            for (InspectResult.UnitAction a : c.units()) {
                sb.append(sb.length() == 0 ? "" : "\n").append(a.action().name().toLowerCase()).append(' ')
                        .append(a.unit()).append(a.sessionCritical() == null ? ""
                                : "  (session-critical: " + a.sessionCritical() + ")");
            }
            box.getChildren().add(new org.saferebuild.app.ui.Disclosure("The unit actions", Ui.muted(sb.toString())));
        }
        return box;
    }

    /** "current · running · booted · pinned", the markers nixos-rebuild list-generations shows. */
    static String markers(Generation g) {
        java.util.List<String> m = new java.util.ArrayList<>();
        if (g.current()) {
            m.add("current");
        }
        if (g.running()) {
            m.add("running");
        }
        if (g.booted()) {
            m.add("booted");
        }
        if (g.pinned()) {
            m.add("pinned");
        }
        return String.join(" · ", m);
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }

    static <S> TableColumn<S, String> col(String name, double width, Function<S, String> value) {
        TableColumn<S, String> c = new TableColumn<>(name);
        c.setPrefWidth(width);
        c.setCellValueFactory(p -> new ReadOnlyStringWrapper(p.getValue() == null ? "" : value.apply(p.getValue())));
        return c;
    }
}
