package org.saferebuild.app.step.isolate;

import atlantafx.base.theme.Styles;
import atlantafx.base.theme.Tweaks;
import java.util.HashMap;
import java.util.Map;
import javafx.animation.KeyFrame;
import javafx.animation.Timeline;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.ListChangeListener;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.TreeItem;
import javafx.scene.control.TreeTableColumn;
import javafx.scene.control.TreeTableView;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import javafx.util.Duration;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.SandboxResult.Mount;

/** The Isolate screen: the live mount tree, refreshed from the kernel while it is shown. */
public final class IsolateView extends VBox {
    private final IsolateViewModel model;
    private final TreeTableView<Mount> tree = new TreeTableView<>();
    private final Timeline live = new Timeline(new KeyFrame(Duration.seconds(3), e -> refreshIfOpen()));

    public IsolateView(IsolateViewModel model) {
        this.model = model;
        createView();
        initListeners();
    }

    private void createView() {
        setSpacing(6);
        tree.setId("mount-tree");
        tree.setShowRoot(false);
        tree.getStyleClass().addAll(Tweaks.EDGE_TO_EDGE, Styles.DENSE);
        tree.setColumnResizePolicy(TreeTableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        tree.getColumns().add(column("Mount point", 230, m -> m.mountPoint()));
        tree.getColumns().add(column("Source", 220, m -> m.source() + ("/".equals(m.root()) ? "" : " [" + m.root() + "]")));
        tree.getColumns().add(column("Type", 80, Mount::fsType));
        tree.getColumns().add(column("Access", 90, m -> m.readOnly() ? "read-only" : "read-write"));
        tree.getColumns().add(column("Propagation", 110, Mount::propagation));
        // Headers must be readable in full: a column is never narrower than its title.
        tree.getColumns().forEach(c -> c.setMinWidth(c.getPrefWidth() * 0.7));
        tree.setPlaceholder(new Label("No mounts yet."));
        tree.setMinHeight(220);
        Ui.grow(tree);

        Button open = new Button("_Open the isolated environment", new FontIcon(Feather.SHIELD));
        open.setId("sandbox-open");
        open.getStyleClass().add(Styles.ACCENT);
        open.setDefaultButton(true);
        Ui.focusWhenEnabled(open);
        open.disableProperty().bind(model.busyProperty().or(model.openedProperty().isNotNull()));
        open.setOnAction(e -> model.open());
        Button refresh = new Button("Re_ad the mounts again", new FontIcon(Feather.REFRESH_CW));
        refresh.setId("sandbox-refresh");
        refresh.disableProperty().bind(model.openedProperty().isNull());
        refresh.setOnAction(e -> model.refresh());
        Button close = new Button("C_lose the isolated environment", new FontIcon(Feather.X_SQUARE));
        close.setId("sandbox-close");
        close.disableProperty().bind(model.openedProperty().isNull().or(model.busyProperty()));
        close.setOnAction(e -> model.close());
        javafx.scene.layout.FlowPane actions = new javafx.scene.layout.FlowPane(8, 8, open, refresh, close);
        actions.setAlignment(Pos.CENTER_LEFT);
        for (Button b : new Button[] {open, refresh, close}) {
            b.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        }

        Label status = Ui.wrap("");
        status.setId("sandbox-status");
        status.textProperty().bind(model.statusProperty());
        Label when = Ui.muted("");
        when.textProperty().bind(model.refreshedAtProperty());

        getChildren().addAll(
                Ui.header("Isolate the build", model.runbookStep(),
                        "The build runs in its own namespaces; none of these mounts appears in this machine's mount"
                                + " table.",
                        "The engine starts a holder process in new mount and PID namespaces (unshare --mount --pid "
                                + "--fork, with --net when the network is isolated) and makes the bind mounts inside "
                                + "it. The tree below is read from the kernel (/proc/<holder>/mountinfo) every few "
                                + "seconds: what is really mounted, not what the engine meant to mount. When the "
                                + "holder ends, the kernel drops every mount with it."),
                actions, status,
                Ui.slot(model.failureProperty(), f -> Ui.failure("The isolated environment could not be opened", f,
                        IsolateViewModel.commonIssue(f.code()))),
                new HBox(10, Ui.section("Mount tree inside the sandbox"), when), tree);
    }

    private static TreeTableColumn<Mount, String> column(String name, double width,
                                                         java.util.function.Function<Mount, String> value) {
        TreeTableColumn<Mount, String> c = new TreeTableColumn<>(name);
        c.setPrefWidth(width);
        c.setCellValueFactory(p -> new ReadOnlyStringWrapper(p.getValue().getValue() == null ? ""
                : value.apply(p.getValue().getValue())));
        return c;
    }

    private void initListeners() {
        model.mounts().addListener((ListChangeListener<Mount>) c -> rebuild());
        rebuild();
        live.setCycleCount(Timeline.INDEFINITE);
        sceneProperty().addListener((o, a, b) -> {
            if (b != null) {
                live.play();
            } else {
                live.stop();
            }
        });
    }

    private void refreshIfOpen() {
        if (model.openedProperty().get() != null && !model.busyProperty().get()) {
            model.refresh();
        }
    }

    /** Nests each mount under its parent mount (parentId), as findmnt shows them. */
    private void rebuild() {
        TreeItem<Mount> root = new TreeItem<>();
        Map<Integer, TreeItem<Mount>> byId = new HashMap<>();
        for (Mount m : model.mounts()) {
            TreeItem<Mount> item = new TreeItem<>(m);
            item.setExpanded(true);
            byId.put(m.mountId(), item);
        }
        for (Mount m : model.mounts()) {
            TreeItem<Mount> parent = byId.get(m.parentId());
            (parent == null || parent.getValue() == m ? root : parent).getChildren().add(byId.get(m.mountId()));
        }
        tree.setRoot(root);
    }
}
