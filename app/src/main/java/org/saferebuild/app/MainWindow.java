package org.saferebuild.app;

import atlantafx.base.theme.PrimerDark;
import atlantafx.base.theme.PrimerLight;
import atlantafx.base.theme.Styles;
import java.util.ArrayList;
import java.util.List;
import javafx.application.Application;
import javafx.beans.binding.Bindings;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.Node;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.ScrollPane;
import javafx.scene.control.Separator;
import javafx.scene.control.ToggleButton;
import javafx.scene.control.Tooltip;
import javafx.scene.input.KeyCode;
import javafx.scene.input.KeyCodeCombination;
import javafx.scene.input.KeyCombination;
import javafx.scene.input.KeyEvent;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.StackPane;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.checklist.ChecklistView;
import org.saferebuild.app.generations.GenerationsView;
import org.saferebuild.app.generations.GenerationsViewModel;
import org.saferebuild.app.history.HistoryView;
import org.saferebuild.app.history.HistoryViewModel;
import org.saferebuild.app.pending.PendingApplyBanner;
import org.saferebuild.app.pending.PendingApplyModel;
import org.saferebuild.app.trail.AuditTrailBanner;
import org.saferebuild.app.ui.Callout;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.app.trail.AuditTrailModel;
import org.saferebuild.app.step.apply.ApplyView;
import org.saferebuild.app.step.apply.ApplyViewModel;
import org.saferebuild.app.step.build.BuildView;
import org.saferebuild.app.step.build.BuildViewModel;
import org.saferebuild.app.step.inspect.InspectView;
import org.saferebuild.app.step.inspect.InspectViewModel;
import org.saferebuild.app.step.isolate.IsolateView;
import org.saferebuild.app.step.isolate.IsolateViewModel;
import org.saferebuild.app.step.signoff.SignoffView;
import org.saferebuild.app.step.signoff.SignoffViewModel;
import org.saferebuild.app.step.target.TargetView;
import org.saferebuild.app.step.target.TargetViewModel;
import org.saferebuild.app.step.verify.VerifyView;
import org.saferebuild.app.step.verify.VerifyViewModel;
import org.saferebuild.app.ui.Keys;
import org.saferebuild.app.ui.ShortcutsWindow;
import org.saferebuild.app.wizard.Step;
import org.saferebuild.app.wizard.StepModel;
import org.saferebuild.app.wizard.WizardFlow;
import org.saferebuild.app.wizard.WizardView;
import org.saferebuild.protocol.Event;

/**
 * The window's content: a header (target, Generations, History, shortcuts, engine, theme), the
 * banners (an apply from before this window; more can be added with {@link #addBanner}), the
 * wizard, and the checklist beside every screen.
 */
public final class MainWindow extends BorderPane {
    private final AppContext ctx;
    private final WizardFlow flow;
    private final StackPane center = new StackPane();
    private final VBox banners = new VBox();
    private final WizardView wizardView;
    private final List<Step> steps = new ArrayList<>();
    private final GenerationsViewModel generations;
    private final HistoryViewModel history;
    private final PendingApplyBanner pendingBanner;
    private final ToggleButton dark = new ToggleButton(null, new FontIcon(Feather.MOON));
    private final AuditTrailBanner trailBanner;
    /** The other machine this window's engine runs on (docs/remote.md); null for this machine. */
    private final String remoteDestination;
    private Node generationsPage;
    private Node historyPage;
    private Node shownPage;

    public MainWindow(AppContext ctx) {
        this.ctx = ctx;
        this.remoteDestination = ctx.client().target().map(t -> t.target().destination()).orElse(null);
        TargetViewModel target = new TargetViewModel(ctx);
        IsolateViewModel isolate = new IsolateViewModel(ctx);
        BuildViewModel build = new BuildViewModel(ctx);
        InspectViewModel inspect = new InspectViewModel(ctx);
        SignoffViewModel signoff = new SignoffViewModel(ctx, operatorName(ctx.client().welcome()));
        ApplyViewModel apply = new ApplyViewModel(ctx);
        VerifyViewModel verify = new VerifyViewModel(ctx);
        generations = new GenerationsViewModel(ctx);
        history = new HistoryViewModel(ctx);
        pendingBanner = new PendingApplyBanner(new PendingApplyModel(ctx));
        // A broken audit trail (the handshake says so): privileged actions wait for an acknowledgement.
        trailBanner = new AuditTrailBanner(new AuditTrailModel(ctx, ctx.client().welcome().auditTrail()),
                this::showHistory);
        steps.add(new Step(target, () -> new TargetView(target)));
        steps.add(new Step(isolate, () -> new IsolateView(isolate)));
        steps.add(new Step(build, () -> new BuildView(build, ctx.opener()::open)));
        steps.add(new Step(inspect, () -> new InspectView(inspect)));
        steps.add(new Step(signoff, () -> new SignoffView(signoff, ctx.checklist())));
        steps.add(new Step(apply, () -> new ApplyView(apply, ctx.opener()::open)));
        steps.add(new Step(verify, () -> new VerifyView(verify)));
        flow = new WizardFlow(steps.stream().map(Step::model).toList());
        wizardView = new WizardView(flow, steps);
        apply.setStartOver(() -> flow.returnTo(0));
        createView();
        // Changing the target sends the operator back to the first step that depends on it.
        ctx.session().targetChangesProperty().addListener((o, a, b) -> flow.returnTo(0));
        // A change of the live system: the rollback target is read again (it is evidence).
        ctx.session().systemChangesProperty().addListener((o, a, b) -> generations.refresh());
        flow.steps().get(0).entered();
        // The rollback target is evidence too: read the generations once at start.
        generations.refresh();
        // An apply from before this window opened may wait for confirmation (the app was closed).
        pendingBanner.model().check();
        // The engine gone (killed, or the ssh connection to the target ended): said above every screen.
        ctx.client().closed().thenAccept(reason -> ctx.ui().execute(() -> addBanner(connectionLost(reason))));
        sceneProperty().addListener((o, a, sc) -> {
            if (sc != null) {
                installKeys(sc);
            }
        });
    }

