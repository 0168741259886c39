package org.saferebuild.engine.inspect;

/**
 * A store path's name split into package name and version the way Nix splits it (libstore's
 * {@code DrvName}, {@code builtins.parseDrvName}): the name ends at the first "-" that is followed
 * by something other than a letter, the rest is the version ("firefox-121.0.1" → firefox,
 * 121.0.1; "foo--bar-1.0" → foo, -bar-1.0). A name without such a "-" has the empty version.
 *
 * <p>Before the split, the output name of a multiple-output derivation is taken off
 * ("util-linux-2.39.2-login" is the {@code login} output of util-linux 2.39.2), so that a
 * package's outputs group under one version. {@code nix store diff-closures} guesses the output
 * name from the path name alone: any trailing lowercase word ({@code -[a-z]+}, or -lib32/-lib64).
 * That guess is wrong for names that merely end in a word: it merges
 * "X-Restart-Triggers-dbus" into "X-Restart-Triggers" and hides 1.0 → 1.0-pre. Where the store
 * says how a path was made, the engine knows instead of guessing (see {@link #parse(String, String)});
 * the guess is kept only for paths of unknown origin. docs/inspect.md lists the differences.
 */
record StoreName(String pname, String version) {

    /**
     * A path's origin, as the store records it, for {@link #parse(String, String)}: this value
     * means "added to the store directly (content-addressed, no deriver: builtins.toFile, a path
     * literal, nix-store --add)", which is never an output of a derivation.
     */
    static final String ADDED_DIRECTLY = "";

    /** Parses a name of unknown origin: diff-closures' guess at the output name, then Nix's split. */
    static StoreName parse(String name) {
        return parse(name, null);
    }

    /**
     * Parses the name part of a store path (after "/nix/store/&lt;hash&gt;-").
     *
     * @param origin the name of the derivation that made the path ("util-linux-2.39.2" for
     *               "…-util-linux-2.39.2.drv"): the path is then that derivation's default output
     *               (same name) or its output named by the rest ("-login"); {@link #ADDED_DIRECTLY}
     *               for a path that no derivation made; null when the store does not say (then the
     *               output name is guessed as diff-closures guesses it)
     */
    static StoreName parse(String name, String origin) {
        return split(withoutOutput(name, origin));
    }

    /** The name with the output name taken off (see {@link #parse(String, String)}). */
    static String withoutOutput(String name, String origin) {
        if (origin == null) {
            return guessWithoutOutput(name);
        }
        if (origin.isEmpty() || origin.equals(name)) {
            return name;
        }
        if (name.length() > origin.length() + 1 && name.startsWith(origin) && name.charAt(origin.length()) == '-') {
            return origin;
        }
        // Made by a derivation of another name (nothing Nix does today): fall back on the guess.
        return guessWithoutOutput(name);
    }

    /**
     * diff-closures' output-name guess, {@code std::regex_match(name, "(.*)-([a-z]+|lib32|lib64)")}:
     * the part after the last "-" is taken off when it is all lowercase letters, or lib32/lib64.
     */
    static String guessWithoutOutput(String name) {
        int dash = name.lastIndexOf('-');
        if (dash < 0) {
            return name;
        }
        String tail = name.substring(dash + 1);
        if (tail.equals("lib32") || tail.equals("lib64")) {
            return name.substring(0, dash);
        }
        if (tail.isEmpty()) {
            return name;
        }
        for (int i = 0; i < tail.length(); i++) {
            char c = tail.charAt(i);
            if (c < 'a' || c > 'z') {
                return name;
            }
        }
        return name.substring(0, dash);
    }

    /**
     * Nix's DrvName: the name is everything before the first "-" that is followed by a character
     * that is not a letter (C's isalpha); the version is what follows that "-".
     */
    static StoreName split(String name) {
        for (int i = 0; i + 1 < name.length(); i++) {
            if (name.charAt(i) == '-' && !isAlpha(name.charAt(i + 1))) {
                return new StoreName(name.substring(0, i), name.substring(i + 1));
            }
        }
        return new StoreName(name, "");
    }

    /** The name part of a store path: what follows the 32-character hash and its dash. */
    static String nameOf(String storePath) {
        int slash = storePath.lastIndexOf('/');
        return storePath.substring(slash + 1 + 33);
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isAlpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    /**
     * Nix's own version order, {@code builtins.compareVersions} (libstore's compareVersions):
     * both versions are cut into components (a run of digits, or a run of other characters up to a
     * "." or "-", which only separate) and compared component by component with
     * {@link #componentLess}: the first component that orders decides.
     */
    static int compareVersions(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() || j < b.length()) {
            int[] ca = nextComponent(a, i);
            int[] cb = nextComponent(b, j);
            String x = a.substring(ca[0], ca[1]);
            String y = b.substring(cb[0], cb[1]);
            if (componentLess(x, y)) {
                return -1;
            }
            if (componentLess(y, x)) {
                return 1;
            }
            i = ca[1];
            j = cb[1];
        }
        return 0;
    }

    /** [start, end) of the component at or after {@code from}, skipping separators. */
    private static int[] nextComponent(String s, int from) {
        int p = from;
        while (p < s.length() && (s.charAt(p) == '.' || s.charAt(p) == '-')) {
            p++;
        }
        int start = p;
        if (p < s.length()) {
            if (isDigit(s.charAt(p))) {
                while (p < s.length() && isDigit(s.charAt(p))) {
                    p++;
                }
            } else {
                while (p < s.length() && !isDigit(s.charAt(p)) && s.charAt(p) != '.' && s.charAt(p) != '-') {
                    p++;
                }
            }
        }
        return new int[] {start, p};
    }

    /**
     * libstore's componentsLT, literally: a component is a number only if it fits a C int (Nix
     * parses it with {@code string2Int<int>}), so "3000000000" is a word, and a word is older than
     * any number: Nix orders 2.0.3000000000 before 2.0.4. Then: an empty component is older than a
     * number; "pre" is older than anything else; a word is older than a number; words compare
     * byte by byte.
     */
    static boolean componentLess(String c1, String c2) {
        long n1 = asInt(c1);
        long n2 = asInt(c2);
        if (n1 >= 0 && n2 >= 0) {
            return n1 < n2;
        } else if (c1.isEmpty() && n2 >= 0) {
            return true;
        } else if (c1.equals("pre") && !c2.equals("pre")) {
            return true;
        } else if (c2.equals("pre")) {
            return false;
        } else if (n2 >= 0) {
            return true;
        } else if (n1 >= 0) {
            return false;
        }
        return c1.compareTo(c2) < 0; // store names are ASCII: UTF-16 order is byte order
    }

    /** The component's value if it is all digits and fits a 32-bit signed int, else -1. */
    private static long asInt(String c) {
        if (c.isEmpty()) {
            return -1;
        }
        long v = 0;
        for (int k = 0; k < c.length(); k++) {
            char ch = c.charAt(k);
            if (!isDigit(ch)) {
                return -1;
            }
            v = v * 10 + (ch - '0');
            if (v > Integer.MAX_VALUE) {
                return -1;
            }
        }
        return v;
    }
}
