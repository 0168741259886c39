package org.saferebuild.engine.inspect;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code nix path-info --json --recursive A B}: the union of the closures, each path with its
 * references, so each side's closure is a walk from its top path. Two layouts are read: Nix
 * 2.8–2.18 print a list of objects with a "path"; 2.19 and later an object keyed by path. Each
 * path's "narSize", "references" (full paths), "deriver" and "ca" are used.
 */
final class PathInfoJson {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private PathInfoJson() {
    }

    private record Info(long narSize, List<String> references, String origin) {
    }

    /** Each top's closure, or empty if the text is not a layout this engine knows. */
    static Optional<Map<String, ClosureQuery.Closure>> closures(String json, List<String> tops) {
        Map<String, Info> infos = new HashMap<>();
        try {
            JsonNode root = MAPPER.readTree(json);
            if (root == null) {
                return Optional.empty();
            }
            if (root.isArray()) {
                for (JsonNode o : root) {
                    JsonNode path = o.get("path");
                    if (path == null || !path.isTextual()) {
                        return Optional.empty();
                    }
                    infos.put(path.asText(), info(o));
                }
            } else if (root.isObject()) {
                for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (!e.getKey().startsWith(StoreFiles.STORE) || !e.getValue().isObject()) {
                        return Optional.empty();
                    }
                    infos.put(e.getKey(), info(e.getValue()));
                }
            } else {
                return Optional.empty();
            }
        } catch (java.io.IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
        Map<String, ClosureQuery.Closure> out = new LinkedHashMap<>();
        for (String top : tops) {
            if (!infos.containsKey(top)) {
                return Optional.empty();
            }
            try {
                out.put(top, walk(top, infos));
            } catch (IllegalArgumentException e) {
                return Optional.empty();
            }
        }
        return Optional.of(out);
    }

    private static Info info(JsonNode o) {
        JsonNode size = o.get("narSize");
        JsonNode refs = o.get("references");
        if (size == null || !size.canConvertToLong() || refs == null || !refs.isArray()) {
            throw new IllegalArgumentException("no narSize or references");
        }
        List<String> references = new ArrayList<>(refs.size());
        for (JsonNode r : refs) {
            if (!r.isTextual() || !r.asText().startsWith(StoreFiles.STORE)) {
                throw new IllegalArgumentException("a reference that is not a store path");
            }
            references.add(r.asText());
        }
        JsonNode deriver = o.get("deriver");
        JsonNode ca = o.get("ca");
        String origin = ClosureQuery.origin(deriver != null && deriver.isTextual() ? deriver.asText() : null,
                ca != null && !ca.isNull());
        return new Info(size.asLong(), references, origin);
    }

    private static ClosureQuery.Closure walk(String top, Map<String, Info> infos) {
        List<String> names = new ArrayList<>();
        List<String> origins = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        Map<String, Boolean> seen = new HashMap<>();
        ArrayDeque<String> todo = new ArrayDeque<>();
        todo.add(top);
        seen.put(top, true);
        long total = 0;
        while (!todo.isEmpty()) {
            String p = todo.poll();
            Info i = infos.get(p);
            if (i == null) {
                throw new IllegalArgumentException(p + " is referenced but nix did not list it");
            }
            names.add(StoreName.nameOf(p));
            origins.add(i.origin());
            sizes.add(i.narSize());
            total += i.narSize();
            for (String r : i.references()) {
                if (seen.putIfAbsent(r, true) == null) {
                    todo.add(r);
                }
            }
        }
        long[] s = new long[sizes.size()];
        for (int k = 0; k < s.length; k++) {
            s[k] = sizes.get(k);
        }
        return new ClosureQuery.Closure(top, names.toArray(new String[0]), s, origins.toArray(new String[0]), total);
    }
}
