package org.saferebuild.app.log;

import atlantafx.base.theme.Styles;
import java.nio.file.Path;
import java.util.Collection;
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
import org.fxmisc.flowless.VirtualizedScrollPane;
import org.fxmisc.richtext.StyleClassedTextArea;
import org.fxmisc.richtext.model.ReadOnlyStyledDocument;
import org.fxmisc.richtext.model.ReadOnlyStyledDocumentBuilder;
import org.fxmisc.richtext.model.SegmentOps;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;

/**
 * The log in RichTextFX: errors and warnings highlighted, search, follow the tail, and at most
 * {@link LogModel#capacity()} lines in memory (the full log is the model's file). Lines are
 * pulled from the model once per frame within a time budget, so the FX thread never stalls on
 * a burst.
 */
public final class LogView extends VBox {
    /** Work per frame; a frame is 16.7 ms and layout/rendering need the rest. */
    static final long FRAME_BUDGET_NANOS = 4_000_000;
    private static final int CHUNK = 100;
    /**
     * While lines arrive faster than a screenful a frame, the view is refreshed at most this often:
     * each refresh makes RichTextFX lay out a new screen of paragraphs, and nobody reads a log
     * scrolling by at 60 screens a second. A slow log still appears line by line.
     */
    static final long BURST_INTERVAL_NANOS = 150_000_000;
    private static final int BURST_LINES = 60;
    private long lastUpdate;
    private static final List<String> NONE = List.of();
    private static final List<String> ERROR = List.of("log-error");
    private static final List<String> WARNING = List.of("log-warning");

    private final LogModel model;
    private final StyleClassedTextArea area = new StyleClassedTextArea();
    private final ToggleButton follow = new ToggleButton("_Follow");
    private final TextField search = new TextField();
    private final Label searchStatus = new Label();
    private final Label counts = new Label();
    private final Button openFull = new Button("Open full log");
    private int linesInView;
    private int searchFrom;
    private long maxPulseNanos;
    private Consumer<Path> opener = p -> { };
    private final AnimationTimer pump = new AnimationTimer() {
        @Override
        public void handle(long now) {
            pumpFrame();
        }
    };

    public LogView(LogModel model) {
        this.model = model;
        createView();
        initListeners();
    }

    private void createView() {
        getStyleClass().add("log-view");
        area.setEditable(false);
        area.setWrapText(true);
        area.getStyleClass().add("log-area");
        area.setId("log-area");
        VirtualizedScrollPane<StyleClassedTextArea> scroll = new VirtualizedScrollPane<>(area);
        VBox.setVgrow(scroll, Priority.ALWAYS);

        follow.setSelected(true);
        follow.setMnemonicParsing(true);
        follow.setGraphic(new FontIcon(Feather.CHEVRONS_DOWN));
        follow.setTooltip(new Tooltip("Keep the newest line in view"));
        search.setPromptText("Search the log (Enter: next)");
        search.setId("log-search");
        search.setPrefColumnCount(16);
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
        openFull.disableProperty().bind(model.fullLogProperty().isNull());
        openFull.setOnAction(e -> {
            model.flushFile();
            opener.accept(model.fullLogProperty().get());
        });
        counts.getStyleClass().add(Styles.TEXT_MUTED);
        counts.setId("log-counts");
        searchStatus.getStyleClass().add(Styles.TEXT_MUTED);
        Region grow = new Region();
        HBox.setHgrow(grow, Priority.ALWAYS);
        HBox bar = new HBox(6, new FontIcon(Feather.SEARCH), search, prev, next, searchStatus, grow, counts, follow,
                openFull);
        bar.setAlignment(Pos.CENTER_LEFT);
        for (javafx.scene.control.Control c : new javafx.scene.control.Control[] {follow, openFull, counts, prev, next}) {
            c.setMinWidth(Region.USE_PREF_SIZE);
        }
        search.setMinWidth(120);
        bar.setPadding(new Insets(0, 0, 6, 0));
        getChildren().addAll(bar, scroll);
    }

