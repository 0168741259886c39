package org.saferebuild.app.step.build;

import atlantafx.base.theme.Styles;
import atlantafx.base.theme.Tweaks;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import javafx.animation.KeyFrame;
import javafx.animation.Timeline;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.collections.ListChangeListener;
import javafx.geometry.Pos;
import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.ProgressBar;
import javafx.scene.control.SplitPane;
import javafx.scene.control.Tab;
import javafx.scene.control.TabPane;
import javafx.scene.control.TreeItem;
import javafx.scene.control.TreeTableCell;
import javafx.scene.control.TreeTableColumn;
import javafx.scene.control.TreeTableView;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import javafx.util.Duration;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.log.LogView;
import org.saferebuild.app.step.isolate.IsolateViewModel;
import org.saferebuild.app.ui.Callout;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.NixEvent;
import org.saferebuild.protocol.NixResult;

/**
 * The Build screen, like nix-output-monitor: the counts (built of planned, building, failed,
 * downloads) and the elapsed time; a live tree of the derivations (the system at the root, each
 * derivation under the one that needs it) with their state, phase and time; the failed one's log
 * tail one click away; and the log.
 */
public final class BuildView extends VBox {
    private final BuildViewModel model;
    private final Label elapsed = new Label();
    private final TreeTableView<Derivation> tree = new TreeTableView<>();
    private final TabPane tabs = new TabPane();
    private final Tab treeTab = new Tab("Derivations");
    private final Timeline clock = new Timeline(new KeyFrame(Duration.seconds(1), e -> tick()));
    private final Map<String, TreeItem<Derivation>> items = new HashMap<>();
    private final SplitPane treeSplit = new SplitPane();

    public BuildView(BuildViewModel model, Consumer<java.nio.file.Path> opener) {
        this.model = model;
        createView(opener);
    }

