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
     * installs): its classes or jar, then exactly its runtime dependencies as Maven wrote them
     * beside its classes ({@code target/runtime-classpath.txt}, engine/pom.xml). Where the engine
     * comes as a jar from the local repository (no such file), the dependencies are taken from this
     * run's class path by name.
     */
    public static List<String> engineClassPath() throws IOException {
        List<String> out = new ArrayList<>();
        Path runtime = null;
        for (String e : System.getProperty("java.class.path").split(":")) {
            Path p = Path.of(e);
            if (containsEngine(p)) {
                out.add(e);
                Path file = p.toAbsolutePath().resolveSibling("runtime-classpath.txt");
                if (Files.isRegularFile(file)) {
                    runtime = file;
                }
            }
        }
        if (runtime != null) {
            for (String e : Files.readString(runtime).strip().split(":")) {
                if (!e.isEmpty()) {
                    out.add(e);
                }
            }
            return out;
        }
        for (String e : System.getProperty("java.class.path").split(":")) {
            String name = Path.of(e).getFileName().toString();
            if (name.startsWith("jackson-") || name.startsWith("slf4j-api-") || name.startsWith("slf4j-simple-")
                    || name.startsWith("jna-") || name.startsWith("sqlite-jdbc-")) {
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
