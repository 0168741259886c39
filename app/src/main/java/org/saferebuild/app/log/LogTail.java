package org.saferebuild.app.log;

import java.util.List;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.css.CssMetaData;
import javafx.css.Styleable;
import javafx.css.StyleableObjectProperty;
import javafx.css.StyleablePropertyFactory;
import javafx.geometry.Orientation;
import javafx.geometry.VPos;
import javafx.scene.AccessibleAttribute;
import javafx.scene.AccessibleRole;
import javafx.scene.canvas.Canvas;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.control.ScrollBar;
import javafx.scene.input.Clipboard;
import javafx.scene.input.ClipboardContent;
import javafx.scene.input.KeyCode;
import javafx.scene.input.KeyEvent;
import javafx.scene.input.MouseEvent;
import javafx.scene.input.ScrollEvent;
import javafx.scene.layout.Region;
import javafx.scene.paint.Color;
import javafx.scene.paint.Paint;
import javafx.scene.text.Font;
import javafx.scene.text.Text;

/**
 * The live tail of a {@link LogModel}: the lines in view are drawn on one canvas, straight from the
 * model's ring, once per frame at most. Nothing is created per line or per frame in the scene
 * graph — no cells, no text nodes, no layout pass — so a flood of lines costs the FX thread a
 * screenful of {@code fillText} calls a frame, whatever its length (the RichTextFX view it
 * replaces made and laid out a paragraph cell per line and stalled for 20–80 ms a refresh).
 *
 * <p>Scrolling (wheel, scroll bars, arrows, Page Up/Down, Home/End) stops following the tail;
 * End or the Follow button resumes it. A click selects a line, Shift extends the selection, Ctrl+C
 * copies it, Ctrl+A selects every line in memory. Colours come from CSS ({@code -log-text-fill},
 * {@code -log-error-fill}, {@code -log-warning-fill}, {@code -log-selection-fill}).
 */
public final class LogTail extends Region {
    private static final StyleablePropertyFactory<LogTail> CSS = new StyleablePropertyFactory<>(
            Region.getClassCssMetaData());
    private static final double PAD = 4;
    /** While more than a screenful arrives per frame, the tail is redrawn at most this often (20 a second). */
    static final long FLOOD_INTERVAL_NANOS = Long.getLong("saferebuild.logFloodIntervalNanos", 50_000_000L);

    private final StyleableObjectProperty<Paint> textFill = (StyleableObjectProperty<Paint>) CSS.createStyleablePaintProperty(
            this, "textFill", "-log-text-fill", t -> t.textFill, Color.BLACK);
    private final StyleableObjectProperty<Paint> errorFill = (StyleableObjectProperty<Paint>) CSS.createStyleablePaintProperty(
            this, "errorFill", "-log-error-fill", t -> t.errorFill, Color.FIREBRICK);
    private final StyleableObjectProperty<Paint> warningFill = (StyleableObjectProperty<Paint>) CSS.createStyleablePaintProperty(
            this, "warningFill", "-log-warning-fill", t -> t.warningFill, Color.DARKGOLDENROD);
    private final StyleableObjectProperty<Paint> selectionFill = (StyleableObjectProperty<Paint>) CSS.createStyleablePaintProperty(
            this, "selectionFill", "-log-selection-fill", t -> t.selectionFill, Color.LIGHTBLUE);

    private final LogModel model;
    private final Canvas canvas = new Canvas();
    private final ScrollBar vbar = new ScrollBar();
    private final ScrollBar hbar = new ScrollBar();
    private final BooleanProperty follow = new SimpleBooleanProperty(this, "follow", true);
    private final Font font = Font.font("DejaVu Sans Mono", 12);
    private final Font bold = Font.font("DejaVu Sans Mono", javafx.scene.text.FontWeight.BOLD, 12);
    private final double lineHeight;
    private final double charWidth;
    private long top;
    private long lastDraw;
    private long shownTotal = -1;
    private long selFrom = -1;
    private long selTo = -1;
    private long anchor = -1;
    private boolean dirty = true;
    private boolean adjusting;
    private List<LogLine> drawn = List.of();

