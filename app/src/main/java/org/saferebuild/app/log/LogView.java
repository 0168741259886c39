package org.saferebuild.app.log;

import atlantafx.base.theme.Styles;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import javafx.animation.AnimationTimer;
import javafx.beans.binding.Bindings;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.TextField;
import javafx.scene.control.ToggleButton;
import javafx.scene.control.Tooltip;
import javafx.scene.input.KeyCode;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;

/**
 * A log as the operator reads it: the live tail ({@link LogTail}: errors red, warnings amber,
 * following the newest line), search through the lines in memory, the counts, and the full log
 * (every line, on disk) one click away. At most {@link LogModel#capacity()} lines are in memory.
 */
public final class LogView extends VBox {
    /** How often the counters above the log are published while lines stream in. */
    static final long COUNT_INTERVAL_NANOS = 250_000_000;

    private final LogModel model;
    private final LogTail tail;
    private final ToggleButton follow = new ToggleButton("_Follow");
    private final TextField search = new TextField();
    private final Label searchStatus = new Label();
    private final Label counts = new Label();
    private final Button openFull = new Button("Open full _log");
    private long searchFrom = -1;
    private long maxPulseNanos;
    private long lastCounts;
    private Consumer<Path> opener = p -> { };
    private final AnimationTimer pump = new AnimationTimer() {
        @Override
        public void handle(long now) {
            pumpFrame();
        }
    };

    public LogView(LogModel model) {
        this.model = model;
        this.tail = new LogTail(model);
        createView();
        initListeners();
    }

    private void createView() {
        getStyleClass().add("log-view");
        tail.setId("log-area");
        VBox.setVgrow(tail, Priority.ALWAYS);

        follow.setSelected(true);
        follow.setGraphic(new FontIcon(Feather.CHEVRONS_DOWN));
        follow.setTooltip(new Tooltip("Keep the newest line in view (End)"));
        follow.setId("log-follow");
        search.setPromptText("Search the log");
        search.setTooltip(new Tooltip("Enter: next match, Shift+Enter: previous"));
        search.setId("log-search");
        search.setPrefColumnCount(14);
        Button next = new Button(null, new FontIcon(Feather.CHEVRON_DOWN));
        next.setTooltip(new Tooltip("Next match"));
        next.setOnAction(e -> find(true));
        Button prev = new Button(null, new FontIcon(Feather.CHEVRON_UP));
        prev.setTooltip(new Tooltip("Previous match"));
        prev.setOnAction(e -> find(false));
        for (Button b : List.of(next, prev)) {
            b.getStyleClass().addAll(Styles.BUTTON_ICON, Styles.FLAT);
        }
        openFull.setGraphic(new FontIcon(Feather.FILE_TEXT));
        openFull.setId("log-open-full");
        openFull.setTooltip(new Tooltip("Every line of this log, from the file the app keeps"));
        openFull.disableProperty().bind(model.fullLogProperty().isNull());
        openFull.setOnAction(e -> {
            model.flushFile();
            opener.accept(model.fullLogProperty().get());
        });
        counts.getStyleClass().add(Styles.TEXT_MUTED);
        counts.setId("log-counts");
        searchStatus.getStyleClass().add(Styles.TEXT_MUTED);
        searchStatus.setId("log-search-status");
        searchStatus.setMinWidth(0);
        Region grow = new Region();
        HBox.setHgrow(grow, Priority.ALWAYS);
        HBox bar = new HBox(6, new FontIcon(Feather.SEARCH), search, prev, next, searchStatus, grow, counts, follow,
                openFull);
        bar.setAlignment(Pos.CENTER_LEFT);
        for (javafx.scene.control.Control c : new javafx.scene.control.Control[] {follow, openFull, counts, prev, next}) {
            c.setMinWidth(Region.USE_PREF_SIZE);
        }
        search.setMinWidth(100);
        bar.setPadding(new Insets(0, 0, 6, 0));
        getChildren().addAll(bar, tail);
    }

    private void initListeners() {
        counts.textProperty().bind(Bindings.createStringBinding(() -> counted(model.linesProperty().get(), "line",
                "lines") + " · " + counted(model.errorsProperty().get(), "error", "errors") + " · "
                + counted(model.warningsProperty().get(), "warning", "warnings"), model.linesProperty(),
                model.errorsProperty(), model.warningsProperty()));
        model.generationProperty().addListener((o, a, b) -> {
            searchFrom = -1;
            searchStatus.setText("");
        });
        search.setOnKeyPressed(e -> {
            if (e.getCode() == KeyCode.ENTER) {
                find(!e.isShiftDown());
                e.consume();
            }
        });
        search.textProperty().addListener((o, a, b) -> searchFrom = -1);
        follow.selectedProperty().bindBidirectional(tail.followProperty());
        // Draw only while shown: a hidden view costs nothing, the model keeps the newest lines.
        javafx.scene.input.KeyCombination ctrlF = new javafx.scene.input.KeyCodeCombination(KeyCode.F,
                javafx.scene.input.KeyCombination.SHORTCUT_DOWN);
        Runnable focusSearch = search::requestFocus;
        sceneProperty().addListener((o, a, b) -> {
            if (a != null && a.getAccelerators().get(ctrlF) == focusSearch) {
                a.getAccelerators().remove(ctrlF);
            }
            if (b != null) {
                pump.start();
                b.getAccelerators().put(ctrlF, focusSearch); // Ctrl+F: search this log
            } else {
                pump.stop();
            }
        });
    }

    static String counted(long n, String one, String many) {
        return String.format("%,d %s", n, n == 1 ? one : many);
    }

    /** What "Open full log" does with the file. */
    public void setOpener(Consumer<Path> opener) {
        this.opener = opener;
    }

    /** One frame's work: the tail redrawn if lines arrived, the counters now and then. Public for the benchmark. */
    public void pumpFrame() {
        long start = System.nanoTime();
        tail.pulse();
        if (start - lastCounts >= COUNT_INTERVAL_NANOS || tail.caughtUp() && model.linesProperty().get()
                != model.total()) {
            model.publish();
            lastCounts = start;
        }
        maxPulseNanos = Math.max(maxPulseNanos, System.nanoTime() - start);
    }

    /** Longest time one frame spent in {@link #pumpFrame()} (for the benchmark). */
    public long maxPulseNanos() {
        return maxPulseNanos;
    }

    /** Lines in memory for this view (at most the model's capacity). */
    public long linesInView() {
        return model.total() - model.firstRetained();
    }

    public LogTail tail() {
        return tail;
    }

    private void find(boolean forward) {
        String q = search.getText();
        if (q == null || q.isEmpty()) {
            return;
        }
        long from = searchFrom < 0 ? (forward ? model.firstRetained() : model.total() - 1)
                : searchFrom + (forward ? 1 : -1);
        long at = model.find(q, from, forward);
        if (at < 0) {
            searchStatus.setText(String.format("No match in the last %,d lines", linesInView()));
            return;
        }
        searchFrom = at;
        tail.reveal(at);
        searchStatus.setText(String.format("Line %,d of %,d", at + 1, model.total()));
    }
}
