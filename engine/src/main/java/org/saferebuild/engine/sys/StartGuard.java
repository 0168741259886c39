package org.saferebuild.engine.sys;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The engine's own check before it does anything as root (issue 6, docs/security.md "The
 * boundary"). The installed wrapper already starts the JVM with an empty environment; this is the
 * second line: if a variable that changes what code a process loads reached the engine anyway
 * (someone ran java by hand, or a broken wrapper), or the engine's code could be changed by
 * someone other than root, the engine refuses to run rather than act on it.
 */
public final class StartGuard {
    /** Variables read by the JVM, the dynamic linker, glibc or a shell that load or run other code. */
    private static final List<String> DANGEROUS = List.of(
            "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH",
            "GCONV_PATH", "LOCPATH", "NLSPATH", "GLIBC_TUNABLES", "MALLOC_TRACE", "HOSTALIASES",
            "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4");
    private static final List<String> DANGEROUS_PREFIXES = List.of("LD_", "BASH_FUNC_");

    private StartGuard() {
    }

    /** Names of dangerous variables present in {@code env}, sorted. */
    public static List<String> dangerousVariables(Map<String, String> env) {
        TreeSet<String> out = new TreeSet<>();
        for (String name : env.keySet()) {
            if (DANGEROUS.contains(name) || DANGEROUS_PREFIXES.stream().anyMatch(name::startsWith)) {
                out.add(name);
            }
        }
        return List.copyOf(out);
    }

    /**
     * Why the code this JVM runs is not trusted: the Java runtime or a class path entry that
     * someone other than root could change. Empty when all of it is root's.
     */
    public static Optional<String> untrustedCode(String javaHome, String classPath) {
        List<Path> places = new ArrayList<>();
        places.add(Path.of(javaHome));
        for (String entry : classPath.split(File.pathSeparator)) {
            if (!entry.isEmpty()) {
                places.add(Path.of(entry).toAbsolutePath());
            }
        }
        for (Path p : places) {
            // A missing entry could be created later by whoever can write its directory.
            Path existing = p;
            while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
                existing = existing.getParent();
            }
            if (existing == null) {
                continue;
            }
            Optional<String> why = Posix.untrustedReason(existing);
            if (why.isPresent()) {
                return Optional.of("the engine's code at " + p + " is not root's alone: " + why.get());
            }
        }
        return Optional.empty();
    }
}
