package org.saferebuild.app.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;

/** Real and effective uids of processes, from /proc/PID/status (readable for any process). */
final class ProcessIds {
    private ProcessIds() {
    }

    /** This app's effective uid. */
    static int effectiveUid() {
        return uid(ProcessHandle.current().pid(), 1).orElseThrow();
    }

    /** The real uid of a process; after pkexec or sudo has authorized, it is 0. */
    static OptionalInt realUid(long pid) {
        return uid(pid, 0);
    }

    private static OptionalInt uid(long pid, int field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("Uid:")) {
                    return OptionalInt.of(Integer.parseInt(line.substring(4).trim().split("\\s+")[field]));
                }
            }
        } catch (IOException | RuntimeException e) {
            return OptionalInt.empty(); // gone
        }
        return OptionalInt.empty();
    }
}
