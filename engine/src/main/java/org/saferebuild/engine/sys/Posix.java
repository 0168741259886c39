package org.saferebuild.engine.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Small facts about processes, users and files, read from /proc and the filesystem. */
public final class Posix {
    private static final int S_IWGRP = 0020;
    private static final int S_IWOTH = 0002;
    private static final int S_ISVTX = 01000;

    private Posix() {
    }

    /**
     * Effective uid of this process ({@code geteuid}). Only when the native library cannot be loaded
     * at all (an ordinary user who cannot read root's jars, so the engine is about to refuse to run)
     * is it read from /proc/self/status instead.
     */
    public static int effectiveUid() {
        try {
            return LibC.geteuid();
        } catch (LinkageError e) {
            return statusUid(1);
        }
    }

    /**
     * Leaves the caller's terminal session: the engine (and everything it starts) then leads a
     * session of its own with no controlling terminal, so the operator's terminal closing (a hang-up
     * and the signals a terminal sends to its foreground group, such as Ctrl-C) reaches neither the
     * engine nor an activation it runs. Fails, harmlessly, where the engine already leads a process
     * group (started by hand from a shell, or by sudo with a pseudo-terminal).
     *
     * @return whether the engine is now free of any controlling terminal
     */
    public static boolean leaveTerminalSession() {
        LibC.setsid();
        return !LibC.hasControllingTerminal();
    }

    /** Real uid of this process ({@code getuid}). */
    public static int realUid() {
        try {
            return LibC.getuid();
        } catch (LinkageError e) {
            return statusUid(0);
        }
    }

    /** Field {@code index} of the "Uid:" line of /proc/self/status (real, effective, saved, fs). */
    private static int statusUid(int index) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.substring(4).trim().split("\\s+")[index]);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot read this process's uid", e);
        }
        throw new IllegalStateException("no Uid: line in /proc/self/status");
    }

    /** Login name for a uid from /etc/passwd, if there is one. */
    public static Optional<String> userName(int uid) {
        try {
            for (String line : Files.readAllLines(Path.of("/etc/passwd"))) {
                String[] f = line.split(":", -1);
                if (f.length > 2 && f[2].equals(Integer.toString(uid))) {
                    return Optional.of(f[0]);
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /**
     * The members of a group as /etc/group lists them (what nix's build-users-group reads), or
     * empty if there is no such group.
     */
    public static Optional<List<String>> groupMembers(String group) {
        try {
            for (String line : Files.readAllLines(Path.of("/etc/group"))) {
                String[] f = line.split(":", -1);
                if (f.length > 3 && f[0].equals(group)) {
                    return Optional.of(f[3].isEmpty() ? List.of() : List.of(f[3].split(",")));
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    public static int ownerUid(Path p, LinkOption... options) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:uid", options);
    }

    public static int mode(Path p, LinkOption... options) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", options);
    }

    /**
     * Whether only root can change what this path resolves to: the file and every directory
     * above it are owned by root and not writable by group or others (a sticky, world-writable
     * directory such as /tmp is accepted, as OpenSSH's secure_filename does, because others
     * cannot rename or delete root's entries in it). Returns the reason when not.
     */
    public static Optional<String> untrustedReason(Path path) {
        return untrustedReason(path, false);
    }

    /**
     * As {@link #untrustedReason(Path)}; with {@code stickyDirOk} the path itself may also be a
     * sticky world-writable directory (it is the parent of something root creates there).
     */
    public static Optional<String> untrustedReason(Path path, boolean stickyDirOk) {
        try {
            Path real = path.toRealPath();
            for (Path p = real; p != null; p = p.getParent()) {
                int uid = ownerUid(p, LinkOption.NOFOLLOW_LINKS);
                int mode = mode(p, LinkOption.NOFOLLOW_LINKS);
                if (uid != 0) {
                    return Optional.of(p + " is owned by uid " + uid + ", not root");
                }
                boolean writableByOthers = (mode & (S_IWGRP | S_IWOTH)) != 0;
                boolean stickyDir = (p != real || stickyDirOk) && (mode & S_ISVTX) != 0;
                if (writableByOthers && !stickyDir) {
                    return Optional.of(p + " is writable by group or others (mode "
                            + Integer.toOctalString(mode & 07777) + ")");
                }
            }
            return Optional.empty();
        } catch (IOException e) {
            return Optional.of("cannot check " + path + ": " + e.getMessage());
        }
    }

    /** Mount namespace identity of a process, e.g. "mnt:[4026531841]", empty if it is gone. */
    public static Optional<String> namespace(long pid, String type) {
        try {
            return Optional.of(Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", type)).toString());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Pids of all processes whose namespace of {@code type} is {@code ns}. */
    public static List<Long> processesIn(String type, String ns) {
        String[] names = new java.io.File("/proc").list(); // one getdents; the close of a sandbox waits on this
        if (names == null) {
            return List.of();
        }
        List<Long> out = new java.util.ArrayList<>();
        // One readlinkat per process relative to an open /proc (a few microseconds each; a desktop has
        // hundreds of processes), without a Path or a String made for each.
        int proc = -1;
        try {
            proc = LibC.openDirectoryToRead(LibC.AT_FDCWD, "/proc", true);
        } catch (LinkageError e) {
            // no native library: the plain way below
        }
        byte[] want = ns.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] got = new byte[want.length + 1];
        try {
            for (String n : names) {
                if (n.isEmpty() || !n.chars().allMatch(c -> c >= '0' && c <= '9')) {
                    continue;
                }
                boolean inside;
                if (proc >= 0) {
                    byte[] link = (n + "/ns/" + type + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                    long len = LibC.readlinkat(proc, link, got, got.length);
                    inside = len == want.length && java.util.Arrays.equals(got, 0, want.length, want, 0, want.length);
                } else {
                    inside = namespace(Long.parseLong(n), type).map(ns::equals).orElse(false);
                }
                if (inside) {
                    out.add(Long.parseLong(n));
                }
            }
        } finally {
            if (proc >= 0) {
                LibC.close(proc);
            }
        }
        return out;
    }

    /** The command name of a process (from /proc/pid/comm), or "?" when it is gone. */
    public static String comm(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "comm")).strip();
        } catch (IOException e) {
            return "?";
        }
    }
}
