package org.saferebuild.engine.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** This repository, as the tests find it, and the engine's class path entries of a test run. */
public final class Repository {
    private Repository() {
    }

    /** The repository root (surefire runs in a module directory). */
    public static Path root() {
        Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("packaging/install-engine.sh"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find the repository (packaging/install-engine.sh) above "
                    + System.getProperty("user.dir"));
        }
        return p;
    }

    /**
     * The engine's own class path entries of this test run (what packaging/install-engine.sh
     * installs): its classes or jar, Jackson and slf4j.
     */
    public static List<String> engineClassPath() throws IOException {
        List<String> out = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(":")) {
            Path p = Path.of(e);
            String name = p.getFileName().toString();
            if (name.startsWith("jackson-") || name.startsWith("slf4j-") || containsEngine(p)) {
                out.add(e);
            }
        }
        return out;
    }

    /** Whether a class path entry (a classes directory or a jar) holds the engine. */
    public static boolean containsEngine(Path p) throws IOException {
        if (Files.isDirectory(p)) {
            return Files.exists(p.resolve("org/saferebuild/engine/Main.class"));
        }
        if (p.getFileName().toString().endsWith(".jar") && Files.isRegularFile(p)) {
            try (java.util.jar.JarFile jar = new java.util.jar.JarFile(p.toFile())) {
                return jar.getEntry("org/saferebuild/engine/Main.class") != null;
            }
        }
        return false;
    }
}
