package org.saferebuild.engine.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.saferebuild.engine.nix.NixEnv;

/** {@code nix store diff-closures} output, read back for comparison with the engine's package diff. */
public final class DiffClosures {
    private static final Pattern SIZE = Pattern.compile("(?:^|, )([+-][0-9]+\\.[0-9] KiB)$");

    private DiffClosures() {
    }

    /**
     * One line, "name: OLD, OLD → NEW, NEW[, ±x.y KiB]" or "name: ±x.y KiB".
     *
     * @param gone versions only before ("" for ε), sorted as diff-closures sorts them (bytewise)
     * @param come versions only after
     * @param size the size change as printed ("+20.0 KiB"), or null where none is printed
     */
    public record Line(List<String> gone, List<String> come, String size) {
        public boolean versionsChanged() {
            return !gone.isEmpty() || !come.isEmpty();
        }
    }

    /** Every line, by name. */
    public static Map<String, Line> parse(String text) {
        Map<String, Line> out = new TreeMap<>();
        for (String raw : text.split("\n")) {
            String line = NixEnv.stripAnsi(raw).strip();
            int colon = line.indexOf(": ");
            if (colon < 0) {
                continue;
            }
            String name = line.substring(0, colon);
            String rest = line.substring(colon + 2);
            String size = null;
            Matcher m = SIZE.matcher(rest);
            if (m.find()) {
                size = m.group(1);
                rest = rest.substring(0, m.start());
            }
            int arrow = rest.indexOf(" → ");
            if (arrow < 0) {
                out.put(name, new Line(List.of(), List.of(), size));
            } else {
                out.put(name, new Line(versions(rest.substring(0, arrow)), versions(rest.substring(arrow + 3)), size));
            }
        }
        return out;
    }

    /** The size change as diff-closures prints it ("%+.1f KiB"), or null under its 8 KiB threshold. */
    public static String size(long delta) {
        return Math.abs(delta) >= 8 * 1024 ? String.format(java.util.Locale.ROOT, "%+.1f KiB", delta / 1024.0) : null;
    }

    private static List<String> versions(String s) {
        if (s.equals("∅")) {
            return List.of();
        }
        List<String> v = new ArrayList<>();
        for (String x : s.split(", ")) {
            v.add(x.equals("ε") ? "" : x);
        }
        return v;
    }
}
