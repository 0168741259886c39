package org.saferebuild.engine.sys;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import org.saferebuild.engine.Problem;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Sizes;

/** Free space on the filesystems a rebuild writes (the runbook's "check with df -h"). */
public final class DiskSpace {
    private DiskSpace() {
    }

    /** Free and total bytes of the filesystem holding {@code path} (or its nearest existing parent). */
    public static PreflightReport.Disk measure(String label, Path path, long thresholdBytes) {
        Path p = existingAncestor(path);
        try {
            FileStore store = Files.getFileStore(p);
            return new PreflightReport.Disk(label, p.toString(), store.getUsableSpace(), store.getTotalSpace(),
                    thresholdBytes);
        } catch (IOException e) {
            return new PreflightReport.Disk(label, p.toString(), 0, 0, thresholdBytes);
        }
    }

    /** NO_SPACE with the numbers found and what to free, when {@code d} is below its threshold. */
    public static void require(PreflightReport.Disk d) throws Problem {
        if (!d.ok()) {
            throw new Problem(ProblemCode.NO_SPACE, shortage(d), FIX);
        }
    }

    public static String shortage(PreflightReport.Disk d) {
        return "No space left: only " + human(d.freeBytes()) + " free on the filesystem of the " + d.label()
                + " (" + d.path() + "); at least " + human(d.thresholdBytes()) + " is needed.";
    }

    public static final String FIX = "Free space: sudo nix-collect-garbage --delete-older-than 30d removes old"
            + " generations and unused store paths (pin your rollback target first, in Generations), or move"
            + " the engine's state directory to a larger disk.";

    public static String human(long bytes) {
        return Sizes.human(bytes);
    }

    static Path existingAncestor(Path p) {
        Path cur = p;
        while (cur != null && !Files.exists(cur)) {
            cur = cur.getParent();
        }
        return cur == null ? Path.of("/") : cur;
    }
}
