package org.saferebuild.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The app remembers the last configuration and the window's size (issue 12, item 8). */
class AppPrefsTest {

    @Test
    void theLastConfigurationAndTheWindowSizeSurviveARestart(@TempDir Path dir) {
        Path file = dir.resolve("safe-rebuild/app.properties");
        AppPrefs first = new AppPrefs(file);
        assertThat(first.windowSize()).containsExactly(1280, 800);
        assertThat(first.lastConfigDir()).isNull();
        first.rememberConfig("/etc/nixos", "BearsiMac");
        first.rememberWindowSize(1440.4, 900);
        AppPrefs again = new AppPrefs(file);
        assertThat(again.lastConfigDir()).isEqualTo("/etc/nixos");
        assertThat(again.lastHost()).isEqualTo("BearsiMac");
        assertThat(again.windowSize()).containsExactly(1440, 900);
    }

    @Test
    void anUnreadableFileMeansTheDefaults(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("app.properties"), "windowWidth=wide\\u12");
        assertThat(new AppPrefs(file).windowSize()).containsExactly(1280, 800);
    }
}
