package org.saferebuild.app.open;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.Executor;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.TextField;
import javafx.scene.input.KeyCode;
import javafx.scene.input.KeyCodeCombination;
import javafx.scene.input.KeyCombination;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import javafx.stage.Stage;
import javafx.stage.Window;
import org.fxmisc.flowless.VirtualizedScrollPane;
import org.fxmisc.richtext.StyleClassedTextArea;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.ui.Keys;
import org.saferebuild.app.ui.Ui;

/**
 * The app's own file viewer: the path (copyable), why the file is shown here, and the text,
 * searchable (RichTextFX holds it; a file larger than {@link #MAX_BYTES} shows its end, and says so).
 */
public final class FileViewer {
    static final long MAX_BYTES = 4L << 20;

    private FileViewer() {
    }

    /** Opens a window for {@code file}; {@code desktop} (may be null) opens it with the desktop's viewer. */
    public static Stage show(Window owner, Path file, String reason, Executor background, Runnable desktop) {
        StyleClassedTextArea text = new StyleClassedTextArea();
        text.setEditable(false);
        text.setWrapText(false);
        text.getStyleClass().add("log-area");
        text.setId("file-viewer-text");
        VirtualizedScrollPane<StyleClassedTextArea> scroll = new VirtualizedScrollPane<>(text);
        VBox.setVgrow(scroll, Priority.ALWAYS);

        TextField path = new TextField(file.toString());
        path.setEditable(false);
        path.setId("file-viewer-path");
        HBox.setHgrow(path, Priority.ALWAYS);
        Button copy = new Button("_Copy the path", new FontIcon(Feather.COPY));
        copy.setId("file-viewer-copy");
        copy.setOnAction(e -> Ui.copyToClipboard(file.toString()));
        Button external = new Button("Open with the _desktop's viewer", new FontIcon(Feather.EXTERNAL_LINK));
        external.setId("file-viewer-desktop");
        external.setVisible(desktop != null);
        external.setManaged(desktop != null);
        external.setOnAction(e -> desktop.run());
        HBox top = new HBox(8, path, copy, external);
        top.setAlignment(Pos.CENTER_LEFT);
        for (Button b : new Button[] {copy, external}) {
            b.setMinWidth(Region.USE_PREF_SIZE);
        }

        Label why = Ui.muted(reason == null ? "" : reason);
        why.setId("file-viewer-reason");
        TextField search = new TextField();
        search.setPromptText("Search (Ctrl+F, Enter: next)");
        search.setPrefColumnCount(22);
        search.setId("file-viewer-search");
        Label found = Ui.muted("");
        int[] from = {0};
        search.setOnAction(e -> {
            String q = search.getText();
            if (q == null || q.isEmpty()) {
                return;
            }
            String all = text.getText().toLowerCase();
            int at = all.indexOf(q.toLowerCase(), from[0]);
            if (at < 0) {
                at = all.indexOf(q.toLowerCase());
            }
            if (at < 0) {
                found.setText("No match");
                return;
            }
            text.selectRange(at, at + q.length());
            text.requestFollowCaret();
            from[0] = at + q.length();
            found.setText("Line " + (text.offsetToPosition(at, org.fxmisc.richtext.model.TwoDimensional.Bias.Forward)
                    .getMajor() + 1));
        });
        Button close = new Button("Close", new FontIcon(Feather.X));
        close.setId("file-viewer-close");
        close.setCancelButton(true);
        Region grow = new Region();
        HBox.setHgrow(grow, Priority.ALWAYS);
        HBox bottom = new HBox(8, new FontIcon(Feather.SEARCH), search, found, grow, close);
        bottom.setAlignment(Pos.CENTER_LEFT);

        VBox box = new VBox(8, top, why, scroll, bottom);
        box.setPadding(new Insets(12));
        box.setId("file-viewer");
        BorderPane root = new BorderPane(box);
        Stage stage = new Stage();
        stage.initOwner(owner);
        stage.setTitle(file.getFileName() + " — Safe Rebuild");
        Scene scene = new Scene(root, 1000, 680);
        if (owner != null && owner.getScene() != null) {
            scene.getStylesheets().setAll(owner.getScene().getStylesheets());
        }
        scene.getStylesheets().add(Objects.requireNonNull(FileViewer.class.getResource(
                "/org/saferebuild/app/app.css")).toExternalForm());
        scene.getAccelerators().put(new KeyCodeCombination(KeyCode.F, KeyCombination.SHORTCUT_DOWN), search::requestFocus);
        Keys.install(scene);
        stage.setScene(scene);
        close.setOnAction(e -> stage.close());
        text.replaceText("Reading " + file + "…");
        background.execute(() -> {
            String content;
            try {
                content = read(file);
            } catch (IOException e) {
                content = "The file could not be read: " + e.getMessage();
            }
            String shown = content;
            javafx.application.Platform.runLater(() -> {
                text.replaceText(shown);
                text.moveTo(0);
                text.requestFollowCaret();
            });
        });
        stage.show();
        path.requestFocus();
        return stage;
    }

    /** The file's text; of a large one, its last {@link #MAX_BYTES} with a first line saying so. */
    static String read(Path file) throws IOException {
        long size = Files.size(file);
        if (size <= MAX_BYTES) {
            return Files.readString(file, StandardCharsets.UTF_8);
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            byte[] tail = new byte[(int) MAX_BYTES];
            f.seek(size - MAX_BYTES);
            f.readFully(tail);
            String s = new String(tail, StandardCharsets.UTF_8);
            int nl = s.indexOf('\n');
            return String.format("[the last %,d of %,d bytes; the whole file is %s]%n", MAX_BYTES, size, file)
                    + (nl >= 0 ? s.substring(nl + 1) : s);
        }
    }
}
