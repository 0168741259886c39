package org.saferebuild.engine.inspect;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.protocol.ProblemCode;

/**
 * A system's closure from ONE nix query: {@code nix path-info -r -s PATH} lists every path of the
 * closure with its NAR size. Its plain-text output ("path TAB size") is the same from Nix 2.8 to
 * current releases (the --json layout changed in 2.19), and it is the cheapest query that gives
 * sizes. Results are cached by top-level path: a valid store path's closure never changes.
 */
public final class ClosureQuery {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final int CACHE_ENTRIES = 8;

    private final Tools tools;
    private final NixEnv nixEnv;
    private final Map<String, Closure> cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Closure> eldest) {
            return size() > CACHE_ENTRIES;
        }
    };

    public ClosureQuery(Tools tools, NixEnv nixEnv) {
        this.tools = tools;
        this.nixEnv = nixEnv;
    }

    /**
     * The closure of a store path: names (the part after the hash) and NAR sizes, in two parallel
     * arrays so that 7,000 paths cost two small arrays rather than 7,000 objects.
     */
    public record Closure(String top, String[] names, long[] sizes, long totalBytes) {
        public int size() {
            return names.length;
        }
    }

    /** From the cache if this path's closure was asked before, otherwise from nix. */
    public Closure of(String storePath) throws Problem {
        synchronized (cache) {
            Closure c = cache.get(storePath);
            if (c != null) {
                return c;
            }
        }
        Closure c = query(storePath);
        synchronized (cache) {
            cache.put(storePath, c);
        }
        return c;
    }

    /** Always asks nix (the benchmark measures this path). */
    public Closure query(String storePath) throws Problem {
        Command cmd = Command.of(tools.require("nix"))
                .args("path-info", "--extra-experimental-features", "nix-command")
                .args(NixEnv.offlineArgs())
                .args("--recursive", "--size", storePath)
                .env(nixEnv.hostEnv())
                .timeout(TIMEOUT)
                .build();
        Exec.Outcome out;
        try {
            out = Exec.run(cmd);
        } catch (IOException e) {
            throw Problem.internal("Could not run nix path-info: " + e.getMessage(), e);
        }
        if (!out.ok()) {
            throw new Problem(ProblemCode.CLOSURE_INCOMPLETE, "Nix could not list the closure of " + storePath
                    + ": " + NixEnv.firstError(out.stderr()),
                    "This typically happens when the system was garbage-collected or copied without its"
                            + " dependencies. To fix this build it again (the Build step), or pick another generation.");
        }
        return parse(storePath, out.stdout());
    }

    /** Parses "PATH  TAB  SIZE" lines; anything else is a bug worth hearing about. */
    static Closure parse(String top, String text) throws Problem {
        List<String> names = new ArrayList<>(8192);
        long[] sizes = new long[8192];
        long total = 0;
        int n = 0;
        int pos = 0;
        int len = text.length();
        while (pos < len) {
            int eol = text.indexOf('\n', pos);
            if (eol < 0) {
                eol = len;
            }
            int pathEnd = pos;
            while (pathEnd < eol && !Character.isWhitespace(text.charAt(pathEnd))) {
                pathEnd++;
            }
            if (pathEnd > pos) {
                int numEnd = eol;
                while (numEnd > pathEnd && Character.isWhitespace(text.charAt(numEnd - 1))) {
                    numEnd--;
                }
                int numStart = numEnd;
                while (numStart > pathEnd && Character.isDigit(text.charAt(numStart - 1))) {
                    numStart--;
                }
                if (numStart == numEnd || !text.startsWith("/nix/store/", pos) || pathEnd - pos < 11 + 33) {
                    throw Problem.internal("Unexpected line from nix path-info: "
                            + text.substring(pos, Math.min(eol, pos + 200)), null);
                }
                long size = Long.parseLong(text, numStart, numEnd, 10);
                if (n == sizes.length) {
                    sizes = java.util.Arrays.copyOf(sizes, n * 2);
                }
                names.add(text.substring(pos + 11 + 33, pathEnd));
                sizes[n++] = size;
                total += size;
            }
            pos = eol + 1;
        }
        return new Closure(top, names.toArray(new String[0]), java.util.Arrays.copyOf(sizes, n), total);
    }
}
