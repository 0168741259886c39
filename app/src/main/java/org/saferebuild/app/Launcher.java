package org.saferebuild.app;

/**
 * Entry point. A plain class (not an {@link javafx.application.Application}) so the app starts
 * from the class path without JavaFX's module checks.
 */
public final class Launcher {
    private Launcher() {
    }

    public static void main(String[] args) {
        javafx.application.Application.launch(SafeRebuildApp.class, args);
    }
}
