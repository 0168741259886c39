package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Which store paths this engine built: every build result is a GC root link under
 * {@code <stateDir>/gcroots/builds/} (DESIGN.md, "Built results are GC roots in the engine's state
 * directory"). Apply takes a store path only if one of those links points at it, so the app
 * cannot make the engine activate an arbitrary path.
 */
public final class BuiltSystems {
    private final Path roots;

    public BuiltSystems(Path stateDir) {
        this.roots = stateDir.resolve("gcroots").resolve("builds");
    }

    public Path roots() {
        return roots;
    }

    public boolean built(String storePath) {
        if (!Files.isDirectory(roots)) {
            return false;
        }
        try (Stream<Path> links = Files.walk(roots, 3)) {
            return links.filter(Files::isSymbolicLink).anyMatch(l -> {
                try {
                    return Files.readSymbolicLink(l).toString().equals(storePath);
                } catch (IOException e) {
                    return false;
                }
            });
        } catch (IOException e) {
            return false;
        }
    }
}
