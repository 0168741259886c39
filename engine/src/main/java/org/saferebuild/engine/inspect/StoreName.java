package org.saferebuild.engine.inspect;

import java.util.Set;

/**
 * A store path's name split the way nvd splits it: the package name ends at the first "-" that is
 * followed by a digit, the rest is the version ("firefox-121.0.1" → firefox, 121.0.1). A trailing
 * output name of a multiple-output package ("systemd-254.6-man") is not part of the version, so
 * a package's outputs group under one version, as nix store diff-closures groups them. A name
 * without such a "-" has the empty version.
 */
record StoreName(String pname, String version) {

    /**
     * Output names of nixpkgs' multiple-output derivations ("systemd-254.6-man"); only stripped
     * after a version. Derivation names that merely end in a word ("linux-6.1.69-modules") keep
     * it, as nvd shows them.
     */
    private static final Set<String> OUTPUTS = Set.of("out", "bin", "dev", "lib", "man", "doc", "devdoc", "info",
            "debug", "static", "lib32", "lib64", "terminfo");

    /** Parses the name part of a store path (after "/nix/store/&lt;hash&gt;-"). */
    static StoreName parse(String name) {
        int n = name.length();
        for (int i = 0; i + 1 < n; i++) {
            if (name.charAt(i) == '-' && isDigit(name.charAt(i + 1))) {
                String version = name.substring(i + 1);
                int dash = version.lastIndexOf('-');
                if (dash > 0 && OUTPUTS.contains(version.substring(dash + 1))) {
                    version = version.substring(0, dash);
                }
                return new StoreName(name.substring(0, i), version);
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

    /**
     * Nix's own version order (builtins.compareVersions): split into components at "." and "-",
     * and at every change between digits and letters; numbers compare numerically, a number is
     * newer than a word, "pre" is older than anything, an empty component is older than a number,
     * other words compare as strings.
     */
    static int compareVersions(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() || j < b.length()) {
            int[] ca = nextComponent(a, i);
            int[] cb = nextComponent(b, j);
            String x = a.substring(ca[0], ca[1]);
            String y = b.substring(cb[0], cb[1]);
            int c = compareComponent(x, y);
            if (c != 0) {
                return c;
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
            boolean digits = isDigit(s.charAt(p));
            while (p < s.length() && s.charAt(p) != '.' && s.charAt(p) != '-' && isDigit(s.charAt(p)) == digits) {
                p++;
            }
        }
        return new int[] {start, p};
    }

    private static int compareComponent(String x, String y) {
        boolean xn = !x.isEmpty() && isDigit(x.charAt(0));
        boolean yn = !y.isEmpty() && isDigit(y.charAt(0));
        if (xn && yn) {
            String xs = stripZeros(x);
            String ys = stripZeros(y);
            return xs.length() != ys.length() ? Integer.compare(xs.length(), ys.length()) : xs.compareTo(ys);
        }
        if (x.isEmpty() && yn) {
            return -1;
        }
        if (y.isEmpty() && xn) {
            return 1;
        }
        if (x.equals("pre") && !y.equals("pre")) {
            return -1;
        }
        if (y.equals("pre") && !x.equals("pre")) {
            return 1;
        }
        if (yn) {
            return -1;
        }
        if (xn) {
            return 1;
        }
        return x.compareTo(y);
    }

    private static String stripZeros(String digits) {
        int k = 0;
        while (k < digits.length() - 1 && digits.charAt(k) == '0') {
            k++;
        }
        return digits.substring(k);
    }
}
