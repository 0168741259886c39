package org.saferebuild.engine.inspect;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A systemd unit file read the way systemd reads it, as far as inspect and the activation plan
 * need: sections, repeated keys in order, backslash continuation lines, comments, and drop-ins
 * applied on top where an empty assignment ("ExecStart=") clears the list.
 */
final class UnitIni {
    private final Map<String, Map<String, List<String>>> sections = new LinkedHashMap<>();

    static UnitIni parse(String text) {
        UnitIni ini = new UnitIni();
        ini.apply(text);
        return ini;
    }

    void apply(String text) {
        String section = "";
        StringBuilder pending = null;
        for (String raw : text.split("\n", -1)) {
            String line = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
            if (pending != null) {
                String t = line.strip();
                if (t.startsWith("#") || t.startsWith(";")) {
                    continue;
                }
                if (t.endsWith("\\")) {
                    pending.append(' ').append(t, 0, t.length() - 1);
                    continue;
                }
                pending.append(' ').append(t);
                assign(section, pending.toString());
                pending = null;
                continue;
            }
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#") || t.startsWith(";")) {
                continue;
            }
            if (t.startsWith("[") && t.endsWith("]")) {
                section = t.substring(1, t.length() - 1);
                continue;
            }
            if (t.endsWith("\\")) {
                pending = new StringBuilder(t.substring(0, t.length() - 1));
                continue;
            }
            assign(section, t);
        }
        if (pending != null) {
            assign(section, pending.toString());
        }
    }

    private void assign(String section, String line) {
        int eq = line.indexOf('=');
        if (eq <= 0) {
            return;
        }
        String key = line.substring(0, eq).strip();
        String value = line.substring(eq + 1).strip();
        List<String> values = sections.computeIfAbsent(section, s -> new LinkedHashMap<>())
                .computeIfAbsent(key, k -> new ArrayList<>());
        if (value.isEmpty()) {
            values.clear();
        } else {
            values.add(value);
        }
    }

    List<String> all(String section, String key) {
        Map<String, List<String>> s = sections.get(section);
        List<String> v = s == null ? null : s.get(key);
        return v == null ? List.of() : List.copyOf(v);
    }

    String last(String section, String key) {
        List<String> v = all(section, key);
        return v.isEmpty() ? null : v.get(v.size() - 1);
    }

    /** systemd's boolean words; {@code fallback} when unset or unreadable. */
    boolean bool(String section, String key, boolean fallback) {
        String v = last(section, key);
        if (v == null) {
            return fallback;
        }
        return switch (v.toLowerCase(java.util.Locale.ROOT)) {
            case "1", "yes", "true", "on" -> true;
            case "0", "no", "false", "off" -> false;
            default -> fallback;
        };
    }

    /**
     * A NixOS switch-to-configuration key (X-RestartIfChanged, X-ReloadIfChanged, …) looked up in
     * whichever section holds it: its older versions ignored sections, newer ones read [Service]
     * or [Unit], so the last assignment in any section counts.
     */
    boolean boolAnySection(String key, boolean fallback) {
        for (String section : sections.keySet()) {
            if (!all(section, key).isEmpty()) {
                return bool(section, key, fallback);
            }
        }
        return fallback;
    }

    /** A copy without the given keys of the given section (for "did anything that matters change"). */
    Map<String, Map<String, List<String>>> without(String section, java.util.Set<String> keys) {
        Map<String, Map<String, List<String>>> copy = new LinkedHashMap<>();
        sections.forEach((name, kv) -> {
            Map<String, List<String>> m = new LinkedHashMap<>(kv);
            if (name.equals(section)) {
                m.keySet().removeAll(keys);
            }
            m.values().removeIf(List::isEmpty);
            if (!m.isEmpty()) {
                copy.put(name, m);
            }
        });
        return copy;
    }
}