    private void createView(Consumer<java.nio.file.Path> opener) {
        setSpacing(8);
        Button validate = new Button("_Validate the configuration", new FontIcon(Feather.CHECK_SQUARE));
        validate.setId("build-validate");
        validate.disableProperty().bind(model.busyProperty());
        validate.setOnAction(e -> model.validate());
        Button build = new Button("B_uild the system", new FontIcon(Feather.PACKAGE));
        build.setId("build-start");
        build.getStyleClass().add(Styles.ACCENT);
        build.setDefaultButton(true);
        Ui.focusWhenEnabled(build);
        build.disableProperty().bind(model.busyProperty().or(model.validationProperty().isNull()));
        build.setOnAction(e -> model.build());
        Button cancel = new Button("_Cancel the build", new FontIcon(Feather.X_CIRCLE));
        cancel.setId("build-cancel");
        cancel.getStyleClass().add(Styles.DANGER);
        cancel.disableProperty().bind(model.busyProperty().not());
        cancel.setOnAction(e -> model.cancel());
        FlowPane actions = new FlowPane(8, 8, validate, build, cancel);
        for (Button b : new Button[] {validate, build, cancel}) {
            b.setMinWidth(Region.USE_PREF_SIZE);
        }

        Label status = Ui.wrap("");
        status.setId("build-status");
        status.textProperty().bind(model.statusProperty());

        ProgressBar bar = new ProgressBar(0);
        bar.setId("build-progress");
        bar.setPrefWidth(200);
        bar.setMinWidth(120);
        Label counts = new Label("");
        counts.setId("build-counts");
        counts.setMinWidth(0);
        model.progressProperty().addListener((o, a, p) -> {
            bar.setProgress(p == null || p.planned() == 0 ? 0 : (double) p.done() / p.planned());
            counts.setText(BuildViewModel.counts(p));
        });
        // Validation has no derivation counts: only its time shows.
        Ui.showWhen(bar, model.progressProperty().isNotNull());
        model.busyProperty().addListener((o, a, b) -> {
            if (b) {
                clock.play();
            } else {
                clock.stop();
                tick();
            }
        });
        clock.setCycleCount(Timeline.INDEFINITE);
        elapsed.setId("build-elapsed");
        elapsed.getStyleClass().add(Styles.TEXT_MUTED);
        elapsed.setMinWidth(Region.USE_PREF_SIZE);
        HBox progressRow = new HBox(12, bar, counts, elapsed);
        progressRow.setAlignment(Pos.CENTER_LEFT);
        Ui.showWhen(progressRow, model.startedAtProperty().isNotNull());

        VBox summary = Ui.slot(model.validationProperty(), v -> validationSummary(v, model));
        // Once built, the result replaces the validation summary, and so does a failure: one box, not two.
        summary.visibleProperty().bind(model.builtProperty().isNull().and(model.failureProperty().isNull()));
        summary.managedProperty().bind(summary.visibleProperty());
        VBox result = Ui.slot(model.builtProperty(), b -> Ui.info("Built " + Ui.storeName(b.storePath()),
                "Kept as the engine's GC root, so no garbage collection removes it before you apply it.",
                Feather.CHECK_CIRCLE, Styles.SUCCESS)
                .setDetails("Where it is", b.storePath() + "\nGC root: " + b.gcRoot() + "\nThe engine's copy of the"
                        + " full log: " + b.logFile() + " (the app's own copy opens with Open full log)."));
        result.setId("build-result");
        Button showTail = new Button("Show its log _tail", new FontIcon(Feather.LIST));
        showTail.setId("build-show-tail");
        showTail.setOnAction(e -> showFailed());
        VBox failure = Ui.slot(model.failureProperty(), f -> {
            Callout c = Ui.failure(switch (f.code()) {
                case EVALUATION_FAILED -> "The configuration does not evaluate";
                case NO_SPACE -> "The build hit \"No space left on device\"";
                default -> "The build did not finish";
            }, f, IsolateViewModel.commonIssue(f.code()));
            if (model.failedDerivationProperty().get() != null) {
                c.setActions(showTail);
            }
            return c;
        });

        // The tree, like nix-output-monitor's.
        tree.setId("build-tree");
        tree.setShowRoot(true);
        tree.getStyleClass().addAll(Styles.DENSE, Tweaks.EDGE_TO_EDGE);
        TreeTableColumn<Derivation, NixEvent.DerivationState> name = new TreeTableColumn<>("Derivation");
        name.setPrefWidth(360);
        name.setCellValueFactory(p -> p.getValue().getValue() == null ? new ReadOnlyObjectWrapper<>()
                : p.getValue().getValue().stateProperty());
        name.setCellFactory(c -> new NameCell());
        TreeTableColumn<Derivation, String> state = text("State", 90, d -> switch (d.state()) {
            case WAITING -> d.download() ? "to download" : "waiting";
            case BUILDING -> "building";
            case DONE -> "built";
            case FAILED -> "failed" + (d.stateProperty().get().exitCode() == null ? ""
                    : " (exit " + d.stateProperty().get().exitCode() + ")");
            case DOWNLOADING -> "downloading";
            case DOWNLOADED -> "downloaded";
        });
        TreeTableColumn<Derivation, String> phase = text("Phase", 130, d -> d.stateProperty().get().phase() == null
                || d.state() != NixEvent.State.BUILDING ? "" : d.stateProperty().get().phase());
        TreeTableColumn<Derivation, String> time = text("Time", 80, d -> d.time(System.currentTimeMillis()));
        tree.getColumns().addAll(java.util.List.of(name, state, phase, time));
        tree.getColumns().forEach(c -> c.setMinWidth(Math.min(c.getPrefWidth(), 80)));
        tree.setColumnResizePolicy(TreeTableView.CONSTRAINED_RESIZE_POLICY_ALL_COLUMNS);
        tree.setPlaceholder(new Label("The derivations appear here when the build starts."));
        model.derivations().addListener((ListChangeListener<Derivation>) c -> rebuildTree());

        Label detailTitle = Ui.section("");
        Label detail = Ui.muted("Select a derivation for its state and, when it failed, the last lines of its log.");
        detail.setId("build-derivation-detail");
        detail.getStyleClass().add("mono");
        tree.getSelectionModel().selectedItemProperty().addListener((o, a, item) -> {
            Derivation d = item == null ? null : item.getValue();
            detailTitle.setText(d == null ? "" : d.name());
            detail.setText(d == null ? "" : detail(d));
        });
        VBox detailBox = new VBox(2, detailTitle, detail);
        javafx.scene.control.ScrollPane detailScroll = new javafx.scene.control.ScrollPane(detailBox);
        detailScroll.setFitToWidth(true);
        detailScroll.getStyleClass().add(Styles.FLAT);
        treeSplit.getItems().setAll(tree, detailScroll);
        treeSplit.setOrientation(javafx.geometry.Orientation.VERTICAL);
        treeSplit.setDividerPositions(0.68);
        treeTab.setContent(treeSplit);
        treeTab.setId("build-tab-tree");
        model.failedDerivationProperty().addListener((o, a, d) -> {
            if (d != null) {
                showFailed();
            }
        });

        LogView logView = new LogView(model.log());
        logView.setOpener(opener);
        logView.setId("build-log");
        Tab logTab = new Tab("Log", logView);
        logTab.setId("build-tab-log");
        tabs.getTabs().setAll(treeTab, logTab);
        tabs.setId("build-tabs");
        tabs.setTabClosingPolicy(TabPane.TabClosingPolicy.UNAVAILABLE);
        tabs.setMinHeight(300);
        VBox.setVgrow(tabs, Priority.ALWAYS);
        // Evaluation errors have no derivations: the log is where they are.
        model.failureProperty().addListener((o, a, f) -> {
            if (f != null && model.derivations().isEmpty()) {
                tabs.getSelectionModel().select(logTab);
            }
        });
        model.startedAtProperty().addListener((o, a, b) -> {
            if (b != null && model.busyProperty().get() && !model.derivations().isEmpty()) {
                tabs.getSelectionModel().select(treeTab);
            }
        });
        model.treeRootProperty().addListener((o, a, b) -> {
            if (b != null) {
                tabs.getSelectionModel().select(treeTab);
            }
        });

        getChildren().addAll(
                Ui.header("Validate and build", model.runbookStep(),
                        "Nix evaluates and builds the configuration inside the isolated environment; nothing is"
                                + " activated.",
                        "Validation evaluates the configuration and asks Nix what a build would do (nix-store --realise"
                                + " --dry-run): what it builds, what it downloads, what needs the network. The build"
                                + " runs nix build --log-format internal-json in the sandbox's chroot; the tree shows"
                                + " each derivation as Nix reports it. The result is kept as a GC root of the engine,"
                                + " never as a 'result' link in a directory that is about to be removed."),
                actions, status, progressRow, summary, failure, result, tabs);
    }