    private void initListeners() {
        counts.textProperty().bind(Bindings.createStringBinding(() -> String.format(
                "%,d lines · %,d errors · %,d warnings", model.linesProperty().get(), model.errorsProperty().get(),
                model.warningsProperty().get()), model.linesProperty(), model.errorsProperty(),
                model.warningsProperty()));
        model.generationProperty().addListener((o, a, b) -> clear());
        search.setOnKeyPressed(e -> {
            if (e.getCode() == KeyCode.ENTER) {
                find(!e.isShiftDown());
                e.consume();
            }
        });
        search.textProperty().addListener((o, a, b) -> searchFrom = 0);
        follow.selectedProperty().addListener((o, a, b) -> {
            if (b) {
                scrollToEnd();
            }
        });
        // Pull lines only while shown: a hidden view costs nothing, the model keeps the newest lines.
        sceneProperty().addListener((o, a, b) -> {
            if (b != null) {
                pump.start();
            } else {
                pump.stop();
            }
        });
    }

    /** What "Open full log" does with the file (the app opens it with the desktop's viewer). */
    public void setOpener(Consumer<Path> opener) {
        this.opener = opener;
    }

    /** Drains the model within the frame budget. Public for the benchmark, which measures it. */
    public void pumpFrame() {
        long start = System.nanoTime();
        if (model.pendingCount() > BURST_LINES && start - lastUpdate < BURST_INTERVAL_NANOS) {
            model.drain(0); // publish the counters only
            return;
        }
        lastUpdate = start;
        boolean added = false;
        while (model.hasPending() && System.nanoTime() - start < FRAME_BUDGET_NANOS) {
            appendLines(model.drain(CHUNK));
            trim();
            added = true;
        }
        if (!added) {
            model.drain(0); // publish the counters
        }
        if (added) {
            if (follow.isSelected()) {
                scrollToEnd();
            }
        }
        maxPulseNanos = Math.max(maxPulseNanos, System.nanoTime() - start);
    }

    /** Longest time one frame spent in {@link #pumpFrame()} (for the benchmark). */
    public long maxPulseNanos() {
        return maxPulseNanos;
    }

    public int linesInView() {
        return linesInView;
    }

    public StyleClassedTextArea area() {
        return area;
    }

    private void appendLines(List<LogLine> batch) {
        if (batch.isEmpty()) {
            return;
        }
        // The area always ends with an empty paragraph: each batch fills it and leaves a new one.
        ReadOnlyStyledDocumentBuilder<Collection<String>, String, Collection<String>> b =
                new ReadOnlyStyledDocumentBuilder<>(SegmentOps.styledTextOps(), NONE);
        for (LogLine l : batch) {
            b.addParagraph(l.text(), switch (l.level()) {
                case ERROR -> ERROR;
                case WARNING -> WARNING;
                case NORMAL -> NONE;
            });
        }
        b.addParagraph("", NONE);
        ReadOnlyStyledDocument<Collection<String>, String, Collection<String>> doc = b.build();
        int end = area.getLength();
        area.replace(end, end, doc);
        linesInView += batch.size();
    }

    private void trim() {
        int excess = linesInView - model.capacity();
        if (excess > 0) {
            area.deleteText(0, area.getAbsolutePosition(excess, 0));
            linesInView -= excess;
        }
    }

    private void scrollToEnd() {
        int last = Math.max(0, area.getParagraphs().size() - 1);
        area.showParagraphAtBottom(last);
    }

    private void clear() {
        area.clear();
        linesInView = 0;
        searchFrom = 0;
        searchStatus.setText("");
    }

    private void find(boolean forward) {
        String q = search.getText();
        if (q == null || q.isEmpty()) {
            return;
        }
        String text = area.getText().toLowerCase();
        String needle = q.toLowerCase();
        int at;
        if (forward) {
            at = text.indexOf(needle, searchFrom);
            if (at < 0) {
                at = text.indexOf(needle);
            }
        } else {
            at = text.lastIndexOf(needle, Math.max(0, searchFrom - needle.length() - 1));
            if (at < 0) {
                at = text.lastIndexOf(needle);
            }
        }
        if (at < 0) {
            searchStatus.setText("No match in the last " + String.format("%,d", linesInView) + " lines");
            return;
        }
        follow.setSelected(false);
        area.selectRange(at, at + needle.length());
        area.requestFollowCaret();
        searchFrom = at + needle.length();
        int para = area.offsetToPosition(at, org.fxmisc.richtext.model.TwoDimensional.Bias.Forward).getMajor();
        searchStatus.setText("Line " + (para + 1) + " of " + String.format("%,d", linesInView) + " shown");
    }
}