    public LogTail(LogModel model) {
        this.model = model;
        getStyleClass().add("log-tail");
        setFocusTraversable(true);
        setAccessibleRole(AccessibleRole.TEXT_AREA);
        Text probe = new Text("M");
        probe.setFont(font);
        lineHeight = Math.ceil(probe.getLayoutBounds().getHeight());
        charWidth = probe.getLayoutBounds().getWidth();
        vbar.setOrientation(Orientation.VERTICAL);
        hbar.setOrientation(Orientation.HORIZONTAL);
        getChildren().addAll(canvas, vbar, hbar);
        vbar.valueProperty().addListener((o, a, b) -> {
            if (!adjusting) {
                scrollTo(model.firstRetained() + Math.round(b.doubleValue()));
                follow.set(top >= model.total() - rows());
            }
        });
        hbar.valueProperty().addListener((o, a, b) -> markDirty());
        follow.addListener((o, a, b) -> markDirty());
        for (StyleableObjectProperty<Paint> p : List.of(textFill, errorFill, warningFill, selectionFill)) {
            p.addListener((o, a, b) -> markDirty());
        }
        addEventHandler(ScrollEvent.SCROLL, this::onScroll);
        addEventHandler(MouseEvent.MOUSE_PRESSED, this::onPress);
        addEventHandler(MouseEvent.MOUSE_DRAGGED, e -> select(lineAt(e.getY()), true));
        addEventHandler(KeyEvent.KEY_PRESSED, this::onKey);
        model.generationProperty().addListener((o, a, b) -> {
            top = 0;
            selFrom = selTo = anchor = -1;
            follow.set(true);
            markDirty();
        });
    }

    public static List<CssMetaData<? extends Styleable, ?>> getClassCssMetaData() {
        return CSS.getCssMetaData();
    }

    @Override
    public List<CssMetaData<? extends Styleable, ?>> getCssMetaData() {
        return getClassCssMetaData();
    }

    /** Whether the newest line is kept in view. */
    public BooleanProperty followProperty() {
        return follow;
    }

    /** The lines drawn at the last frame, as the operator sees them (for tests and the screen reader). */
    public List<String> visibleLines() {
        return drawn.stream().map(LogLine::text).toList();
    }

    /** Whether the last frame drew every line the model had received by then. */
    public boolean caughtUp() {
        return !dirty && shownTotal == model.total();
    }

    /** The selected lines' numbers, or null when nothing is selected. */
    public long[] selection() {
        return selFrom < 0 ? null : new long[] {Math.min(selFrom, selTo), Math.max(selFrom, selTo)};
    }

    /** Rows that fit the height. */
    int rows() {
        return Math.max(1, (int) ((canvas.getHeight() - 2 * PAD) / lineHeight));
    }

    /**
     * Called once per frame by the owner: redraws when lines arrived, the view scrolled or the
     * selection changed; otherwise does nothing.
     */
    public void pulse() {
        long total = model.total();
        if (total == shownTotal && !dirty) {
            return;
        }
        long now = System.nanoTime();
        if (!dirty && total - shownTotal >= rows() && now - lastDraw < FLOOD_INTERVAL_NANOS) {
            return; // a flood: a screenful scrolled by since the last frame; 20 redraws a second are enough
        }
        lastDraw = now;
        long first = model.firstRetained();
        int rows = rows();
        if (follow.get()) {
            top = Math.max(first, total - rows);
        } else {
            top = Math.max(first, Math.min(top, Math.max(first, total - rows)));
        }
        adjusting = true;
        vbar.setMax(Math.max(0, total - first - rows));
        vbar.setVisibleAmount(Math.min(rows, Math.max(1, total - first)));
        vbar.setBlockIncrement(rows);
        vbar.setValue(top - first);
        double extent = model.longestLine() * charWidth + 2 * PAD;
        hbar.setMax(Math.max(0, extent - canvas.getWidth()));
        hbar.setVisibleAmount(canvas.getWidth());
        hbar.setBlockIncrement(canvas.getWidth() / 2);
        adjusting = false;
        draw(rows);
        shownTotal = total;
        dirty = false;
    }

    private void draw(int rows) {
        GraphicsContext g = canvas.getGraphicsContext2D();
        double w = canvas.getWidth();
        double h = canvas.getHeight();
        g.clearRect(0, 0, w, h);
        drawn = model.window(top, rows);
        int firstCol = (int) (hbar.getValue() / charWidth);
        int cols = (int) (w / charWidth) + 2;
        double x0 = PAD - (hbar.getValue() - firstCol * charWidth);
        long[] sel = selection();
        g.setTextBaseline(VPos.TOP);
        for (int i = 0; i < drawn.size(); i++) {
            long n = top + i;
            double y = PAD + i * lineHeight;
            if (sel != null && n >= sel[0] && n <= sel[1]) {
                g.setFill(selectionFill.get());
                g.fillRect(0, y, w, lineHeight);
            }
            LogLine l = drawn.get(i);
            String t = l.text();
            if (firstCol >= t.length()) {
                continue;
            }
            String shown = t.substring(firstCol, Math.min(t.length(), firstCol + cols));
            if (shown.indexOf('\t') >= 0) {
                shown = shown.replace('\t', ' ');
            }
            switch (l.level()) {
                case ERROR -> {
                    g.setFill(errorFill.get());
                    g.setFont(bold);
                }
                case WARNING -> {
                    g.setFill(warningFill.get());
                    g.setFont(font);
                }
                case NORMAL -> {
                    g.setFill(textFill.get());
                    g.setFont(font);
                }
            }
            g.fillText(shown, x0, y);
        }
    }

