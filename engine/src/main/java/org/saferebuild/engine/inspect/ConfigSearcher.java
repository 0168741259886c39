package org.saferebuild.engine.inspect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Stream;
import org.saferebuild.engine.Problem;
import org.saferebuild.protocol.InspectResult.ConfigHit;
import org.saferebuild.protocol.InspectResult.ConfigSearch;
import org.saferebuild.protocol.ProblemCode;

/**
 * Runbook step 4's {@code grep -r "field.chakra" result/etc/}, done properly: it follows the links
 * a real NixOS etc/ consists of (grep -r does not, and finds nothing there), reads only files in
 * the store, skips binary files (a NUL byte, as grep decides), and is bounded in files, file size
 * and hits so that a huge etc/ cannot stall the engine. Patterns are regular expressions as grep
 * reads them for plain text: "field.chakra" also matches "field-chakra".
 */
final class ConfigSearcher {
    static final int MAX_FILES = 20_000;
    static final int MAX_FILE_BYTES = 4 << 20;
    static final int MAX_HITS = 1_000;
    static final int MAX_DEPTH = 32;
    static final int MAX_TEXT = 400;

    private ConfigSearcher() {
    }

    static List<Pattern> compile(List<String> patterns) throws Problem {
        List<Pattern> out = new ArrayList<>();
        for (String p : patterns) {
            try {
                out.add(Pattern.compile(p));
            } catch (PatternSyntaxException e) {
                throw new Problem(ProblemCode.INVALID_ARGUMENT, "The configSearch setting \"" + p
                        + "\" is not a valid regular expression: " + e.getDescription() + ".",
                        "Fix configSearch in the engine settings file (plain words work; escape . as \\\\. to match a dot only).");
            }
        }
        return out;
    }

    static ConfigSearch search(Path systemRoot, List<String> patternTexts, List<Pattern> patterns) throws IOException {
        List<ConfigHit> hits = new ArrayList<>();
        int files = 0;
        int binary = 0;
        int large = 0;
        boolean truncated = false;
        Set<Path> seen = new HashSet<>();
        Deque<Object[]> todo = new ArrayDeque<>();
        todo.push(new Object[] {"etc", systemRoot.resolve("etc"), 0});
        outer:
        while (!todo.isEmpty()) {
            Object[] item = todo.pop();
            String shown = (String) item[0];
            Path path = (Path) item[1];
            int depth = (Integer) item[2];
            Optional<Path> real = StoreFiles.real(path);
            if (real.isEmpty() || real.get().equals(StoreFiles.DEV_NULL)) {
                continue;
            }
            Path r = real.get();
            if (Files.isDirectory(r)) {
                if (depth >= MAX_DEPTH || !seen.add(r)) {
                    continue;
                }
                List<Path> children;
                try (Stream<Path> s = Files.list(r)) {
                    children = s.sorted(java.util.Comparator.reverseOrder()).toList();
                } catch (IOException e) {
                    continue;
                }
                for (Path c : children) {
                    todo.push(new Object[] {shown + "/" + c.getFileName(), c, depth + 1});
                }
                continue;
            }
            if (!Files.isRegularFile(r) || !seen.add(r)) {
                continue; // a file reached through a second link (X.wants/ → ../X) is searched once
            }
            if (files >= MAX_FILES) {
                truncated = true;
                break;
            }
            byte[] bytes;
            try {
                bytes = StoreFiles.readBounded(r, MAX_FILE_BYTES);
            } catch (IOException e) {
                continue;
            }
            if (bytes == null) {
                large++;
                continue;
            }
            if (hasNul(bytes)) {
                binary++;
                continue;
            }
            files++;
            String text = StoreFiles.decode(bytes);
            int lineNo = 0;
            int pos = 0;
            while (pos < text.length()) {
                int eol = text.indexOf('\n', pos);
                if (eol < 0) {
                    eol = text.length();
                }
                lineNo++;
                String line = text.substring(pos, eol);
                for (int i = 0; i < patterns.size(); i++) {
                    Matcher m = patterns.get(i).matcher(line);
                    if (m.find()) {
                        if (hits.size() >= MAX_HITS) {
                            truncated = true;
                            break outer;
                        }
                        String t = line.length() > MAX_TEXT ? line.substring(0, MAX_TEXT) + "…" : line;
                        hits.add(new ConfigHit(patternTexts.get(i), shown, lineNo, t.stripTrailing()));
                    }
                }
                pos = eol + 1;
            }
        }
        return new ConfigSearch(patternTexts, hits, files, binary, large, truncated);
    }

    private static boolean hasNul(byte[] b) {
        for (byte x : b) {
            if (x == 0) {
                return true;
            }
        }
        return false;
    }
}