    /** Opens the Generations page (one-click rollback), from any screen. */
    public void showGenerations() {
        if (generationsPage == null) {
            generationsPage = new GenerationsView(generations);
        }
        generations.refresh();
        showPage(generationsPage);
    }

    public void showHistory() {
        if (historyPage == null) {
            historyPage = new HistoryView(history, ctx.opener()::open);
        }
        history.refresh();
        showPage(historyPage);
    }

    /** Back from Generations or History to the wizard where the operator left it. */
    public void showWizard() {
        shownPage = null;
        center.getChildren().setAll(wizardView);
        // What changed meanwhile (a rollback) may have cleared what this step showed: it reads it again.
        flow.currentProperty().get().entered();
    }

    public WizardFlow flow() {
        return flow;
    }

    public StepModel step(int i) {
        return flow.steps().get(i);
    }

    public WizardView wizardView() {
        return wizardView;
    }

    /** A banner above every screen (the reopened-window countdown is one). */
    public void addBanner(Node banner) {
        banners.getChildren().add(banner);
    }

    /** The banner for an engine that went away: nothing in this window can reach it any more. */
    private Callout connectionLost(String reason) {
        String where = remoteDestination != null ? remoteDestination : "this machine";
        Callout c = Ui.info("The engine is no longer reachable: " + reason,
                "Nothing in this window can act on " + where + " any more. A change that waits for confirmation"
                        + " there is reverted at its deadline by the engine itself (confirm-or-revert), without this"
                        + " window. Start Safe Rebuild again to reconnect and see what happened.",
                Feather.WIFI_OFF, Styles.DANGER);
        c.setId("connection-lost");
        return c;
    }

