package org.saferebuild.engine.sys;

import java.nio.file.Path;

/** Removes one file with {@link SafeFiles#deleteSynced}, for SafeFilesTest to watch under strace. */
public final class RemoveSyncedMain {
    private RemoveSyncedMain() {
    }

    public static void main(String[] args) throws Exception {
        SafeFiles.forceFallback = Boolean.parseBoolean(args[1]);
        if (!SafeFiles.deleteSynced(Path.of(args[0]))) {
            throw new IllegalStateException(args[0] + " was not there");
        }
    }
}
