package org.saferebuild.engine.nix;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The Nix settings an engine's settings file may set for the nix commands the engine runs
 * ({@code nixOptions}). They are passed as {@code --option NAME VALUE} on the command line and so
 * apply to the engine's own nix calls only: the machine's {@code /etc/nix/nix.conf} is never
 * written. Like flatpak's helper, only an allow-list of keys is accepted, each with a checker for
 * its value; anything else makes the settings file unusable rather than silently ignored.
 *
 * <p>The demo system uses {@code sandbox = false}: its builders run the host's {@code /bin/sh},
 * which Debian's nix does not put into its build sandbox (docs/demo.md, docs/security.md).
 *
 * <p>{@code builders} and {@code builders-use-substitutes} let the engine's builds use Nix's own
 * distributed builds (remote builders over SSH, docs/remote.md): a list of {@code ssh://} or
 * {@code ssh-ng://} machines in nix.conf's format, or {@code @/file} naming a machines file; with
 * {@code max-jobs = 0} every build goes to them (nixos-rebuild's --build-host).
 */
public final class NixOptions {
    private static final Pattern GROUP = Pattern.compile("|[a-z_][a-z0-9_-]{0,31}");
    private static final Pattern COUNT = Pattern.compile("[0-9]{1,4}");
    /** One machine: an ssh:// or ssh-ng:// URI, then nix's optional fields (systems, key, jobs, …). */
    private static final Pattern BUILDER =
            Pattern.compile("(ssh|ssh-ng)://[A-Za-z0-9@._:\\[\\]-]+( [A-Za-z0-9@/._,:=+-]+){0,7}");
    private static final Pattern MACHINES_FILE = Pattern.compile("@/[A-Za-z0-9/._+-]+");

    /** Allowed keys and what their values may be. */
    static final Map<String, Predicate<String>> ALLOWED = Map.of(
            "sandbox", v -> v.equals("true") || v.equals("false") || v.equals("relaxed"),
            "build-users-group", v -> GROUP.matcher(v).matches(),
            "max-jobs", v -> v.equals("auto") || COUNT.matcher(v).matches(),
            "cores", v -> COUNT.matcher(v).matches(),
            "builders", NixOptions::buildersValue,
            "builders-use-substitutes", v -> v.equals("true") || v.equals("false"));

    /** nix.conf's builders: machines separated by ";" (or a machines file), each checked; empty = none. */
    static boolean buildersValue(String v) {
        if (v.length() > 4096) {
            return false;
        }
        for (String machine : v.split(";", -1)) {
            String m = machine.strip();
            if (!m.isEmpty() && !BUILDER.matcher(m).matches() && !MACHINES_FILE.matcher(m).matches()) {
                return false;
            }
        }
        return true;
    }

    private NixOptions() {
    }

    /** The options in a fixed (sorted) order, or an exception naming the key or value refused. */
    public static Map<String, String> validate(Map<String, String> options) {
        Map<String, String> out = new TreeMap<>();
        if (options == null) {
            return Map.of();
        }
        options.forEach((k, v) -> {
            Predicate<String> check = ALLOWED.get(k);
            if (check == null) {
                throw new IllegalArgumentException("nixOptions: \"" + k + "\" is not a setting the engine passes to"
                        + " nix (allowed: " + String.join(", ", new TreeMap<>(ALLOWED).keySet()) + ")");
            }
            if (v == null || !check.test(v)) {
                throw new IllegalArgumentException("nixOptions: " + k + " cannot be \"" + v + "\"");
            }
            out.put(k, v);
        });
        return java.util.Collections.unmodifiableMap(out);
    }
}
