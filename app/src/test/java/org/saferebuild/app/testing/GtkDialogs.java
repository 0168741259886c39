package org.saferebuild.app.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * GTK's own dialogs, which JavaFX's FileChooser and DirectoryChooser open on Linux: native windows
 * outside the scene graph, so TestFX cannot reach them. They are driven the way a keyboard user
 * drives them (Ctrl+L, a path, Enter) with xdotool's synthetic input on the Xvfb display the tests
 * run on.
 */
public final class GtkDialogs {
    private GtkDialogs() {
    }

    /**
     * Waits for the directory dialog titled {@code title} and chooses {@code dir} in it as a keyboard
     * user does: Ctrl+L, the path, a moment for GTK's inline completion to appear, Delete (it would
     * otherwise add a slash or the name of an only subdirectory), Enter.
     */
    public static void chooseDirectory(String title, Path dir) throws IOException, InterruptedException {
        String window = xdotool("search", "--sync", "--limit", "1", "--name", "^" + title + "$").strip();
        xdotool("windowfocus", "--sync", window);
        xdotool("key", "--clearmodifiers", "ctrl+l");
        xdotool("type", "--clearmodifiers", "--delay", "15", dir.toString());
        Thread.sleep(700);
        xdotool("key", "--clearmodifiers", "Delete");
        xdotool("key", "--clearmodifiers", "Return");
    }

    /** Whether a window titled {@code title} is shown (xdotool's search exits 1 when it finds none). */
    public static boolean shown(String title) throws IOException, InterruptedException {
        return !run(true, "search", "--onlyvisible", "--name", "^" + title + "$").isBlank();
    }

    private static String xdotool(String... args) throws IOException, InterruptedException {
        return run(false, args);
    }

    private static String run(boolean noneFoundIsAnAnswer, String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of("xdotool"));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        p.getOutputStream().close();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", argv) + " did not finish within 30 s");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0 && !(noneFoundIsAnAnswer && p.exitValue() == 1)) {
            throw new IOException(String.join(" ", argv) + " failed (" + p.exitValue() + "): " + out);
        }
        return out;
    }
}
