package org.saferebuild.engine.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fingerprint that lets a hashed store path skip the next hash: every way of changing a file
 * through the filesystem gives another fingerprint, reading does not, and the statx walk and the
 * java.nio walk (where statx is missing) agree.
 */
class StoreWalkTest {
    private interface ThrowingConsumer<T> {
        void accept(T t) throws Exception;
    }

    @TempDir
    Path dir;

    private Path tree(String name) throws Exception {
        Path top = Files.createDirectories(dir.resolve(name));
        Files.createDirectories(top.resolve("bin"));
        Files.createDirectories(top.resolve("share/doc"));
        Files.writeString(top.resolve("bin/switch-to-configuration"), "#!/bin/sh\nexit 0\n");
        Files.writeString(top.resolve("nixos-version"), "24.05\n");
        Files.writeString(top.resolve("share/doc/README"), "read me\n");
        Files.createSymbolicLink(top.resolve("sw"), Path.of("/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-sw"));
        // As nix leaves a store path: read-only, the time of 1970-01-01 00:00:01.
        try (var walk = Files.walk(top)) {
            for (Path p : walk.toList()) {
                if (!Files.isSymbolicLink(p)) {
                    Files.setLastModifiedTime(p, FileTime.fromMillis(1000));
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p)
                            ? "r-xr-xr-x" : "r--r--r--"));
                }
            }
        }
        return top;
    }

    @Test
    void everyChangeThroughTheFilesystemGivesAnotherFingerprintAndReadingDoesNot() throws Exception {
        Map<String, ThrowingConsumer<Path>> changes = new LinkedHashMap<>();
        changes.put("a byte changed in place, same size", top -> {
            Path f = top.resolve("nixos-version");
            f.toFile().setWritable(true);
            Files.writeString(f, "24.11\n", StandardOpenOption.WRITE);
            f.toFile().setWritable(false);
            Files.setLastModifiedTime(f, FileTime.fromMillis(1000)); // even with the old mtime put back
        });
        changes.put("mode changed", top -> Files.setPosixFilePermissions(top.resolve("share/doc/README"),
                PosixFilePermissions.fromString("r-xr-xr-x")));
        changes.put("only the mtime touched", top -> Files.setLastModifiedTime(top.resolve("nixos-version"),
                FileTime.fromMillis(2000)));
        changes.put("replaced by a copy (rename over)", top -> {
            Path copy = dir.resolve("copy");
            Files.copy(top.resolve("nixos-version"), copy, StandardCopyOption.COPY_ATTRIBUTES);
            top.toFile().setWritable(true);
            Files.move(copy, top.resolve("nixos-version"), StandardCopyOption.REPLACE_EXISTING);
        });
        changes.put("a file added", top -> {
            top.resolve("share/doc").toFile().setWritable(true);
            Files.writeString(top.resolve("share/doc/extra"), "x");
        });
        changes.put("a file removed", top -> {
            top.resolve("share/doc").toFile().setWritable(true);
            Files.delete(top.resolve("share/doc/README"));
        });
        changes.put("a hard link made to a file from outside", top -> Files.createLink(dir.resolve("outside"),
                top.resolve("bin/switch-to-configuration")));
        changes.put("a link pointed elsewhere", top -> {
            top.toFile().setWritable(true);
            Files.delete(top.resolve("sw"));
            Files.createSymbolicLink(top.resolve("sw"), Path.of("/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-sw"));
        });
        int i = 0;
        for (Map.Entry<String, ThrowingConsumer<Path>> c : changes.entrySet()) {
            Path top = tree("t" + i++);
            StoreWalk.Fingerprint before = StoreWalk.of(top);
            assertThat(StoreWalk.ofWithJava(top)).as("both walks agree").isEqualTo(before);
            Files.readString(top.resolve("nixos-version")); // reading changes nothing that counts
            assertThat(StoreWalk.of(top)).as("read only").isEqualTo(before);
            c.getValue().accept(top);
            StoreWalk.Fingerprint after = StoreWalk.of(top);
            assertThat(after.digest()).as(c.getKey()).isNotEqualTo(before.digest());
            assertThat(StoreWalk.ofWithJava(top)).as(c.getKey() + ": both walks agree").isEqualTo(after);
        }
    }

    @Test
    void aFileOrALinkAsTheStorePathItselfIsWalkedToo() throws Exception {
        Path file = Files.writeString(dir.resolve("single-file"), "text\n");
        Path link = Files.createSymbolicLink(dir.resolve("single-link"), Path.of("/nowhere"));
        for (Path p : new Path[] {file, link}) {
            StoreWalk.Fingerprint f = StoreWalk.of(p);
            assertThat(f.entries()).isEqualTo(1);
            assertThat(StoreWalk.ofWithJava(p)).isEqualTo(f);
        }
        assertThat(StoreWalk.of(tree("counted")).entries()).as("top, bin, its file, version, share, doc, README, sw")
                .isEqualTo(8);
    }
}