    private static TreeTableColumn<Derivation, String> text(String title, double width,
                                                            java.util.function.Function<Derivation, String> value) {
        TreeTableColumn<Derivation, String> c = new TreeTableColumn<>(title);
        c.setPrefWidth(width);
        c.setCellValueFactory(p -> {
            Derivation d = p.getValue().getValue();
            if (d == null) {
                return new ReadOnlyObjectWrapper<>("");
            }
            return javafx.beans.binding.Bindings.createStringBinding(() -> value.apply(d), d.stateProperty());
        });
        return c;
    }

    /** Its state in words, with the failed derivation's last log lines. */
    static String detail(Derivation d) {
        NixEvent.DerivationState s = d.stateProperty().get();
        StringBuilder b = new StringBuilder(d.path());
        b.append('\n').append(switch (s.state()) {
            case WAITING -> d.download() ? "To be downloaded." : "Waiting for what it needs.";
            case BUILDING -> "Building" + (s.phase() == null ? "" : ", " + s.phase()) + ", for "
                    + d.time(System.currentTimeMillis()) + ".";
            case DONE -> "Built" + (s.millis() == null ? "." : " in " + d.time(0) + ".");
            case FAILED -> "Failed" + (s.exitCode() == null ? "" : " with exit code " + s.exitCode())
                    + (s.millis() == null ? "." : " after " + d.time(0) + ".");
            case DOWNLOADING -> "Downloading.";
            case DOWNLOADED -> "Downloaded.";
        });
        if (!d.inputs().isEmpty()) {
            b.append(" Needs ").append(d.inputs().size()).append(" of the planned derivations.");
        }
        if (!s.tail().isEmpty()) {
            b.append("\n\nThe last lines of its log:\n").append(String.join("\n", s.tail()));
        }
        return b.toString();
    }

    /** The failed derivation, selected in the tree with its log tail below it. */
    private void showFailed() {
        Derivation d = model.failedDerivationProperty().get();
        if (d == null) {
            return;
        }
        tabs.getSelectionModel().select(treeTab);
        treeSplit.setDividerPositions(0.4); // room for the log tail below the tree
        TreeItem<Derivation> item = items.get(d.path());
        if (item != null) {
            for (TreeItem<Derivation> p = item.getParent(); p != null; p = p.getParent()) {
                p.setExpanded(true);
            }
            tree.getSelectionModel().select(item);
            int row = tree.getRow(item);
            if (row >= 0) {
                tree.scrollTo(Math.max(0, row - 2));
            }
        }
    }

