package org.saferebuild.app.log;

import java.util.regex.Pattern;

/** One line of engine output with the severity the log view highlights. */
public record LogLine(String text, Level level) {
    public enum Level { NORMAL, WARNING, ERROR }

    // nix prints "error:" (and "error (ignored):"), builders print "ERROR"/"Error:"; "warning:" likewise.
    private static final Pattern ERROR = Pattern.compile("(?i)(^|[^a-z])(error|fatal)(\\b|:)|\\bfailed\\b");
    private static final Pattern WARNING = Pattern.compile("(?i)(^|[^a-z])warn(ing)?(\\b|:)");
    /** Only the start of a long line is looked at: a build's error word is never 400 characters in. */
    private static final int SCAN = 400;

    public static LogLine of(String text) {
        return new LogLine(text, classify(text));
    }

    public static Level classify(String text) {
        // Cheap pre-checks without copying the line: most build lines mention neither, and a copy
        // or a regex per line of a million-line log is garbage and time the UI pays for.
        int end = Math.min(text.length(), SCAN);
        // nix prefixes what it only warns about: "warning: error: SQLite database … is busy" is a warning.
        if (text.regionMatches(true, 0, "warning:", 0, 8)) {
            return Level.WARNING;
        }
        CharSequence head = end == text.length() ? text : text.subSequence(0, end);
        if ((contains(text, end, "error") || contains(text, end, "fatal") || contains(text, end, "failed"))
                && ERROR.matcher(head).find()) {
            return Level.ERROR;
        }
        if (contains(text, end, "warn") && WARNING.matcher(head).find()) {
            return Level.WARNING;
        }
        return Level.NORMAL;
    }

    /** Whether {@code word} (lower case) occurs in the first {@code end} characters, ignoring case. */
    private static boolean contains(String text, int end, String word) {
        char first = word.charAt(0);
        char upper = Character.toUpperCase(first);
        for (int i = 0, last = end - word.length(); i <= last; i++) {
            char c = text.charAt(i);
            if ((c == first || c == upper) && text.regionMatches(true, i, word, 0, word.length())) {
                return true;
            }
        }
        return false;
    }
}
