package org.saferebuild.app.log;

import java.util.regex.Pattern;

/** One line of engine output with the severity the log view highlights. */
public record LogLine(String text, Level level) {
    public enum Level { NORMAL, WARNING, ERROR }

    // nix prints "error:" (and "error (ignored):"), builders print "ERROR"/"Error:"; "warning:" likewise.
    private static final Pattern ERROR = Pattern.compile("(?i)(^|[^a-z])(error|fatal)(\\b|:)|\\bfailed\\b");
    private static final Pattern WARNING = Pattern.compile("(?i)(^|[^a-z])warn(ing)?(\\b|:)");

    public static LogLine of(String text) {
        return new LogLine(text, classify(text));
    }

    public static Level classify(String text) {
        // Cheap pre-checks: most build lines mention neither, and regexes on a million lines add up.
        String lower = text.length() > 400 ? text.substring(0, 400).toLowerCase() : text.toLowerCase();
        // nix prefixes what it only warns about: "warning: error: SQLite database … is busy" is a warning.
        if (lower.startsWith("warning:")) {
            return Level.WARNING;
        }
        if ((lower.contains("error") || lower.contains("fatal") || lower.contains("failed"))
                && ERROR.matcher(lower).find()) {
            return Level.ERROR;
        }
        if (lower.contains("warn") && WARNING.matcher(lower).find()) {
            return Level.WARNING;
        }
        return Level.NORMAL;
    }
}
