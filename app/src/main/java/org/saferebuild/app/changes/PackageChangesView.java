package org.saferebuild.app.changes;

import atlantafx.base.theme.Styles;
import atlantafx.base.theme.Tweaks;
import java.util.function.Function;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.scene.control.Label;
import javafx.scene.control.TreeItem;
import javafx.scene.control.TreeTableColumn;
import javafx.scene.control.TreeTableView;
import org.saferebuild.protocol.InspectResult;

/**
 * Every package that differs, grouped as nvd groups them — version changes, added, removed — and
 * the paths that are not packages apart, collapsed. Used by Inspect and by the rollback preview.
 */
public final class PackageChangesView extends TreeTableView<PackageChangesView.Row> {
    /** A group heading or a package. */
    public record Row(String group, InspectResult.Package pkg) {
    }

    public PackageChangesView() {
        getStyleClass().addAll(Styles.DENSE, Tweaks.EDGE_TO_EDGE);
        // The first column also holds the group headings ("Units and generated files (2)").
        getColumns().add(col("Package", 320, r -> r.pkg() == null ? r.group()
                : "[" + PackageChanges.letter(r.pkg()) + "] " + r.pkg().name()));
        getColumns().add(col("Before", 110, r -> r.pkg() == null ? "" : PackageChanges.versions(r.pkg().before())));
        getColumns().add(col("After", 110, r -> r.pkg() == null ? "" : PackageChanges.versions(r.pkg().after())));
        getColumns().add(col("Size", 240, r -> r.pkg() == null ? "" : PackageChanges.size(r.pkg())));
        getColumns().forEach(c -> c.setMinWidth(Math.min(c.getPrefWidth(), 90)));
        setColumnResizePolicy(TreeTableView.CONSTRAINED_RESIZE_POLICY_ALL_COLUMNS);
        setShowRoot(false);
        setPlaceholder(new Label("No package differs."));
    }

    /** Shows a comparison's packages (null: nothing). */
    public void show(InspectResult.Comparison c) {
        if (c == null) {
            setRoot(null);
            return;
        }
        PackageChanges changes = PackageChanges.of(c.packages());
        TreeItem<Row> root = new TreeItem<>();
        for (PackageChanges.Group g : changes.groups()) {
            if (g.rows().isEmpty()) {
                continue;
            }
            TreeItem<Row> group = new TreeItem<>(new Row(g.title(), null));
            group.setExpanded(g.packages());
            for (InspectResult.Package p : g.rows()) {
                group.getChildren().add(new TreeItem<>(new Row(g.title(), p)));
            }
            root.getChildren().add(group);
        }
        setRoot(root);
    }

    /** The package rows shown (expanded or not), for tests and the screen reader. */
    public java.util.List<Row> rows() {
        java.util.List<Row> out = new java.util.ArrayList<>();
        if (getRoot() != null) {
            for (TreeItem<Row> g : getRoot().getChildren()) {
                g.getChildren().forEach(i -> out.add(i.getValue()));
            }
        }
        return out;
    }

    private static TreeTableColumn<Row, String> col(String title, double width, Function<Row, String> value) {
        TreeTableColumn<Row, String> c = new TreeTableColumn<>(title);
        c.setPrefWidth(width);
        c.setCellValueFactory(p -> new ReadOnlyStringWrapper(p.getValue().getValue() == null ? ""
                : value.apply(p.getValue().getValue())));
        return c;
    }
}
