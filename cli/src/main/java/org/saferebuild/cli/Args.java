package org.saferebuild.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A command line as {@code safe-rebuild COMMAND [options]}: the command (two words for
 * {@code audit verify} and {@code audit export}), then options. Options take their value as the next
 * word or after "="; each command accepts only its own options (unknown ones are a usage error
 * that names the command's options), and an option given twice keeps every value (for
 * {@code --target-host}).
 */
final class Args {
    final String command;
    private final Map<String, List<String>> values = new LinkedHashMap<>();
    private final List<String> positional = new ArrayList<>();

    private Args(String command) {
        this.command = command;
    }

    /** Thrown for anything the operator typed wrong; the message says what to type instead. */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    static Args parse(List<String> argv, Map<String, Set<String>> valued, Map<String, Set<String>> flags)
            throws UsageException {
        if (argv.isEmpty()) {
            throw new UsageException("no command given");
        }
        String command = argv.get(0);
        int i = 1;
        if (command.equals("audit")) {
            if (argv.size() < 2 || !List.of("verify", "export").contains(argv.get(1))) {
                throw new UsageException("audit needs verify or export: safe-rebuild audit verify | audit export");
            }
            command = "audit " + argv.get(1);
            i = 2;
        }
        if (!valued.containsKey(command)) {
            throw new UsageException("unknown command \"" + command + "\"");
        }
        Args a = new Args(command);
        Set<String> takesValue = valued.get(command);
        Set<String> isFlag = flags.get(command);
        for (; i < argv.size(); i++) {
            String w = argv.get(i);
            if (!w.startsWith("--")) {
                a.positional.add(w);
                continue;
            }
            String name = w;
            String value = null;
            int eq = w.indexOf('=');
            if (eq > 0) {
                name = w.substring(0, eq);
                value = w.substring(eq + 1);
            }
            if (isFlag.contains(name)) {
                if (value != null) {
                    throw new UsageException(name + " takes no value");
                }
                a.values.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
            } else if (takesValue.contains(name)) {
                if (value == null) {
                    if (i + 1 >= argv.size()) {
                        throw new UsageException(name + " needs a value");
                    }
                    value = argv.get(++i);
                }
                a.values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
            } else {
                List<String> known = new ArrayList<>(takesValue);
                known.addAll(isFlag);
                java.util.Collections.sort(known);
                throw new UsageException(command + " does not take " + name + " (it takes: "
                        + (known.isEmpty() ? "no options" : String.join(" ", known)) + ")");
            }
        }
        return a;
    }

    boolean has(String flag) {
        return values.containsKey(flag);
    }

    String get(String name) {
        List<String> v = values.get(name);
        return v == null ? null : v.get(v.size() - 1);
    }

    List<String> all(String name) {
        return values.getOrDefault(name, List.of());
    }

    List<String> positional() {
        return positional;
    }

    /** A whole number option within bounds, or the default when absent. */
    Integer integer(String name, Integer fallback, int min, int max) throws UsageException {
        String v = get(name);
        if (v == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(v);
            if (n < min || n > max) {
                throw new UsageException(name + " must be between " + min + " and " + max + ", not " + v);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(name + " needs a whole number, not \"" + v + "\"");
        }
    }
}
