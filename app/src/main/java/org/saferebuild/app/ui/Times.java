package org.saferebuild.app.ui;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;

/**
 * Times as the operator reads them: the engine sends ISO-8601 UTC ("2026-12-01T00:25:09.077Z");
 * the screens show local time ("today 01:25", "1 Dec 2026, 01:25") and, where it helps, how long
 * ago or how long from now ("3 min ago", "in 1 min 58 s").
 */
public final class Times {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm", Locale.ENGLISH);
    private static final DateTimeFormatter DATE_TIME = DateTimeFormatter.ofPattern("d MMM yyyy, HH:mm",
            Locale.ENGLISH);
    private static final DateTimeFormatter SECONDS = DateTimeFormatter.ofPattern("HH:mm:ss", Locale.ENGLISH);

    private Times() {
    }

    /** The instant an engine timestamp names, or null when it is absent or unreadable. */
    public static Instant parse(String iso) {
        if (iso == null || iso.isBlank()) {
            return null;
        }
        try {
            return Instant.parse(iso);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /** "today 01:25", "yesterday 23:10" or "1 Dec 2026, 01:25", in the local time zone. */
    public static String local(Instant t, Instant now, ZoneId zone) {
        if (t == null) {
            return "";
        }
        ZonedDateTime z = t.atZone(zone);
        LocalDate today = now.atZone(zone).toLocalDate();
        if (z.toLocalDate().equals(today)) {
            return "today " + TIME.format(z);
        }
        if (z.toLocalDate().equals(today.minusDays(1))) {
            return "yesterday " + TIME.format(z);
        }
        return DATE_TIME.format(z);
    }

    public static String local(String iso) {
        Instant t = parse(iso);
        return t == null ? (iso == null ? "" : iso) : local(t, Instant.now(), ZoneId.systemDefault());
    }

    private static final java.util.regex.Pattern ISO = java.util.regex.Pattern.compile(
            "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?Z");

    /** The text with every ISO-8601 UTC time in it ("2026-12-01T00:25:09.077Z") as local time. */
    public static String localizeIn(String text) {
        if (text == null) {
            return null;
        }
        return ISO.matcher(text).replaceAll(m -> java.util.regex.Matcher.quoteReplacement(local(m.group())));
    }

    /** "01:25:09", local: for a moment of this session (the clock beside a status line). */
    public static String clock(Instant t) {
        return t == null ? "" : SECONDS.format(t.atZone(ZoneId.systemDefault()));
    }

    /** "just now", "3 min ago", "2 h ago", "5 days ago"; "in 1 min 58 s" for the future. */
    public static String relative(Instant t, Instant now) {
        if (t == null) {
            return "";
        }
        Duration d = Duration.between(t, now);
        if (d.isNegative()) {
            return "in " + duration(d.negated().toSeconds());
        }
        long s = d.toSeconds();
        if (s < 10) {
            return "just now";
        }
        if (s < 60) {
            return s + " s ago";
        }
        if (s < 3600) {
            return s / 60 + " min ago";
        }
        if (s < 86_400) {
            return s / 3600 + " h ago";
        }
        long days = s / 86_400;
        return days + (days == 1 ? " day ago" : " days ago");
    }

    /** "local time (relative)": "today 01:25 (3 min ago)". */
    public static String localAndRelative(String iso) {
        Instant t = parse(iso);
        if (t == null) {
            return iso == null ? "" : iso;
        }
        Instant now = Instant.now();
        return local(t, now, ZoneId.systemDefault()) + " (" + relative(t, now) + ")";
    }

    /** "58 s", "1 min 58 s", "2 h 5 min". */
    public static String duration(long seconds) {
        if (seconds < 60) {
            return seconds + " s";
        }
        if (seconds < 3600) {
            return seconds / 60 + " min" + (seconds % 60 == 0 ? "" : " " + seconds % 60 + " s");
        }
        return seconds / 3600 + " h" + (seconds % 3600 / 60 == 0 ? "" : " " + seconds % 3600 / 60 + " min");
    }

    /** "0:07", "1:23", "1:02:03" for a running clock. */
    public static String elapsed(Duration d) {
        long s = d.toSeconds();
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s % 3600 / 60, s % 60)
                : String.format("%d:%02d", s / 60, s % 60);
    }
}