    /**
     * The system's derivation at the root and each planned derivation under the first one (in
     * breadth-first order) that needs it, as nix-output-monitor draws it; downloads and anything
     * the plan did not name come last, under the root.
     */
    private void rebuildTree() {
        items.clear();
        if (model.derivations().isEmpty()) {
            tree.setRoot(null);
            return;
        }
        String rootPath = model.treeRootProperty().get();
        Derivation rootDrv = rootPath == null ? null : model.derivation(rootPath);
        TreeItem<Derivation> root = new TreeItem<>(rootDrv);
        root.setExpanded(true);
        Set<String> placed = new HashSet<>();
        if (rootDrv != null) {
            items.put(rootDrv.path(), root);
            placed.add(rootDrv.path());
            Deque<TreeItem<Derivation>> queue = new ArrayDeque<>();
            queue.add(root);
            while (!queue.isEmpty()) {
                TreeItem<Derivation> parent = queue.removeFirst();
                for (String input : parent.getValue().inputs()) {
                    Derivation child = model.derivation(input);
                    if (child != null && placed.add(input)) {
                        TreeItem<Derivation> item = new TreeItem<>(child);
                        item.setExpanded(true);
                        items.put(input, item);
                        parent.getChildren().add(item);
                        queue.add(item);
                    }
                }
            }
        }
        for (Derivation d : model.derivations()) {
            if (placed.add(d.path())) {
                TreeItem<Derivation> item = new TreeItem<>(d);
                items.put(d.path(), item);
                root.getChildren().add(item);
            }
        }
        tree.setShowRoot(rootDrv != null);
        tree.setRoot(root);
    }

    private void tick() {
        String e = model.elapsed(Instant.now());
        elapsed.setText(e.isEmpty() ? "" : "elapsed " + e);
        if (model.busyProperty().get()) {
            tree.refresh(); // the running derivations' times
        }
    }

    private static Node validationSummary(NixResult.Validation v, BuildViewModel model) {
        StringBuilder sb = new StringBuilder();
        sb.append(v.systemName()).append(": ").append(v.toBuild().size()).append(" to build, ")
                .append(v.toFetch().size()).append(" to download");
        if (v.downloadMiB() != null) {
            sb.append(String.format(" (%.1f MiB)", v.downloadMiB()));
        }
        sb.append('.');
        for (NixResult.Download d : v.needsNetwork()) {
            sb.append("\nNeeds the network: ").append(d.name()).append(d.url() == null ? "" : " from " + d.url());
        }
        for (String w : v.warnings()) {
            sb.append("\nWarning: ").append(w);
        }
        boolean trouble = !v.needsNetwork().isEmpty() && v.networkIsolated();
        Callout c = Ui.info(trouble ? "Valid, but the build needs the network" : "The configuration is valid",
                sb.toString(), trouble ? Feather.ALERT_TRIANGLE : Feather.CHECK, trouble ? Styles.WARNING : null);
        c.setId("build-validation");
        c.setDetails("What was evaluated", v.configDir() + (v.host() == null ? "" : "#" + v.host())
                + " (Nix sees the directory as /etc/nixos inside the sandbox: " + v.installable() + "), in "
                + v.evalMillis() + " ms; the dry build took " + v.dryRunMillis() + " ms.");
        return c;
    }

    /** The derivation's name with an icon for its state (a new state is a new value: the cell redraws). */
    private static final class NameCell extends TreeTableCell<Derivation, NixEvent.DerivationState> {
        @Override
        protected void updateItem(NixEvent.DerivationState s, boolean empty) {
            super.updateItem(s, empty);
            if (empty || s == null) {
                setText(null);
                setGraphic(null);
                return;
            }
            Derivation d = getTableRow() == null ? null : getTableRow().getItem();
            boolean download = d != null && d.download();
            setText(s.name());
            setGraphic(switch (s.state()) {
                case WAITING -> Ui.icon(download ? Feather.DOWNLOAD : Feather.CLOCK, Styles.TEXT_MUTED);
                case BUILDING -> Ui.icon(Feather.PLAY_CIRCLE, Styles.ACCENT);
                case DONE, DOWNLOADED -> Ui.icon(Feather.CHECK_CIRCLE, Styles.SUCCESS);
                case FAILED -> Ui.icon(Feather.X_CIRCLE, Styles.DANGER);
                case DOWNLOADING -> Ui.icon(Feather.DOWNLOAD_CLOUD, Styles.ACCENT);
            });
        }
    }
}
