package org.saferebuild.engine.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Reading mount tables in tests. */
public final class Mounts {
    private Mounts() {
    }

    public static List<String> table(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/mountinfo"));
    }

    public static List<String> hostTable() throws IOException {
        return table(1);
    }

    /** Lines of a mount table whose mount point is at or below {@code dir}. */
    public static List<String> below(List<String> table, Path dir) {
        String d = dir.toString();
        return table.stream().filter(l -> {
            String mp = l.split(" ")[4];
            return mp.equals(d) || mp.startsWith(d + "/");
        }).toList();
    }
}