    private void markDirty() {
        dirty = true;
    }

    /** Shows line {@code n} (in the middle when it was out of view) and stops following. */
    public void reveal(long n) {
        int rows = rows();
        if (n < top || n >= top + rows) {
            scrollTo(n - rows / 2);
        }
        follow.set(false);
        selFrom = selTo = anchor = n;
        markDirty();
    }

    private void scrollTo(long newTop) {
        long first = model.firstRetained();
        long last = Math.max(first, model.total() - rows());
        top = Math.max(first, Math.min(last, newTop));
        markDirty();
    }

    private void onScroll(ScrollEvent e) {
        if (e.getDeltaY() != 0) {
            long lines = Math.round(-e.getDeltaY() / lineHeight);
            if (lines == 0) {
                lines = e.getDeltaY() > 0 ? -1 : 1;
            }
            follow.set(false);
            scrollTo(top + lines);
            if (top >= model.total() - rows()) {
                follow.set(true);
            }
        }
        if (e.getDeltaX() != 0) {
            hbar.setValue(Math.max(0, Math.min(hbar.getMax(), hbar.getValue() - e.getDeltaX())));
        }
        e.consume();
    }

    private void onPress(MouseEvent e) {
        requestFocus();
        if (e.getX() > canvas.getWidth() || e.getY() > canvas.getHeight()) {
            return;
        }
        select(lineAt(e.getY()), e.isShiftDown());
    }

    private long lineAt(double y) {
        return top + (long) Math.max(0, (y - PAD) / lineHeight);
    }

    private void select(long n, boolean extend) {
        long first = model.firstRetained();
        long total = model.total();
        if (total == 0) {
            return;
        }
        n = Math.max(first, Math.min(total - 1, n));
        if (!extend || anchor < 0) {
            anchor = n;
        }
        selFrom = anchor;
        selTo = n;
        follow.set(false);
        markDirty();
    }

    private void onKey(KeyEvent e) {
        int rows = rows();
        boolean handled = true;
        if (e.isShortcutDown() && e.getCode() == KeyCode.C) {
            copySelection();
        } else if (e.isShortcutDown() && e.getCode() == KeyCode.A) {
            anchor = selFrom = model.firstRetained();
            selTo = model.total() - 1;
            markDirty();
        } else {
            switch (e.getCode()) {
                case UP -> scrollBy(-1);
                case DOWN -> scrollBy(1);
                case PAGE_UP -> scrollBy(-rows);
                case PAGE_DOWN -> scrollBy(rows);
                case HOME -> {
                    follow.set(false);
                    scrollTo(model.firstRetained());
                }
                case END -> follow.set(true);
                default -> handled = false;
            }
        }
        if (handled) {
            e.consume();
        }
    }

    private void scrollBy(long lines) {
        follow.set(false);
        scrollTo(top + lines);
    }

    /** Copies the selected lines (or, with none selected, the lines in view) to the clipboard. */
    public void copySelection() {
        long[] sel = selection();
        List<LogLine> lines = sel == null ? drawn : model.window(sel[0], (int) Math.min(Integer.MAX_VALUE,
                sel[1] - sel[0] + 1));
        ClipboardContent c = new ClipboardContent();
        c.putString(String.join("\n", lines.stream().map(LogLine::text).toList()) + "\n");
        Clipboard.getSystemClipboard().setContent(c);
    }

    @Override
    protected void layoutChildren() {
        double w = getWidth() - snappedLeftInset() - snappedRightInset();
        double h = getHeight() - snappedTopInset() - snappedBottomInset();
        double vw = vbar.prefWidth(-1);
        double hh = hbar.prefHeight(-1);
        double cw = Math.max(0, w - vw);
        double ch = Math.max(0, h - hh);
        if (canvas.getWidth() != cw || canvas.getHeight() != ch) {
            canvas.setWidth(cw);
            canvas.setHeight(ch);
            markDirty();
        }
        canvas.relocate(snappedLeftInset(), snappedTopInset());
        vbar.resizeRelocate(snappedLeftInset() + cw, snappedTopInset(), vw, ch);
        hbar.resizeRelocate(snappedLeftInset(), snappedTopInset() + ch, cw, hh);
    }

    @Override
    protected double computePrefWidth(double height) {
        return 600;
    }

    @Override
    protected double computePrefHeight(double width) {
        return 300;
    }

    @Override
    protected double computeMinHeight(double width) {
        return 4 * lineHeight + 2 * PAD + hbar.prefHeight(-1);
    }

    @Override
    public Object queryAccessibleAttribute(AccessibleAttribute attribute, Object... parameters) {
        if (attribute == AccessibleAttribute.TEXT) {
            return String.join("\n", visibleLines());
        }
        return super.queryAccessibleAttribute(attribute, parameters);
    }
}
