package org.saferebuild.app;

import atlantafx.base.theme.PrimerDark;
import atlantafx.base.theme.PrimerLight;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javafx.application.Application;
import javafx.application.Platform;
import javafx.geometry.Insets;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.ProgressIndicator;
import javafx.scene.layout.VBox;
import javafx.stage.Stage;
import org.saferebuild.app.checklist.ChecklistModel;
import org.saferebuild.app.client.EngineClient;
import org.saferebuild.app.client.Problems;
import org.saferebuild.app.client.UiBatcher;
import org.saferebuild.app.open.FileOpener;
import org.saferebuild.app.open.FileViewer;
import org.saferebuild.app.session.RunSession;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.Event;

/** The operator's wizard: starts the engine in the background, then shows the runbook's steps. */
public final class SafeRebuildApp extends Application {
    private final ExecutorService background = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "app-background");
        t.setDaemon(true);
        return t;
    });
    private EngineClient client;
    private MainWindow window;

    @Override
    public void start(Stage stage) {
        AppSettings settings;
        try {
            settings = AppSettings.parse(getParameters().getRaw());
        } catch (IllegalArgumentException e) {
            System.err.println("safe-rebuild: " + e.getMessage());
            Platform.exit();
            return;
        }
        setUserAgentStylesheet(settings.dark() ? new PrimerDark().getUserAgentStylesheet()
                : new PrimerLight().getUserAgentStylesheet());
        Path home = Path.of(System.getProperty("user.home"), ".cache", "safe-rebuild");
        Path engineLog = home.resolve("engine.log");
        try {
            Files.createDirectories(home);
        } catch (IOException e) {
            // the engine then logs nowhere; the app still works
        }

        AppPrefs prefs = new AppPrefs(AppPrefs.defaultFile());
        double[] size = prefs.windowSize();
        ProgressIndicator spinner = new ProgressIndicator();
        Label starting = new Label("Starting the engine…");
        VBox splash = new VBox(14, spinner, starting);
        splash.setAlignment(javafx.geometry.Pos.CENTER);
        Scene scene = new Scene(splash, size[0], size[1]);
        scene.getStylesheets().add(Objects.requireNonNull(
                SafeRebuildApp.class.getResource("/org/saferebuild/app/app.css")).toExternalForm());
        stage.setTitle("Safe Rebuild");
        stage.setScene(scene);
        stage.setMinWidth(800);
        stage.setMinHeight(560);
        stage.setOnHidden(e -> prefs.rememberWindowSize(scene.getWidth(), scene.getHeight()));
        stage.show();

        background.execute(() -> {
            try {
                // Direct when the app runs as root (the demo, CI), else pkexec, else sudo -n (issue 6).
                var choice = org.saferebuild.app.launch.EngineLaunchers.choose(settings.engineConfig(),
                        engineLog.toFile());
                EngineClient c = EngineClient.connect(choice.launcher(), Duration.ofSeconds(120));
                if (settings.target() != null) {
                    // Another machine is being changed: its engine over ssh (docs/remote.md).
                    Platform.runLater(() -> starting.setText("Connecting to " + settings.target().destination() + "…"));
                    try {
                        c.useTarget(org.saferebuild.app.client.RemoteTarget.connect(settings.target(),
                                settings.useSubstitutes(), home.resolve("engine-" + settings.target().host() + ".log")
                                        .toFile(), Duration.ofSeconds(120)));
                    } catch (Exception e) {
                        c.close();
                        throw e;
                    }
                }
                Platform.runLater(() -> showWizard(stage, scene, settings, c, home, prefs));
            } catch (Exception e) {
                Event.Failure f = Problems.of(e);
                Platform.runLater(() -> {
                    Button quit = new Button("Quit");
                    quit.setOnAction(x -> Platform.exit());
                    VBox box = new VBox(14, Ui.failure("The engine could not be started", f,
                            "The engine's log is " + engineLog + "."), quit);
                    box.setPadding(new Insets(40));
                    scene.setRoot(box);
                });
            }
        });
    }

    private void showWizard(Stage stage, Scene scene, AppSettings settings, EngineClient c, Path home,
                            AppPrefs prefs) {
        client = c;
        FileOpener[] opener = new FileOpener[1];
        opener[0] = new FileOpener(FileOpener.pathFromEnvironment(), background, Platform::runLater,
                (file, why) -> FileViewer.show(stage, file, why, background,
                        opener[0].hasDesktopViewer() ? () -> opener[0].openWithDesktop(file) : null));
        AppContext ctx = new AppContext(c, background, Platform::runLater, new UiBatcher(Platform::runLater),
                new RunSession(), new ChecklistModel(), settings.configDirs(), settings.plan(), home.resolve("logs"),
                opener[0], prefs);
        window = new MainWindow(ctx);
        scene.setRoot(window);
        if (settings.target() != null) {
            stage.setTitle("Safe Rebuild — changing " + settings.target().destination() + " (built on this machine)");
        }
        c.closed().thenAccept(reason -> Platform.runLater(() -> stage.setTitle("Safe Rebuild — engine stopped: "
                + reason)));
    }

    @Override
    public void stop() {
        if (client != null) {
            client.close();
            try {
                client.awaitExit(Duration.ofSeconds(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        background.shutdownNow();
    }
}
