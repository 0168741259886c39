package org.saferebuild.app.generations;

import atlantafx.base.theme.Styles;
import atlantafx.base.theme.Tweaks;
import java.util.function.Function;
import javafx.beans.binding.Bindings;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.geometry.Pos;
import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.layout.HBox;
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
        table.getColumns().add(col("Date", 150, g -> shortDate(g.date())));
        table.getColumns().add(col("NixOS", 190, g -> nz(g.nixosVersion())));
        table.getColumns().add(col("Kernel", 80, g -> nz(g.kernelVersion())));
        table.getColumns().add(col("Status", 210, GenerationsView::markers));
        table.getColumns().add(col("On disk", 100, g -> !g.onDisk() ? "missing" : g.closureComplete() ? "complete"
                : "incomplete"));
        table.getColumns().add(col("Closure", 90, g -> g.closureBytes() == null ? "" : Sizes.human(
                g.closureBytes())));
        table.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        table.setPrefHeight(260);
        table.getSelectionModel().selectedItemProperty().addListener((o, a, b) -> model.select(b));

        Button rollback = new Button("", new FontIcon(Feather.ROTATE_CCW));
        rollback.setId("rollback-propose");
        rollback.getStyleClass().add(Styles.ACCENT);
        rollback.textProperty().bind(Bindings.createStringBinding(() -> model.selectedProperty().get() == null
                ? "Roll back to the selected generation"
                : "_Roll back to generation " + model.selectedProperty().get().number(), model.selectedProperty()));
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
        Button refresh = new Button("R_efresh", new FontIcon(Feather.REFRESH_CW));
        refresh.setOnAction(e -> model.refresh());
        HBox actions = new HBox(8, rollback, pin, unpin, refresh);
        actions.setAlignment(Pos.CENTER_LEFT);

        Label status = Ui.wrap("");
        status.setId("generations-status");
        status.textProperty().bind(model.statusProperty());

        Label profile = Ui.muted("");
        profile.textProperty().bind(Bindings.createStringBinding(() -> model.listProperty().get() == null ? ""
                : "System profile " + model.listProperty().get().profile() + "; running "
                + model.listProperty().get().runningSystem(), model.listProperty()));

        getChildren().addAll(Ui.header("Generations", "Emergency Rollback",
                        "Every generation of the system profile, as the engine reads it. Select one and roll back: "
                                + "you see what it changes and confirm with a button that names the generation. Pin a "
                                + "generation to keep it from garbage collection."),
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
        Button boot = new Button("Make generation " + g.number() + " the _boot default", new FontIcon(Feather.POWER));
        boot.setId("rollback-boot");
        boot.disableProperty().bind(model.busyProperty());
        boot.setOnAction(e -> model.confirmRollback(true));
        Button keep = new Button("_Keep the current generation");
        keep.setId("rollback-cancel");
        keep.setOnAction(e -> model.cancelRollback());
        VBox preview = Ui.slot(model.previewProperty(), GenerationsView::preview);
        VBox box = new VBox(8, Ui.section("Roll back to generation " + g.number() + " (" + shortDate(g.date()) + ")"), preview,
                new HBox(8, now, boot, keep));
        box.setId("rollback-confirmation");
        return box;
    }

    private static Node preview(InspectResult.Comparison c) {
        StringBuilder sb = new StringBuilder();
        var p = c.packages();
        sb.append(p.added().size()).append(" packages added, ").append(p.removed().size()).append(" removed, ")
                .append(p.changed().size()).append(" changed.");
        p.changed().stream().limit(8).forEach(x -> sb.append("\n  ").append(x.name()).append(": ")
                .append(String.join(",", x.before())).append(" → ").append(String.join(",", x.after())));
        for (InspectResult.UnitAction a : c.units()) {
            sb.append("\nwould ").append(a.action().name().toLowerCase()).append(' ').append(a.unit())
                    .append(a.sessionCritical() == null ? "" : "  (session-critical: " + a.sessionCritical() + ")");
        }
        if (c.reboot().advised()) {
            sb.append("\n").append(c.reboot().advice());
        }
        Label l = Ui.wrap("From " + c.from().label() + " to " + c.to().label() + ": " + sb);
        l.setId("rollback-preview");
        return l;
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

    /** 2026-11-25T19:45:28.13Z → 2026-11-25 19:45 (UTC). */
    static String shortDate(String iso) {
        if (iso == null) {
            return "";
        }
        return iso.length() >= 16 ? iso.substring(0, 10) + " " + iso.substring(11, 16) : iso;
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
