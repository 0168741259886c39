package org.saferebuild.app.open;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Opens a file for the operator (a full log, the change record): with the desktop's viewer
 * (xdg-open) where there is one, and otherwise — xdg-open missing, or it could not open the file —
 * in the app's own viewer, which says why, shows the path and offers to copy it. Never silently.
 */
public final class FileOpener {
    /** How long xdg-open may take to say it failed; after that it is taken to have opened the file. */
    static final long WAIT_SECONDS = 10;

    private final List<Path> searchPath;
    private final Executor background;
    private final Executor ui;
    private final BiConsumer<Path, String> inApp;

    /**
     * @param searchPath where xdg-open is looked for (the operator's PATH)
     * @param inApp      shows a file in the app with the reason (on the UI thread)
     */
    public FileOpener(List<Path> searchPath, Executor background, Executor ui, BiConsumer<Path, String> inApp) {
        this.searchPath = List.copyOf(searchPath);
        this.background = background;
        this.ui = ui;
        this.inApp = inApp;
    }

    /** The directories of $PATH. */
    public static List<Path> pathFromEnvironment() {
        String path = System.getenv("PATH");
        List<Path> out = new ArrayList<>();
        if (path != null) {
            for (String p : path.split(":")) {
                if (p.startsWith("/")) {
                    out.add(Path.of(p));
                }
            }
        }
        return out;
    }

    Optional<Path> xdgOpen() {
        return searchPath.stream().map(d -> d.resolve("xdg-open")).filter(Files::isExecutable).findFirst();
    }

    /** Whether the desktop's viewer is available at all (the in-app viewer offers it only then). */
    public boolean hasDesktopViewer() {
        return xdgOpen().isPresent();
    }

    /** Opens {@code file}: desktop viewer first, the app's own viewer when that is not possible. */
    public void open(Path file) {
        if (file == null) {
            return;
        }
        Optional<Path> xdg = xdgOpen();
        if (xdg.isEmpty()) {
            ui.execute(() -> inApp.accept(file, "There is no xdg-open on this machine" + (searchPath.isEmpty() ? ""
                    : " (looked in " + String.join(":", searchPath.stream().map(Path::toString).toList()) + ")")
                    + ", so the file is shown here."));
            return;
        }
        openWithDesktop(xdg.get(), file);
    }

    /** Opens with xdg-open only; a failure is shown in the app's viewer with xdg-open's words. */
    public void openWithDesktop(Path file) {
        xdgOpen().ifPresentOrElse(x -> openWithDesktop(x, file), () -> open(file));
    }

    private void openWithDesktop(Path xdg, Path file) {
        background.execute(() -> {
            String why;
            try {
                Process p = new ProcessBuilder(xdg.toString(), file.toString()).redirectErrorStream(true)
                        .redirectInput(ProcessBuilder.Redirect.DISCARD).start();
                if (!p.waitFor(WAIT_SECONDS, TimeUnit.SECONDS)) {
                    return; // still running: a viewer that stays attached; it opened
                }
                if (p.exitValue() == 0) {
                    return;
                }
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                why = "xdg-open could not open it (exit code " + p.exitValue() + (out.isEmpty() ? "" : ": " + out)
                        + "), so the file is shown here.";
            } catch (IOException e) {
                why = "xdg-open could not be started (" + e.getMessage() + "), so the file is shown here.";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            String reason = why;
            ui.execute(() -> inApp.accept(file, reason));
        });
    }
}
