package org.saferebuild.app;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Properties;

/**
 * What the app remembers between runs, for the operator only ({@code ~/.config/safe-rebuild/
 * app.properties}): the last configuration chosen and the window's size. Nothing here is trusted
 * by the engine; a missing or unreadable file means the defaults.
 */
public final class AppPrefs {
    private final Path file;
    private final Properties values = new Properties();

    public AppPrefs(Path file) {
        this.file = file;
        if (file != null && Files.isRegularFile(file)) {
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                values.load(r);
            } catch (IOException | IllegalArgumentException e) {
                values.clear();
            }
        }
    }

    /** Preferences kept nowhere (tests that must not depend on an earlier run). */
    public static AppPrefs inMemory() {
        return new AppPrefs(null);
    }

    /** ~/.config/safe-rebuild/app.properties, or under $XDG_CONFIG_HOME when it is set. */
    public static Path defaultFile() {
        String xdg = System.getenv("XDG_CONFIG_HOME");
        Path base = xdg != null && xdg.startsWith("/") ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".config");
        return base.resolve("safe-rebuild").resolve("app.properties");
    }

    public String lastConfigDir() {
        return values.getProperty("lastConfigDir");
    }

    public String lastHost() {
        return values.getProperty("lastHost");
    }

    /** The window's last size, or the default (1280×800) when none is remembered. */
    public double[] windowSize() {
        try {
            double w = Double.parseDouble(values.getProperty("windowWidth", "1280"));
            double h = Double.parseDouble(values.getProperty("windowHeight", "800"));
            return new double[] {Math.max(800, w), Math.max(560, h)};
        } catch (NumberFormatException e) {
            return new double[] {1280, 800};
        }
    }

    // Commands

    public void rememberConfig(String dir, String host) {
        set("lastConfigDir", dir);
        set("lastHost", host);
        save();
    }

    public void rememberWindowSize(double width, double height) {
        values.setProperty("windowWidth", Long.toString(Math.round(width)));
        values.setProperty("windowHeight", Long.toString(Math.round(height)));
        save();
    }

    private void set(String key, String value) {
        if (value == null) {
            values.remove(key);
        } else {
            values.setProperty(key, value);
        }
    }

    private void save() {
        if (file == null) {
            return;
        }
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                values.store(w, "Safe Rebuild: what the app remembers (not settings of the engine)");
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // Remembering is a convenience: the app works without it.
        }
    }
}
