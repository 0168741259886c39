package org.saferebuild.app.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import javafx.application.Platform;
import javafx.scene.Node;
import javafx.scene.Scene;
import javafx.stage.Stage;
import org.saferebuild.app.AppContext;
import org.saferebuild.app.MainWindow;
import org.saferebuild.app.checklist.ChecklistModel;
import org.saferebuild.app.client.EngineClient;
import org.saferebuild.app.client.UiBatcher;
import org.saferebuild.app.launch.DirectLauncher;
import org.saferebuild.app.session.RunSession;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.protocol.EngineCommand;
import org.testfx.api.FxRobot;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

/**
 * The real wizard on a real demo system with the real engine: the demo is installed in a private
 * root 0700 directory, the engine is started directly (the tests run as root), and the window is
 * shown on the Xvfb display the tests run under.
 */
public final class WizardHarness implements AutoCloseable {
    /** The window every test and screenshot uses: the smallest the app promises to fit (issue 12). */
    public static final int WIDTH = 1280;
    public static final int HEIGHT = 800;
    private final DemoSystem demo;
    private final EngineClient client;
    private final ExecutorService background = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-background");
        t.setDaemon(true);
        return t;
    });
    private final FxRobot robot = new FxRobot();
    private final Path base;
    private MainWindow window;
    private Stage stage;

    private final Path engineLog;
    private final List<String> configDirs;

    private WizardHarness(Path base, DemoSystem demo, EngineClient client, Path engineLog, List<String> configDirs) {
        this.base = base;
        this.demo = demo;
        this.client = client;
        this.engineLog = engineLog;
        this.configDirs = List.copyOf(configDirs);
    }

    /** A private directory like the engine tests': root-only, and never removed over a mount. */
    public static Path privateBase() throws IOException {
        // Root's 0700 temp dir, removed at JVM exit only if nothing is mounted below it.
        return org.saferebuild.engine.testing.EngineHarness.privateBase();
    }

    /** Installs a demo system in {@code base}/demo (once per test class is enough). */
    public static DemoSystem installDemo(Path base) throws IOException {
        return DemoSystem.install(base.resolve("demo"));
    }

    public static WizardHarness start(Path base, DemoSystem demo) throws Exception {
        return start(base, demo, EngineCommand.fromClassPath(demo.settingsFile()),
                demo.configDirs().stream().map(Path::toString).toList());
    }

    /**
     * The wizard on an engine started by {@code engineCommand} (the systemd test machine's, through
     * nsenter), offering {@code configDirs}; {@link #demo()} is null.
     */
    public static WizardHarness start(Path base, List<String> engineCommand, List<String> configDirs)
            throws Exception {
        return start(base, null, engineCommand, configDirs);
    }

    private static WizardHarness start(Path base, DemoSystem demo, List<String> engineCommand,
                                       List<String> configDirs) throws Exception {
        Path engineLog = base.resolve("engine-" + System.nanoTime() + ".log");
        EngineClient client = EngineClient.connect(new DirectLauncher(engineCommand, engineLog.toFile()),
                Duration.ofSeconds(60));
        return start(base, demo, client, engineLog, configDirs);
    }

    /**
     * The wizard on a client the test connected itself: for another machine as the target, the
     * client has its RemoteTarget (docs/remote.md); {@code demo} is the target's demo system.
     */
    public static WizardHarness start(Path base, DemoSystem demo, EngineClient client, Path engineLog,
                                      List<String> configDirs) throws Exception {
        WizardHarness h = new WizardHarness(base, demo, client, engineLog, configDirs);
        h.show();
        return h;
    }

    private void show() throws Exception {
        FxToolkit.registerPrimaryStage();
        List<String> dirs = configDirs;
        // No xdg-open on the search path: a file the operator opens is shown in the app's own viewer.
        org.saferebuild.app.open.FileOpener[] opener = new org.saferebuild.app.open.FileOpener[1];
        opener[0] = new org.saferebuild.app.open.FileOpener(List.of(), background, Platform::runLater,
                (file, why) -> org.saferebuild.app.open.FileViewer.show(stage, file, why, background, null));
        AppContext ctx = new AppContext(client, background, Platform::runLater, new UiBatcher(Platform::runLater),
                new RunSession(), new ChecklistModel(), dirs, "debian-test", base.resolve("logs"), opener[0],
                org.saferebuild.app.AppPrefs.inMemory());
        stage = FxToolkit.setupStage(s -> { });
        FxToolkit.setupFixture(() -> {
            window = new MainWindow(ctx);
            Scene scene = new Scene(window, WIDTH, HEIGHT);
            scene.getStylesheets().add(Objects.requireNonNull(
                    MainWindow.class.getResource("/org/saferebuild/app/app.css")).toExternalForm());
            stage.setScene(scene);
            stage.setTitle("Safe Rebuild");
            stage.show();
            stage.toFront();
        });
        if (javafx.application.Application.getUserAgentStylesheet() == null) {
            FxToolkit.setupFixture(() -> javafx.application.Application.setUserAgentStylesheet(
                    new atlantafx.base.theme.PrimerLight().getUserAgentStylesheet()));
        }
    }

    public FxRobot robot() {
        return robot;
    }

    public MainWindow window() {
        return window;
    }

    public DemoSystem demo() {
        return demo;
    }

    public EngineClient client() {
        return client;
    }

    public Stage stage() {
        return stage;
    }

    /** The node with this CSS id, waiting up to 10 s for it to appear. */
    public <T extends Node> T node(String id) throws TimeoutException {
        waitFor("#" + id + " to appear", Duration.ofSeconds(10),
                () -> robot.lookup("#" + id).tryQuery().isPresent());
        return robot.lookup("#" + id).query();
    }

    /** Waits for what the operator would see; the message says what did not happen. */
    public void waitFor(String what, Duration timeout, BooleanSupplier condition) throws TimeoutException {
        try {
            WaitForAsyncUtils.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS, () -> onFx(condition::getAsBoolean));
        } catch (TimeoutException e) {
            // What the operator would have seen at that moment, for whoever reads the failure.
            try {
                Path shot = Path.of("target", "failure-" + System.currentTimeMillis() + ".png").toAbsolutePath();
                Screenshots.save(stage.getScene(), shot);
                throw new TimeoutException("waited " + timeout.toSeconds() + " s for " + what + " (screen: " + shot + "; "
                        + onFx(this::describe) + ")" + engineLogTail());
            } catch (TimeoutException t) {
                throw t;
            } catch (Exception shotFailed) {
                throw new TimeoutException("waited " + timeout.toSeconds() + " s for " + what);
            }
        }
    }

    /**
     * Where the wizard stands, in words, for a failure message that CI prints without the
     * screenshot: the step, whether Next is enabled, the focus owner, and the status lines shown.
     */
    private String describe() {
        StringBuilder b = new StringBuilder();
        if (window != null) {
            b.append("step: ").append(window.flow().currentProperty().get().title());
            b.append(", next enabled: ").append(window.flow().canAdvanceProperty().get());
        }
        Scene scene = stage.getScene();
        b.append(", window focused: ").append(stage.isFocused());
        b.append(", focus: ").append(scene == null || scene.getFocusOwner() == null ? "none"
                : scene.getFocusOwner().getClass().getSimpleName() + "#" + scene.getFocusOwner().getId());
        if (scene != null) {
            for (Node n : scene.getRoot().lookupAll(".label")) {
                if (n.getId() != null && n.getId().endsWith("status") && n.isVisible()
                        && n instanceof javafx.scene.control.Label l && !l.getText().isBlank()) {
                    b.append(", ").append(n.getId()).append(": \"").append(l.getText()).append('"');
                }
            }
        }
        return b.toString();
    }

    /** The engine's last log lines (its stderr), for a failure message. */
    private String engineLogTail() {
        try {
            List<String> lines = java.nio.file.Files.readAllLines(engineLog);
            return "\nengine log, last lines:\n  " + String.join("\n  ", lines.subList(Math.max(0, lines.size() - 8),
                    lines.size()));
        } catch (IOException | RuntimeException e) {
            return "\n(no engine log: " + e + ")";
        }
    }

    public <T> T onFx(java.util.concurrent.Callable<T> c) throws Exception {
        return WaitForAsyncUtils.asyncFx(c).get(20, TimeUnit.SECONDS);
    }

    public void click(String id) throws Exception {
        Node n = node(id);
        reveal(n);
        waitFor("#" + id + " to be enabled", Duration.ofSeconds(10), () -> !n.isDisabled());
        robot.clickOn(n);
    }

    /**
     * Target: chooses {@code configDir} and waits until the preflight passed for it and the header
     * names it.
     */
    public void chooseConfig(String configDir) throws Exception {
        javafx.scene.control.ComboBox<String> dir = node("config-dir");
        onFx(() -> {
            dir.setValue(configDir);
            return null;
        });
        javafx.scene.control.Label preflight = node("preflight-status");
        javafx.scene.control.Label header = node("header-target");
        waitFor("the preflight of " + configDir, Duration.ofSeconds(90),
                () -> preflight.getText().equals("Everything the runbook needs is in place.")
                        && header.getTooltip() != null && header.getTooltip().getText().startsWith(configDir));
    }

    /** From Target: Next, then Isolate until the sandbox is open. Returns Next (enabled). */
    public javafx.scene.control.Button isolate() throws Exception {
        javafx.scene.control.Button next = node("wizard-next");
        robot.clickOn(next);
        waitFor("the sandbox to open", Duration.ofSeconds(60), () -> !next.isDisabled());
        return next;
    }

    /**
     * On Build: waits for the configuration to validate, builds it, and waits until Next may be
     * pressed. Returns the built system's store path.
     */
    public String build() throws Exception {
        javafx.scene.control.Label status = node("build-status");
        waitFor("validation", Duration.ofMinutes(3), () -> status.getText().startsWith("Valid: "));
        click("build-start");
        waitFor("the build", Duration.ofMinutes(5), () -> status.getText().startsWith("Built "));
        javafx.scene.control.Button next = node("wizard-next");
        waitFor("Next after the build", Duration.ofSeconds(10), () -> !next.isDisabled());
        return onFx(() -> ((org.saferebuild.app.step.build.BuildViewModel) window.step(2)).builtProperty().get()
                .storePath());
    }

    /** Clicks the header of the shown tab titled {@code title}, as the operator would. */
    public void clickTab(String title) throws Exception {
        waitFor("the tab " + title, Duration.ofSeconds(10), () -> robot.lookup(".tab-label")
                .match(n -> n instanceof javafx.scene.control.Label l && title.equals(l.getText())
                        && org.saferebuild.app.ui.Keys.shown(n)).tryQuery().isPresent());
        robot.clickOn(robot.lookup(".tab-label").match(n -> n instanceof javafx.scene.control.Label l
                && title.equals(l.getText()) && org.saferebuild.app.ui.Keys.shown(n)).queryAs(javafx.scene.Node.class));
        WaitForAsyncUtils.waitForFxEvents();
    }

    /** Scrolls the enclosing scroll pane so the operator can see {@code n}, as they would with the wheel. */
    public void reveal(Node n) throws Exception {
        onFx(() -> {
            for (Node p = n.getParent(); p != null; p = p.getParent()) {
                if (p instanceof javafx.scene.control.ScrollPane sp) {
                    double h = sp.getContent().getBoundsInLocal().getHeight();
                    double y = sp.getContent().sceneToLocal(n.localToScene(0, 0)).getY();
                    double view = sp.getViewportBounds().getHeight();
                    sp.setVvalue(h <= view ? 0 : Math.max(0, Math.min(1, (y - view / 2) / (h - view))));
                    sp.layout();
                    break;
                }
            }
            return null;
        });
        WaitForAsyncUtils.waitForFxEvents();
    }

    /**
     * A screen the operator sees: checked for controls outside the window and titles cut short
     * ({@link LayoutCheck}), and saved as a PNG at the screen's scale when {@code -Dscreenshots=DIR}
     * is set (docs/screenshots).
     */
    public void screenshot(String name) throws Exception {
        capture(stage, name);
        List<String> keys = onFx(() -> KeyCheck.problems(stage.getScene(), place()));
        org.assertj.core.api.Assertions.assertThat(keys).as("screen %s: every Alt shortcut is one action, listed in"
                + " the shortcuts window", name).isEmpty();
    }

    /** Saves and checks another window of the app (the shortcuts window, the file viewer). */
    public void screenshot(javafx.stage.Window other, String name) throws Exception {
        capture(other, name);
    }

    private void capture(javafx.stage.Window window, String name) throws Exception {
        WaitForAsyncUtils.waitForFxEvents();
        Thread.sleep(150); // a pulse for the last layout pass
        WaitForAsyncUtils.waitForFxEvents();
        String dir = System.getProperty("screenshots");
        if (dir != null) {
            Screenshots.save(window.getScene(), Path.of(dir).resolve(name + ".png"));
        }
        List<String> problems = onFx(() -> LayoutCheck.problems(window.getScene()));
        org.assertj.core.api.Assertions.assertThat(problems).as("%s at %.0fx%.0f (scale %.0f) fits its window", name,
                window.getScene().getWidth(), window.getScene().getHeight(), window.getOutputScaleX()).isEmpty();
    }

    /** Where the operator is, as the shortcuts window names it ("Build", "Generations", …). */
    public String place() {
        javafx.scene.Scene sc = stage.getScene();
        if (sc.lookup("#generations-table") != null && org.saferebuild.app.ui.Keys.shown(sc.lookup("#generations-table"))) {
            return "Generations";
        }
        if (sc.lookup("#audit-table") != null && org.saferebuild.app.ui.Keys.shown(sc.lookup("#audit-table"))) {
            return "History";
        }
        return window.flow().currentProperty().get().title();
    }

    /** Clicks the step list's row {@code i} (0: Target), as the operator would. */
    public void goToStep(int i) throws Exception {
        java.util.concurrent.atomic.AtomicReference<javafx.geometry.Point2D> row = new java.util.concurrent.atomic.AtomicReference<>();
        waitFor("the step list's row " + (i + 1), Duration.ofSeconds(10), () -> {
            robot.lookup(".list-cell").match(n -> n instanceof javafx.scene.control.ListCell<?> c
                    && c.getIndex() == i && c.getItem() != null && c.isVisible()).tryQuery().ifPresent(c -> {
                        javafx.geometry.Bounds b = c.localToScreen(c.getBoundsInLocal());
                        row.set(new javafx.geometry.Point2D(b.getCenterX(), b.getCenterY()));
                    });
            return row.get() != null;
        });
        robot.clickOn(row.get());
        waitFor("step " + (i + 1), Duration.ofSeconds(10), () -> window.flow().indexProperty().get() == i);
    }

    /** Ends the session like the app does: the engine closes its sandboxes and exits. */
    @Override
    public void close() throws Exception {
        client.close();
        client.awaitExit(Duration.ofSeconds(60));
        FxToolkit.cleanupStages();
        background.shutdownNow();
    }
}
