package org.saferebuild.engine.build;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the engine needs from a .drv file (nix's ATerm format, the same on every Nix version):
 * its outputs, the derivations it needs (the build tree's edges, as nix-output-monitor reads them),
 * whether it is fixed-output (a download), and its environment.
 * {@code Derive([outputs],[inputDrvs],[inputSrcs],"system","builder",[args],[env])}.
 */
record DrvFile(String path, Map<String, String> outputs, List<String> inputDrvs, boolean fixedOutput, String builder,
               Map<String, String> env) {

    /** Where a fixed-output derivation downloads from, when it says (url, or the first of urls). */
    String url() {
        String u = env.get("url");
        if (u == null || u.isEmpty()) {
            String urls = env.getOrDefault("urls", "").strip();
            u = urls.isEmpty() ? null : urls.split("\\s+")[0];
        }
        return u;
    }

    static DrvFile read(String drvPath) throws IOException {
        return parse(drvPath, Files.readString(Path.of(drvPath), StandardCharsets.UTF_8));
    }

    static DrvFile parse(String drvPath, String text) throws IOException {
        Parser p = new Parser(text);
        Object term = p.value();
        if (!(term instanceof List<?> top) || top.size() < 7) {
            throw new IOException(drvPath + " is not a derivation");
        }
        Map<String, String> outputs = new LinkedHashMap<>();
        boolean fixed = false;
        for (Object o : (List<?>) top.get(0)) {
            List<?> t = (List<?>) o;
            outputs.put((String) t.get(0), (String) t.get(1));
            fixed |= !((String) t.get(2)).isEmpty(); // the hash algorithm: set only for fixed-output
        }
        List<String> inputs = new ArrayList<>();
        for (Object o : (List<?>) top.get(1)) {
            inputs.add((String) ((List<?>) o).get(0));
        }
        Map<String, String> env = new LinkedHashMap<>();
        for (Object o : (List<?>) top.get(6)) {
            List<?> t = (List<?>) o;
            env.put((String) t.get(0), (String) t.get(1));
        }
        return new DrvFile(drvPath, outputs, List.copyOf(inputs), fixed, (String) top.get(4), env);
    }

    /** ATerm: a constructor name before a tuple is skipped; tuples and lists become lists. */
    private static final class Parser {
        private final String s;
        private int i;

        Parser(String s) {
            this.s = s;
        }

        Object value() throws IOException {
            while (i < s.length() && Character.isLetter(s.charAt(i))) {
                i++; // "Derive"
            }
            if (i >= s.length()) {
                throw new IOException("unexpected end of derivation");
            }
            char c = s.charAt(i);
            if (c == '"') {
                return string();
            }
            if (c == '[' || c == '(') {
                char close = c == '[' ? ']' : ')';
                i++;
                List<Object> items = new ArrayList<>();
                if (s.charAt(i) == close) {
                    i++;
                    return items;
                }
                while (true) {
                    items.add(value());
                    char d = s.charAt(i++);
                    if (d == close) {
                        return items;
                    }
                    if (d != ',') {
                        throw new IOException("malformed derivation at " + (i - 1));
                    }
                }
            }
            throw new IOException("malformed derivation at " + i);
        }

        private String string() throws IOException {
            StringBuilder b = new StringBuilder();
            i++;
            while (i < s.length()) {
                char c = s.charAt(i++);
                if (c == '"') {
                    return b.toString();
                }
                if (c == '\\') {
                    char e = s.charAt(i++);
                    b.append(switch (e) {
                        case 'n' -> '\n';
                        case 't' -> '\t';
                        case 'r' -> '\r';
                        default -> e;
                    });
                } else {
                    b.append(c);
                }
            }
            throw new IOException("unterminated string in derivation");
        }
    }
}
