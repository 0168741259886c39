package org.saferebuild.app.step.build;

import atlantafx.base.theme.Styles;
import java.time.Instant;
import java.util.stream.Collectors;
import javafx.animation.KeyFrame;
import javafx.animation.Timeline;
import javafx.beans.binding.Bindings;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.ProgressBar;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import javafx.util.Duration;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.log.LogView;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.NixEvent;
import org.saferebuild.protocol.NixResult;

/** The Build screen: validation summary, progress (done of planned, current build and phase, time), log. */
public final class BuildView extends VBox {
    private final BuildViewModel model;
    private final Label elapsed = new Label();
    private final Timeline clock = new Timeline(new KeyFrame(Duration.seconds(1), e -> tick()));

    public BuildView(BuildViewModel model, java.util.function.Consumer<java.nio.file.Path> opener) {
        this.model = model;
        createView(opener);
    }

    private void createView(java.util.function.Consumer<java.nio.file.Path> opener) {
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
        HBox actions = new HBox(8, validate, build, cancel);
        actions.setAlignment(Pos.CENTER_LEFT);

        Label status = Ui.wrap("");
        status.setId("build-status");
        status.textProperty().bind(model.statusProperty());

        ProgressBar bar = new ProgressBar(0);
        bar.setId("build-progress");
        bar.setPrefWidth(320);
        Label counts = new Label("");
        counts.setId("build-counts");
        Label current = Ui.muted("");
        current.setId("build-current");
        model.progressProperty().addListener((o, a, p) -> {
            if (p == null) {
                bar.setProgress(0);
                counts.setText("");
                current.setText("");
                return;
            }
            bar.setProgress(p.planned() == 0 ? 0 : (double) p.done() / p.planned());
            counts.setText(p.done() + " of " + p.planned() + " derivations built · " + p.running() + " running"
                    + (p.failed() > 0 ? " · " + p.failed() + " failed" : "")
                    + (p.fetchPlanned() > 0 ? " · " + p.fetchDone() + " of " + p.fetchPlanned() + " fetched" : ""));
            current.setText(p.active().isEmpty() ? "" : "Now: " + p.active().stream()
                    .map(a1 -> a1.name() + (a1.phase() == null ? "" : " (" + a1.phase() + ")"))
                    .collect(Collectors.joining(", ")));
        });
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
        HBox progressRow = new HBox(12, bar, counts, elapsed);
        progressRow.setAlignment(Pos.CENTER_LEFT);

        VBox summary = Ui.slot(model.validationProperty(), BuildView::validationSummary);
        // Once built, the result replaces the validation summary, and so does a failure: one box, not two.
        summary.visibleProperty().bind(model.builtProperty().isNull().and(model.failureProperty().isNull()));
        summary.managedProperty().bind(summary.visibleProperty());
        VBox result = Ui.slot(model.builtProperty(), b -> Ui.info("Built " + Ui.storeName(b.storePath()),
                b.storePath() + "\nKept as the engine's GC root; the engine's own copy of the full log is "
                        + b.logFile() + ".", Feather.CHECK_CIRCLE, Styles.SUCCESS));
        result.setId("build-result");
        VBox failure = Ui.slot(model.failureProperty(), f -> Ui.failure(
                switch (f.code()) {
                    case EVALUATION_FAILED -> "The configuration does not evaluate";
                    case NO_SPACE -> "The build ran out of disk space";
                    default -> "The build did not finish";
                }, f, org.saferebuild.app.step.isolate.IsolateViewModel.commonIssue(f.code())));

        LogView logView = new LogView(model.log());
        logView.setOpener(opener);
        logView.setId("build-log");
        logView.setMinHeight(240);
        VBox.setVgrow(logView, Priority.ALWAYS);

        // Details scroll above the log; the divider lets the operator give the log more room.
        VBox details = new VBox(8, status, progressRow, current, summary, failure, result);
        javafx.scene.control.ScrollPane detailsPane = new javafx.scene.control.ScrollPane(details);
        detailsPane.setFitToWidth(true);
        detailsPane.getStyleClass().add(Styles.FLAT);
        javafx.scene.control.SplitPane split = new javafx.scene.control.SplitPane(detailsPane, logView);
        split.setOrientation(javafx.geometry.Orientation.VERTICAL);
        split.setDividerPositions(0.36);
        logView.setMinHeight(120);
        VBox.setVgrow(split, Priority.ALWAYS);
        getChildren().addAll(
                Ui.header("Validate and build", model.runbookStep(),
                        "Nix evaluates and builds the configuration inside the isolated environment (nothing is "
                                + "activated). The result is kept as a GC root of the engine, never as a 'result' "
                                + "link in a directory that is about to be removed."),
                actions, split);
    }

    private static javafx.scene.Node validationSummary(NixResult.Validation v) {
        StringBuilder sb = new StringBuilder();
        sb.append(v.installable()).append("\nSystem: ").append(v.systemName()).append(" — ")
                .append(v.toBuild().size()).append(" to build, ").append(v.toFetch().size()).append(" to fetch");
        if (v.downloadMiB() != null) {
            sb.append(String.format(" (%.1f MiB download)", v.downloadMiB()));
        }
        sb.append('.');
        for (NixResult.Download d : v.needsNetwork()) {
            sb.append("\nNeeds the network: ").append(d.name()).append(d.url() == null ? "" : " from " + d.url());
        }
        for (String w : v.warnings()) {
            sb.append("\nWarning: ").append(w);
        }
        boolean trouble = !v.needsNetwork().isEmpty() && v.networkIsolated();
        return Ui.info(trouble ? "Valid, but the build needs the network" : "The configuration is valid",
                sb.toString(), trouble ? Feather.ALERT_TRIANGLE : Feather.CHECK, trouble ? Styles.WARNING : null);
    }

    private void tick() {
        String e = model.elapsed(Instant.now());
        elapsed.setText(e.isEmpty() ? "" : "elapsed " + e);
    }
}
