package org.saferebuild.app.ui;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.ZoneId;
import org.junit.jupiter.api.Test;

/** Times as the operator reads them (issue 12, item 7): local, and relative where it helps. */
class TimesTest {
    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
    private static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");

    @Test
    void engineTimesAreShownInLocalTime() {
        assertThat(Times.local(Instant.parse("2026-12-01T00:25:09.077Z"), NOW, BERLIN)).isEqualTo("today 01:25");
        assertThat(Times.local(Instant.parse("2026-11-30T20:10:00Z"), NOW, BERLIN)).isEqualTo("yesterday 21:10");
        assertThat(Times.local(Instant.parse("2026-11-25T19:45:28.13Z"), NOW, BERLIN)).isEqualTo("25 Nov 2026, 20:45");
    }

    @Test
    void relativeTimesSayHowLongAgoOrHowLongFromNow() {
        assertThat(Times.relative(NOW.plusSeconds(118), NOW)).isEqualTo("in 1 min 58 s");
        assertThat(Times.relative(NOW.minusSeconds(3), NOW)).isEqualTo("just now");
        assertThat(Times.relative(NOW.minusSeconds(200), NOW)).isEqualTo("3 min ago");
        assertThat(Times.relative(NOW.minusSeconds(7300), NOW)).isEqualTo("2 h ago");
        assertThat(Times.relative(NOW.minusSeconds(86_400 * 5), NOW)).isEqualTo("5 days ago");
        assertThat(Times.duration(120)).isEqualTo("2 min");
    }

    @Test
    void isoTimesInsideEngineSentencesBecomeLocal() {
        String s = Times.localizeIn("the engine goes back to generation 1 at 2026-12-01T03:56:06.140Z.");
        assertThat(s).doesNotContain("2026-12-01T03:56:06.140Z").startsWith("the engine goes back to generation 1 at ");
        assertThat(Times.localizeIn("no time here")).isEqualTo("no time here");
    }
}
