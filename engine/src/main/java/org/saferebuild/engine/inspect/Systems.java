package org.saferebuild.engine.inspect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.build.BuiltSystems;
import org.saferebuild.protocol.InspectResult.SystemInfo;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRef;

/**
 * Turns what the app names (the running system, generation N, a store path) into a system the
 * engine may read and whose switch-to-configuration it may run as root. Only three kinds of
 * system qualify: the running/booted system, a generation of the engine's system profile, and a
 * system the engine built itself or adopted ({@link BuiltSystems}: a GC root in state/gcroots/builds/
 * or state/gcroots/adopted/, or a pinned one in state/gcroots/pinned/).
 * Any other store path is refused: anyone can add paths to the store, and dry-activate runs the
 * system's own program.
 */
public final class Systems {
    private final EngineConfig config;
    private final BuiltSystems built;

    public Systems(EngineConfig config, BuiltSystems built) {
        this.config = config;
        this.built = built;
    }

    /**
     * A system resolved and allowed.
     *
     * @param generation the newest profile generation pointing at it, or null
     */
    public record Resolved(SystemRef ref, String path, String label, Integer generation, boolean running,
                           boolean booted) {
        public Path root() {
            return Path.of(path);
        }

        /** The label as it reads inside a sentence: "the running system", "generation 3". */
        public String phrase() {
            return label.startsWith("generation") ? label : "the " + label;
        }

        public SystemInfo info() {
            return new SystemInfo(ref, path, label, generation, running, booted,
                    StoreFiles.smallText(root().resolve("nixos-version"), 200));
        }
    }

    /** A generation of the system profile: its number and the store path it points at. */
    public record Generation(int number, String path) {
    }

    public Resolved resolve(SystemRef ref) throws Problem {
        String path;
        if (ref instanceof SystemRef.Current) {
            path = running().orElseThrow(() -> Problem.notFound(
                    "There is no running NixOS system at " + config.currentSystem() + ".",
                    "This typically happens when the engine runs on a machine that is not NixOS (a test or"
                            + " demo machine). To fix this compare two generations or a built system instead, or"
                            + " set currentSystem in the engine settings (the demo system does)."));
        } else if (ref instanceof SystemRef.Generation g) {
            path = generation(g.number()).orElseThrow(() -> Problem.notFound(
                    "The system profile " + config.systemProfile() + " has no generation " + g.number() + "."
                            + describeGenerations(),
                    "Pick one of the listed generations; old ones are removed by garbage collection."));
        } else {
            path = allowedPath(((SystemRef.StorePath) ref).path());
        }
        return describe(ref, path);
    }

    private Resolved describe(SystemRef ref, String path) {
        boolean running = running().map(path::equals).orElse(false);
        boolean booted = booted().map(path::equals).orElse(false);
        Integer gen = null;
        if (ref instanceof SystemRef.Generation g) {
            gen = g.number();
        } else {
            for (Generation g : generations()) {
                if (g.path().equals(path)) {
                    gen = g.number();
                }
            }
        }
        StringBuilder label = new StringBuilder();
        if (ref instanceof SystemRef.Current) {
            label.append("running system");
            if (gen != null) {
                label.append(" (generation ").append(gen).append(')');
            }
        } else if (gen != null) {
            label.append("generation ").append(gen);
            if (running) {
                label.append(" (running)");
            }
        } else {
            label.append(running ? "running system" : "built system");
        }
        return new Resolved(ref, path, label.toString(), gen, running, booted);
    }

    private String allowedPath(String path) throws Problem {
        if (!allowed(path)) {
            throw new Problem(ProblemCode.INVALID_ARGUMENT, "The store path " + path
                    + " is not a system this engine built, nor a generation of " + config.systemProfile() + ".",
                    "Inspect and compare only read systems Safe Rebuild built itself or the profile's generations,"
                            + " because comparing runs the system's own switch-to-configuration as root. To fix this"
                            + " build the configuration with Safe Rebuild (the Build step) or choose a generation.");
        }
        if (!Files.isDirectory(Path.of(path))) {
            throw Problem.notFound("The system " + path + " is not in the Nix store any more.",
                    "This typically happens after garbage collection. To fix this build the configuration again"
                            + " (the Build step) or pick another generation.");
        }
        return path;
    }

    private boolean allowed(String path) {
        if (running().map(path::equals).orElse(false) || booted().map(path::equals).orElse(false)) {
            return true;
        }
        for (Generation g : generations()) {
            if (g.path().equals(path)) {
                return true;
            }
        }
        if (built.isBuilt(path)) {
            return true;
        }
        // pinned generations' roots (the rollback target kept from garbage collection)
        for (Path root : links(config.state().resolve("gcroots").resolve("pinned"))) {
            if (StoreFiles.storePathBehind(root).map(path::equals).orElse(false)) {
                return true;
            }
        }
        return false;
    }

    public Optional<String> running() {
        return StoreFiles.storePathBehind(Path.of(config.currentSystem()));
    }

    public Optional<String> booted() {
        return StoreFiles.storePathBehind(Path.of(config.bootedSystem()));
    }

    public Optional<String> generation(int number) {
        Path profile = Path.of(config.systemProfile());
        Path parent = profile.getParent();
        if (parent == null) {
            return Optional.empty();
        }
        return StoreFiles.storePathBehind(parent.resolve(profile.getFileName() + "-" + number + "-link"));
    }

    /** The profile's generations, oldest first (the links nix-env keeps next to the profile). */
    public List<Generation> generations() {
        Path profile = Path.of(config.systemProfile());
        Path parent = profile.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            return List.of();
        }
        Pattern p = Pattern.compile(Pattern.quote(profile.getFileName().toString()) + "-(\\d{1,9})-link");
        TreeMap<Integer, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.list(parent)) {
            for (Path link : s.toList()) {
                Matcher m = p.matcher(link.getFileName().toString());
                if (m.matches()) {
                    StoreFiles.storePathBehind(link).ifPresent(t -> out.put(Integer.valueOf(m.group(1)), t));
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        List<Generation> list = new ArrayList<>();
        out.forEach((n, t) -> list.add(new Generation(n, t)));
        return list;
    }

    private String describeGenerations() {
        List<Generation> gens = generations();
        if (gens.isEmpty()) {
            return " It has no generations at all.";
        }
        return " It has: " + String.join(", ", gens.stream().map(g -> Integer.toString(g.number())).toList()) + ".";
    }

    /** Symbolic links directly in a GC-root directory (a missing directory has none). */
    private static List<Path> links(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isSymbolicLink).sorted(Comparator.naturalOrder()).toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
