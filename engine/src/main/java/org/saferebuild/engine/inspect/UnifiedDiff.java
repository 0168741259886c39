package org.saferebuild.engine.inspect;

import java.util.List;

/**
 * A unified diff ("diff -u") of two small texts such as unit files: common prefix and suffix
 * trimmed, a longest-common-subsequence table for the middle, three lines of context. A middle
 * too large for the table is shown as all removed and all added, which is still a correct diff.
 */
final class UnifiedDiff {
    private static final int CONTEXT = 3;
    private static final long MAX_CELLS = 4_000_000;

    private UnifiedDiff() {
    }

    /** "" when the texts are equal. A missing side is given as null and shown as /dev/null. */
    static String of(String oldName, String newName, String oldText, String newText) {
        if (oldText != null && oldText.equals(newText)) {
            return "";
        }
        List<String> a = lines(oldText);
        List<String> b = lines(newText);
        String ops = script(a, b);
        StringBuilder out = new StringBuilder();
        out.append("--- ").append(oldText == null ? "/dev/null" : oldName).append('\n');
        out.append("+++ ").append(newText == null ? "/dev/null" : newName).append('\n');
        int n = ops.length();
        int[] ai = new int[n + 1];
        int[] bi = new int[n + 1];
        for (int k = 0; k < n; k++) {
            char op = ops.charAt(k);
            ai[k + 1] = ai[k] + (op != '+' ? 1 : 0);
            bi[k + 1] = bi[k] + (op != '-' ? 1 : 0);
        }
        int k = 0;
        while (k < n) {
            while (k < n && ops.charAt(k) == ' ') {
                k++;
            }
            if (k == n) {
                break;
            }
            int start = Math.max(0, k - CONTEXT);
            int end = k;
            // extend the hunk while changes are within 2*CONTEXT lines of each other
            while (true) {
                while (end < n && ops.charAt(end) != ' ') {
                    end++;
                }
                int run = end;
                while (run < n && ops.charAt(run) == ' ') {
                    run++;
                }
                if (run < n && run - end <= 2 * CONTEXT) {
                    end = run;
                    continue;
                }
                end = Math.min(n, end + CONTEXT);
                break;
            }
            int aLen = ai[end] - ai[start];
            int bLen = bi[end] - bi[start];
            out.append("@@ -").append(range(ai[start], aLen)).append(" +").append(range(bi[start], bLen))
                    .append(" @@\n");
            for (int j = start; j < end; j++) {
                char op = ops.charAt(j);
                String line = op == '+' ? b.get(bi[j]) : a.get(ai[j]);
                out.append(op).append(line).append('\n');
            }
            k = end;
        }
        return out.toString();
    }

    private static String range(int start, int len) {
        // diff -u numbers lines from 1; an empty range names the line before it
        int first = len == 0 ? start : start + 1;
        return len == 1 ? Integer.toString(first) : first + "," + len;
    }

    private static List<String> lines(String text) {
        if (text == null || text.isEmpty()) {
            return List.of();
        }
        String t = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
        return List.of(t.split("\n", -1));
    }

    /** The edit script: ' ' keep, '-' remove from a, '+' add from b, in order. */
    private static String script(List<String> a, List<String> b) {
        int pre = 0;
        while (pre < a.size() && pre < b.size() && a.get(pre).equals(b.get(pre))) {
            pre++;
        }
        int suf = 0;
        while (suf < a.size() - pre && suf < b.size() - pre
                && a.get(a.size() - 1 - suf).equals(b.get(b.size() - 1 - suf))) {
            suf++;
        }
        List<String> am = a.subList(pre, a.size() - suf);
        List<String> bm = b.subList(pre, b.size() - suf);
        StringBuilder ops = new StringBuilder(a.size() + b.size());
        for (int i = 0; i < pre; i++) {
            ops.append(' ');
        }
        int n = am.size();
        int m = bm.size();
        if ((long) n * m > MAX_CELLS) {
            for (int i = 0; i < n; i++) {
                ops.append('-');
            }
            for (int j = 0; j < m; j++) {
                ops.append('+');
            }
        } else {
            int[][] lcs = new int[n + 1][m + 1];
            for (int i = n - 1; i >= 0; i--) {
                for (int j = m - 1; j >= 0; j--) {
                    lcs[i][j] = am.get(i).equals(bm.get(j)) ? lcs[i + 1][j + 1] + 1
                            : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
                }
            }
            int i = 0;
            int j = 0;
            while (i < n || j < m) {
                if (i < n && j < m && am.get(i).equals(bm.get(j))) {
                    ops.append(' ');
                    i++;
                    j++;
                } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
                    ops.append('-');
                    i++;
                } else {
                    ops.append('+');
                    j++;
                }
            }
        }
        for (int s = 0; s < suf; s++) {
            ops.append(' ');
        }
        return ops.toString();
    }
}
