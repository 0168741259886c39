package org.saferebuild.app.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogModelTest {

    @Test
    void keepsOnlyTheNewestLinesInMemoryButAllInTheFileAndCountsEveryLine(@TempDir Path dir) throws Exception {
        LogModel model = new LogModel(100);
        Path file = dir.resolve("build.log");
        model.reset(file);
        for (int batch = 0; batch < 10; batch++) {
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                int n = batch * 50 + i;
                lines.add(n % 100 == 0 ? "error: builder for '/nix/store/x.drv' failed" : n % 10 == 0
                        ? "warning: dirty tree " + n : "building line " + n);
            }
            model.append("nix", lines);
        }
        model.publish();
        List<LogLine> shown = model.window(0, 1000);
        assertThat(shown).hasSize(100);
        assertThat(model.firstRetained()).isEqualTo(400);
        assertThat(model.line(399)).isNull();
        assertThat(model.line(401).text()).isEqualTo("building line 401");
        assertThat(shown.get(0).level()).isEqualTo(LogLine.Level.ERROR);
        assertThat(shown.get(1).text()).isEqualTo("building line 401");
        assertThat(shown.get(99).text()).isEqualTo("building line 499");
        assertThat(model.skippedNow()).isEqualTo(400);
        assertThat(model.linesProperty().get()).isEqualTo(500);
        assertThat(model.errorsProperty().get()).isEqualTo(5);
        assertThat(model.warningsProperty().get()).isEqualTo(45);
        model.flushFile();
        List<String> all = Files.readAllLines(file);
        assertThat(all).hasSize(500);
        assertThat(all.get(0)).startsWith("error: builder");
    }

    @Test
    void resetStartsAFreshLog(@TempDir Path dir) {
        LogModel model = new LogModel(10);
        model.reset(dir.resolve("a.log"));
        model.append("nix", List.of("error: one"));
        model.reset(dir.resolve("b.log"));
        assertThat(model.window(0, 10)).isEmpty();
        assertThat(model.total()).isZero();
        assertThat(model.errorsProperty().get()).isZero();
        assertThat(model.fullLogProperty().get()).isEqualTo(dir.resolve("b.log"));
    }

    @Test
    void findsAMatchForwardAndBackwardWrappingAroundTheLinesInMemory() {
        LogModel model = new LogModel(5);
        model.reset(null);
        model.append("nix", List.of("a", "b", "error: one", "c", "d", "Error: two", "e"));
        // Lines 2..6 are in memory: "error: one" (2), "c", "d", "Error: two" (5), "e".
        assertThat(model.find("ERROR", 2, true)).isEqualTo(2);
        assertThat(model.find("error", 3, true)).isEqualTo(5);
        assertThat(model.find("error", 6, true)).isEqualTo(2);
        assertThat(model.find("error", 4, false)).isEqualTo(2);
        assertThat(model.find("error", 2, false)).isEqualTo(2);
        assertThat(model.find("error", 1, false)).isEqualTo(2);
        assertThat(model.find("missing", 2, true)).isEqualTo(-1);
    }

    @Test
    void classifiesNixErrorsAndWarningsButNotWordsThatMerelyContainThem() {
        assertThat(LogLine.classify("error: attribute 'foo' missing")).isEqualTo(LogLine.Level.ERROR);
        assertThat(LogLine.classify("       at /etc/nixos/flake.nix:12:5: ERROR here")).isEqualTo(LogLine.Level.ERROR);
        assertThat(LogLine.classify("builder for '/nix/store/abc-x.drv' failed with exit code 1"))
                .isEqualTo(LogLine.Level.ERROR);
        assertThat(LogLine.classify("warning: Git tree '/etc/nixos' is dirty")).isEqualTo(LogLine.Level.WARNING);
        assertThat(LogLine.classify("warning: error: SQLite database '/nix/var/nix/db/db.sqlite' is busy"))
                .isEqualTo(LogLine.Level.WARNING);
        assertThat(LogLine.classify("building '/nix/store/abc-terror-1.0.drv'")).isEqualTo(LogLine.Level.NORMAL);
        assertThat(LogLine.classify("installing stderror-helpers")).isEqualTo(LogLine.Level.NORMAL);
        assertThat(LogLine.classify("copying path '/nix/store/x-forewarn-2'")).isEqualTo(LogLine.Level.NORMAL);
    }
}
