package org.saferebuild.engine.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The engine's one writer refuses every link in its way, with openat2 and with the per-component
 * O_NOFOLLOW walk used where openat2 is missing (Linux before 5.6), and a victim a link points
 * at is never touched.
 */
class SafeFilesTest {
    @TempDir
    Path dir;

    @AfterEach
    void back() {
        SafeFiles.forceFallback = false;
    }

    private Path victim() throws Exception {
        Path v = Files.createDirectories(dir.resolve("victim")).resolve("shadow");
        Files.writeString(v, "root:secret\n");
        return v;
    }

    private Path state() throws Exception {
        return Files.createDirectory(dir.resolve("state"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    @ParameterizedTest(name = "fallback={0}")
    @ValueSource(booleans = {false, true})
    void aLinkAtTheNameIsNeverWrittenThrough(boolean fallback) throws Exception {
        SafeFiles.forceFallback = fallback;
        Path victim = victim();
        Path state = state();
        Path latest = state.resolve("latest.json");
        Files.createSymbolicLink(latest, victim);

        // Replacing renames over the link itself: the link is gone, the victim untouched.
        SafeFiles.replace(latest, "{\"new\":true}");
        assertThat(Files.isSymbolicLink(latest)).isFalse();
        assertThat(Files.readString(latest)).isEqualTo("{\"new\":true}");
        assertThat(Files.readString(victim)).isEqualTo("root:secret\n");

        // Creating, opening, locking and reading never go through a link.
        Path fstab = state.resolve("sb-x.fstab");
        Files.createSymbolicLink(fstab, victim);
        assertThatThrownBy(() -> SafeFiles.create(fstab, "/ / none bind 0 0\n"))
                .isInstanceOf(SafeFiles.Planted.class).hasMessageContaining("is a link");
        assertThatThrownBy(() -> SafeFiles.createStream(fstab, 0600)).isInstanceOf(SafeFiles.Planted.class);
        assertThatThrownBy(() -> SafeFiles.open(fstab, 0600, true)).isInstanceOf(SafeFiles.Planted.class);
        assertThatThrownBy(() -> SafeFiles.tryLock(fstab)).isInstanceOf(SafeFiles.Planted.class);
        assertThatThrownBy(() -> SafeFiles.readString(fstab, 1000)).isInstanceOf(SafeFiles.Planted.class);
        assertThat(Files.readString(victim)).isEqualTo("root:secret\n");
        assertThat(SafeFiles.delete(fstab)).isTrue();
        assertThat(victim).exists();
        try (var left = Files.list(state)) {
            assertThat(left).extracting(p -> p.getFileName().toString()).containsExactly("latest.json");
        }
    }

    /** A sandbox's work directory is its own lock: held once, no file made, never through a link. */
    @ParameterizedTest(name = "fallback={0}")
    @ValueSource(booleans = {false, true})
    void aDirectoryIsLockedItselfOnceAndNeverThroughALink(boolean fallback) throws Exception {
        SafeFiles.forceFallback = fallback;
        Path state = state();
        Path work = Files.createDirectory(state.resolve("sb-x"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try (SafeFiles.Handle first = SafeFiles.tryLockDirectory(work)) {
            assertThat(first).isNotNull();
            assertThat(SafeFiles.tryLockDirectory(work)).as("a second lock while the first is held").isNull();
        }
        try (SafeFiles.Handle again = SafeFiles.tryLockDirectory(work)) {
            assertThat(again).as("free again once released").isNotNull();
        }
        Path link = state.resolve("sb-link");
        Files.createSymbolicLink(link, work);
        assertThatThrownBy(() -> SafeFiles.tryLockDirectory(link)).isInstanceOf(SafeFiles.Planted.class);
        try (var left = Files.list(state)) {
            assertThat(left).extracting(p -> p.getFileName().toString()).containsExactlyInAnyOrder("sb-x", "sb-link");
        }
        assertThat(work).isEmptyDirectory();
    }

    @ParameterizedTest(name = "fallback={0}")
    @ValueSource(booleans = {false, true})
    void aLinkAnywhereInTheDirectoryPathIsRefused(boolean fallback) throws Exception {
        SafeFiles.forceFallback = fallback;
        Path victim = victim();
        Path state = state();
        Path apply = state.resolve("apply");
        Files.createSymbolicLink(apply, victim.getParent());
        Path pending = apply.resolve("pending.json");
        assertThatThrownBy(() -> SafeFiles.replace(pending, "{}"))
                .isInstanceOf(SafeFiles.Planted.class).hasMessageContaining(apply + " is a link");
        assertThatThrownBy(() -> SafeFiles.mkdir(apply.resolve("x"), 0700)).isInstanceOf(SafeFiles.Planted.class);
        assertThatThrownBy(() -> SafeFiles.tryLock(apply.resolve("apply.lock"))).isInstanceOf(SafeFiles.Planted.class);
        assertThat(Files.exists(victim.getParent().resolve("pending.json"))).isFalse();
        assertThat(Files.exists(victim.getParent().resolve("x"))).isFalse();
        try (var left = Files.list(victim.getParent())) {
            assertThat(left).hasSize(1);
        }
    }

    @Test
    void aDirectoryOthersCanWriteOrOwnIsRefused() throws Exception {
        Path open = Files.createDirectory(dir.resolve("open"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> SafeFiles.create(open.resolve("f"), "x"))
                .isInstanceOf(SafeFiles.Planted.class).hasMessageContaining("writable by group or others");
    }

    @Test
    void createIsExclusiveAndExactAboutTheMode() throws Exception {
        Path state = state();
        Path f = state.resolve("baseline.json");
        SafeFiles.create(f, "one".getBytes(StandardCharsets.UTF_8), 0640);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-r-----");
        assertThatThrownBy(() -> SafeFiles.create(f, "two")).hasMessageContaining("File exists");
        assertThat(Files.readString(f)).isEqualTo("one");
        try (OutputStream out = SafeFiles.createStream(state.resolve("build.log"), 0600)) {
            out.write("line 1\nline 2\n".getBytes(StandardCharsets.UTF_8));
        }
        assertThat(Files.readString(state.resolve("build.log"))).isEqualTo("line 1\nline 2\n");
    }

    @Test
    void aLockIsExclusiveUntilClosed() throws Exception {
        Path lock = state().resolve("apply.lock");
        try (SafeFiles.Handle held = SafeFiles.tryLock(lock)) {
            assertThat(held).isNotNull();
            assertThat(SafeFiles.tryLock(lock)).isNull();
        }
        try (SafeFiles.Handle again = SafeFiles.tryLock(lock)) {
            assertThat(again).isNotNull();
        }
    }

    /**
     * A removal that must survive a power cut (a confirmed apply's pending.json: found again, the
     * next engine start would revert the apply) is followed by an fsync of the very directory it
     * was removed from. Watched in a process of its own under strace: which system calls, on which
     * descriptor, in which order.
     */
    @ParameterizedTest(name = "fallback={0}")
    @ValueSource(booleans = {false, true})
    void aRemovalThatMustLastSyncsItsDirectory(boolean fallback) throws Exception {
        Path pending = state().resolve("pending.json");
        Files.writeString(pending, "{}");
        Path trace = dir.resolve("strace.txt");
        Process p = new ProcessBuilder("strace", "-f", "-qq", "-e", "trace=unlinkat,fsync,fdatasync", "-e", "signal=none", "-o",
                trace.toString(), Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), RemoveSyncedMain.class.getName(), pending.toString(),
                Boolean.toString(fallback)).redirectErrorStream(true).redirectOutput(dir.resolve("out.txt").toFile())
                .start();
        assertThat(p.waitFor()).as(Files.readString(dir.resolve("out.txt"))).isZero();
        assertThat(pending).doesNotExist();

        java.util.List<String> calls = Files.readAllLines(trace);
        java.util.regex.Pattern unlinked = java.util.regex.Pattern.compile("unlinkat\\((\\d+), \"pending\\.json\", 0\\)\\s+= 0");
        int at = 0;
        while (at < calls.size() && !unlinked.matcher(calls.get(at)).find()) {
            at++;
        }
        assertThat(at).as("pending.json was removed inside its open directory: %s", calls).isLessThan(calls.size());
        java.util.regex.Matcher unlink = unlinked.matcher(calls.get(at));
        unlink.find();
        java.util.regex.Pattern synced = java.util.regex.Pattern.compile("fsync\\(" + unlink.group(1) + "\\)\\s+= 0");
        assertThat(calls.subList(at + 1, calls.size())).as("the directory's descriptor synced after the removal")
                .anyMatch(l -> synced.matcher(l).find());
    }
}
