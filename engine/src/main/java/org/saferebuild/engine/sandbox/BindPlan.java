package org.saferebuild.engine.sandbox;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.Values;

/**
 * What goes into a sandbox's root: data, not code (plans/*.json beside this class). Entries are
 * mounted in order; an entry whose target lies inside an earlier bind (such as /run/systemd in
 * /run) uses the mount point that bind brings.
 *
 * @param env   the complete environment of commands run inside the chroot
 * @param tools candidate absolute paths, inside the chroot, of the tools run there
 */
public record BindPlan(String name, String description, Map<String, String> env,
                       Map<String, List<String>> tools, List<Entry> entries) {

    public BindPlan {
        Values.require(name, "name");
        env = Map.copyOf(env);
        tools = Map.copyOf(tools);
        entries = List.copyOf(entries);
        for (Entry e : entries) {
            Values.absolutePath(e.target(), "target");
        }
    }

    public enum Type {
        @JsonProperty("bind") BIND,
        @JsonProperty("symlink") SYMLINK,
        @JsonProperty("proc") PROC,
        @JsonProperty("sysfs") SYSFS,
        @JsonProperty("tmpfs") TMPFS,
        /** A new, private devpts instance: nix gives every builder a terminal through /dev/ptmx. */
        @JsonProperty("devpts") DEVPTS
    }

    /**
     * @param source   for BIND an absolute host path (${configDir} is the configuration being
     *                 built); for SYMLINK the link's (relative) text
     * @param readOnly mounted read-only; the open fails if the kernel does not show it so
     * @param optional a missing source is skipped instead of being an error
     * @param options  extra mount options (tmpfs mode)
     * @param why      shown to the operator beside the mount
     * @param ifAbsent for a BIND whose source may be missing on a host: for an optional entry what
     *                 happens without it, for a required one how to provide it (the fix of the
     *                 SOURCE_MISSING error and of preflight)
     */
    public record Entry(Type type, String source, String target, boolean readOnly, boolean optional,
                        String options, String why, String ifAbsent) {
        public Entry {
            if (type == null) {
                throw new IllegalArgumentException("entry type is required");
            }
            if (optional && type == Type.BIND && (ifAbsent == null || ifAbsent.isBlank())) {
                throw new IllegalArgumentException("optional entry " + target + " must say what happens without it"
                        + " (ifAbsent)");
            }
            if ((type == Type.BIND || type == Type.SYMLINK) && (source == null || source.isEmpty())) {
                throw new IllegalArgumentException(type + " entry for " + target + " needs a source");
            }
            if (type == Type.SYMLINK && (source.startsWith("/") || source.contains(".."))) {
                throw new IllegalArgumentException("symlink " + target + " must be relative and stay inside the root");
            }
        }

        /** The source with ${configDir} filled in. */
        public String resolvedSource(String configDir) {
            return source == null ? null : source.replace("${configDir}", configDir);
        }

        public boolean mounted() {
            return type != Type.SYMLINK;
        }
    }

    /** Loads a plan shipped with the engine by name ("nixos", "debian-test"). */
    public static BindPlan load(String name) throws IOException {
        BindPlan cached = LOADED.get(name);
        if (cached != null) {
            return cached; // plans are resources of the engine's own jar: they do not change while it runs
        }
        BindPlan plan = read(name);
        LOADED.putIfAbsent(name, plan);
        return plan;
    }

    private static final java.util.concurrent.ConcurrentHashMap<String, BindPlan> LOADED =
            new java.util.concurrent.ConcurrentHashMap<>();

    private static BindPlan read(String name) throws IOException {
        if (!name.matches("[a-z][a-z0-9-]{0,40}")) {
            throw new IOException("no plan named " + name);
        }
        try (InputStream in = BindPlan.class.getResourceAsStream("plans/" + name + ".json")) {
            if (in == null) {
                throw new IOException("no plan named " + name);
            }
            // Flags left out of an entry (readOnly, optional) mean false.
            BindPlan plan = Json.mapper().readerFor(BindPlan.class)
                    .without(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES).readValue(in);
            if (!plan.name().equals(name)) {
                throw new IOException("plan file " + name + " declares the name " + plan.name());
            }
            return plan;
        }
    }
}