    private void createView() {
        getStyleClass().add("main-window");
        // On another machine, the header names it and its engine (docs/remote.md).
        var remote = ctx.client().target();
        Event.Welcome w = remote.map(t -> t.engine().welcome()).orElse(ctx.client().welcome());
        Label app = new Label("Safe Rebuild", new FontIcon(Feather.SHIELD));
        app.getStyleClass().add(Styles.TITLE_4);
        Label target = new Label();
        target.setId("header-target");
        target.getStyleClass().add(Styles.TEXT_MUTED);
        target.textProperty().bind(Bindings.createStringBinding(() ->
                ctx.session().target() == null ? "No configuration chosen yet" : ctx.session().target().shortName(),
                ctx.session().targetProperty()));
        Tooltip targetTip = new Tooltip();
        targetTip.textProperty().bind(Bindings.createStringBinding(() -> ctx.session().target() == null ? ""
                : ctx.session().target().describe(), ctx.session().targetProperty()));
        target.setTooltip(targetTip);
        Label engine = new Label((remoteDestination != null ? remoteDestination + " · " : "")
                + w.launchedVia() + " · uid " + w.euid(), new FontIcon(remote.isPresent() ? Feather.SERVER : Feather.CPU));
        engine.setId("header-engine");
        engine.getStyleClass().addAll(Styles.TEXT_SMALL, Styles.TEXT_MUTED);
        engine.setTooltip(new Tooltip("Engine " + w.engineVersion() + ", started " + switch (w.launchedVia()) {
            case "pkexec" -> "through pkexec (polkit authorized it)";
            case "sudo" -> "through sudo";
            case "ssh" -> "over ssh on " + (remoteDestination != null ? remoteDestination : "the target")
                    + "; builds and the closure copy run on this machine";
            default -> "directly, because the app itself runs as root";
        } + (w.operatorName() == null ? "" : "; operator: " + w.operatorName()) + "."));

        dark.setId("theme-toggle");
        dark.setTooltip(new Tooltip("Dark theme (Ctrl+Shift+D)"));
        dark.getStyleClass().add(Styles.BUTTON_ICON);
        dark.setSelected(isDark());
        dark.selectedProperty().addListener((o, a, b) -> Application.setUserAgentStylesheet(b
                ? new PrimerDark().getUserAgentStylesheet() : new PrimerLight().getUserAgentStylesheet()));

        Button gens = new Button("_Generations", new FontIcon(Feather.ROTATE_CCW));
        gens.setTooltip(new Tooltip("Every generation, and one-click rollback to any of them"));
        gens.setId("open-generations");
        gens.setOnAction(e -> showGenerations());
        Button hist = new Button("_History", new FontIcon(Feather.BOOK_OPEN));
        hist.setId("open-history");
        hist.setTooltip(new Tooltip("The audit trail and this run's change record"));
        hist.setOnAction(e -> showHistory());
        Button keys = new Button(null, new FontIcon(Feather.HELP_CIRCLE));
        keys.setId("open-shortcuts");
        keys.getStyleClass().add(Styles.BUTTON_ICON);
        keys.setTooltip(new Tooltip("Keyboard shortcuts (F1)"));
        keys.setOnAction(e -> ShortcutsWindow.show(getScene().getWindow()));

        Region grow = new Region();
        HBox.setHgrow(grow, Priority.ALWAYS);
        HBox header = new HBox(12, app, new Separator(javafx.geometry.Orientation.VERTICAL), target, grow,
                gens, hist, keys, engine, dark);
        header.setAlignment(Pos.CENTER_LEFT);
        for (javafx.scene.control.Control c : new javafx.scene.control.Control[] {app, gens, hist, keys, engine, dark}) {
            c.setMinWidth(Region.USE_PREF_SIZE);
        }
        target.setMinWidth(0);
        header.setPadding(new Insets(8, 14, 8, 14));
        header.getStyleClass().add("app-header");
        setTop(header);

        banners.setId("banners");
        addBanner(trailBanner);
        addBanner(pendingBanner);
        center.getChildren().add(wizardView);
        VBox.setVgrow(center, Priority.ALWAYS);
        setCenter(new VBox(banners, center));

        ScrollPane side = new ScrollPane(new ChecklistView(ctx.checklist(), operatorName(w)));
        side.setFitToWidth(true);
        side.setHbarPolicy(ScrollPane.ScrollBarPolicy.NEVER);
        side.getStyleClass().add("checklist-pane");
        side.setId("checklist-pane");
        setRight(side);
    }

    /** The window's keyboard: mnemonics that do what a click does, Enter on buttons, F1, Escape. */
    private void installKeys(Scene scene) {
        if (scene.getProperties().containsKey(MainWindow.class)) {
            return;
        }
        scene.getProperties().put(MainWindow.class, true);
        Keys.install(scene);
        scene.getAccelerators().put(new KeyCodeCombination(KeyCode.F1), () -> ShortcutsWindow.show(scene.getWindow()));
        scene.getAccelerators().put(new KeyCodeCombination(KeyCode.SLASH, KeyCombination.SHORTCUT_DOWN,
                KeyCombination.SHIFT_DOWN), () -> ShortcutsWindow.show(scene.getWindow()));
        scene.getAccelerators().put(new KeyCodeCombination(KeyCode.D, KeyCombination.SHORTCUT_DOWN,
                KeyCombination.SHIFT_DOWN), () -> dark.setSelected(!dark.isSelected()));
        scene.addEventHandler(KeyEvent.KEY_PRESSED, e -> {
            if (e.getCode() == KeyCode.ESCAPE && shownPage != null) {
                showWizard();
                e.consume();
            } else if (e.getCode() == KeyCode.ESCAPE && (pendingBanner.dismiss() || trailBanner.dismiss())) {
                e.consume();
            } else if ("?".equals(e.getText()) && e.isShortcutDown()) {
                ShortcutsWindow.show(scene.getWindow());
                e.consume();
            }
        });
    }

    /** Shows a page (Generations, History) over the wizard, with a way back. */
    public void showPage(Node page) {
        Button back = new Button("_Back to the wizard", new FontIcon(Feather.ARROW_LEFT));
        back.setId("page-back");
        back.setOnAction(e -> showWizard());
        ScrollPane scroll = new ScrollPane(page);
        scroll.setFitToWidth(true);
        scroll.setFitToHeight(true);
        scroll.setHbarPolicy(ScrollPane.ScrollBarPolicy.NEVER);
        scroll.getStyleClass().add(Styles.FLAT);
        scroll.setId("page-scroll");
        VBox box = new VBox(8, back, scroll);
        VBox.setVgrow(scroll, Priority.ALWAYS);
        box.setPadding(new Insets(12, 20, 10, 20));
        shownPage = page;
        center.getChildren().setAll(box);
    }

    static String operatorName(Event.Welcome w) {
        return w.operatorName() != null ? w.operatorName() : System.getProperty("user.name");
    }

    static boolean isDark() {
        String ua = Application.getUserAgentStylesheet();
        return ua != null && ua.contains("dark");
    }
}
