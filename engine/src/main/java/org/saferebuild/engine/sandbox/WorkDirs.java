package org.saferebuild.engine.sandbox;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sys.LibC;
import org.saferebuild.engine.sys.Posix;
import org.saferebuild.protocol.ProblemCode;

/**
 * Sandbox work directories: made fresh and private, removed only when nothing is mounted beneath
 * them, and only "rmdir-style": empty directories, empty files and links the engine made. The
 * runbook's {@code rm -rf} after a failed unmount is how people have lost /nix and /home.
 */
public final class WorkDirs {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

    private WorkDirs() {
    }

    /**
     * Makes {@code parent} (root-owned, 0700, not a symlink) if needed, then a fresh directory in
     * it with an unguessable name. mkdir fails on anything already there, symlinks included.
     */
    public static Path createFresh(Path parent, String prefix) throws Problem {
        try {
            ensurePrivateDir(parent);
            for (int attempt = 0; attempt < 16; attempt++) {
                Path dir = parent.resolve(prefix + randomSuffix(12));
                try {
                    Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwx------")));
                    if ((Posix.mode(dir, LinkOption.NOFOLLOW_LINKS) & 07777) != 0700) {
                        // mkdir's mode passes through the umask: exactly 0700, whatever it is
                        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
                    }
                    return dir;
                } catch (FileAlreadyExistsException e) {
                    // someone (or chance) took that name: try another
                }
            }
            throw Problem.internal("could not create a fresh work directory in " + parent, null);
        } catch (IOException e) {
            throw new Problem(ProblemCode.INTERNAL, "Cannot create a work directory in " + parent + ": "
                    + e.getMessage(), "Check that " + parent + " is on a writable filesystem with free space.", e);
        }
    }

    /**
     * A directory only root can use: created 0700 if missing; refused if it is a link, not root's,
     * or writable by group or others, or if a directory above it could be changed by someone other
     * than root (then they could swap it for a link between our check and our use). This is the
     * check for the state directory, the audit log's directory, GC roots and sandbox work paths.
     */
    public static void ensurePrivateDir(Path dir) throws IOException, Problem {
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
            if (!Files.exists(parent, LinkOption.NOFOLLOW_LINKS)) {
                ensurePrivateDir(parent);
            } else {
                Optional<String> why = Posix.untrustedReason(parent, true);
                if (why.isPresent()) {
                    throw new Problem(ProblemCode.NOT_AUTHORIZED, "Not using " + dir + ": " + why.get()
                            + ", so someone other than root could replace it with a link.",
                            "Use a directory whose parents are owned by root and not writable by others"
                                    + " (chown root:root; chmod go-w), or change the engine settings.");
                }
            }
        }
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
            } catch (FileAlreadyExistsException e) {
                // created concurrently; checked below
            }
        }
        requirePrivate(dir);
    }

    /** The checks of {@link #ensurePrivateDir} on {@code dir} itself: a plain directory, root's, not writable by others. */
    private static void requirePrivate(Path dir) throws IOException, Problem {
        if (Files.isSymbolicLink(dir) || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new Problem(ProblemCode.NOT_AUTHORIZED, dir + " is not a plain directory (a link or a file is there).",
                    "Something planted it; remove it as root after checking what it is, then try again.");
        }
        if (Posix.ownerUid(dir, LinkOption.NOFOLLOW_LINKS) != 0) {
            throw new Problem(ProblemCode.NOT_AUTHORIZED, dir + " is not owned by root.",
                    "Remove it as root after checking what it is, then try again.");
        }
        int mode = Posix.mode(dir, LinkOption.NOFOLLOW_LINKS);
        if ((mode & 0022) != 0) {
            throw new Problem(ProblemCode.NOT_AUTHORIZED, dir + " is writable by group or others (mode "
                    + Integer.toOctalString(mode & 07777) + "), so anyone could plant links in it.",
                    "Check what is in it, then make it private as root (chmod 700 " + dir + ").");
        }
    }

    /** The Problem for an entry the engine did not make where it was about to create one. */
    public static Problem planted(Path where) {
        return new Problem(ProblemCode.NOT_AUTHORIZED, "Something other than the engine created " + where
                + " (a link or a file) while the engine was setting it up. Nothing was done through it.",
                "Find out what else writes to the engine's state directory (only root can), remove it, and try again.");
    }

    /**
     * The quick way for an empty directory (a sandbox's: its root was a tmpfs in the holder's
     * namespace), without reading any mount table: rmdir removes only an empty directory, so
     * nothing can be mounted below one it removes, and it refuses (EBUSY) one that is a mount point
     * in the engine's own namespace. In another namespace (pid 1's, where the engine has its own) a
     * mount point would be detached instead, so there one {@code statx} of the directory as that
     * namespace sees it ({@code /proc/<pid>/root/…}) says first that nothing is mounted on it.
     * False when this cannot be decided so (not empty, a mount point, an old kernel): the caller
     * then reads the tables.
     */
    private static boolean removeEmpty(Path dir, List<Long> mountTables) {
        String self = Posix.namespace(ProcessHandle.current().pid(), "mnt").orElse(null);
        if (self == null) {
            return false;
        }
        try {
            for (long pid : mountTables) {
                if (pid == 0) {
                    continue; // the engine's own: rmdir itself refuses a mount point there
                }
                Optional<String> ns = Posix.namespace(pid, "mnt");
                if (ns.isEmpty() || ns.get().equals(self)) {
                    continue; // gone (it holds no mounts), or the engine's own table
                }
                if (!Boolean.FALSE.equals(LibC.mountedOn("/proc/" + pid + "/root" + dir.toAbsolutePath()))) {
                    return false;
                }
            }
        } catch (LinkageError e) {
            return false; // no native library: the tables decide
        }
        try {
            if (!Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isDirectory()) {
                return false;
            }
            Files.delete(dir); // rmdir
            return true;
        } catch (java.nio.file.NoSuchFileException e) {
            return true;
        } catch (IOException e) {
            return false; // not empty, or a mount point here: the tables say which, and what is below
        }
    }

    public static String randomSuffix(int length) {
        StringBuilder b = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            b.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
        }
        return b.toString();
    }

    /**
     * Removes {@code dir} bottom-up, deleting only empty directories, empty regular files and
     * symbolic links (never following them). Refuses outright if any mount table the engine can
     * see has something at or below {@code dir}.
     *
     * @param mountTables pids whose mountinfo must show nothing below dir (self and 1 at least)
     * @return paths left in place because they were not empty; empty when all is gone
     */
    public static List<String> removeSkeleton(Path dir, List<Long> mountTables) throws Problem {
        if (removeEmpty(dir, mountTables)) {
            return new ArrayList<>();
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (long pid : mountTables) {
            // Processes in one mount namespace share one table: read it once.
            Optional<String> ns = Posix.namespace(pid == 0 ? ProcessHandle.current().pid() : pid, "mnt");
            if (ns.isPresent() && !seen.add(ns.get())) {
                continue;
            }
            List<MountInfo.Line> lines;
            try {
                lines = pid == 0 ? MountInfo.readSelf() : MountInfo.read(pid);
            } catch (IOException e) {
                continue; // that process is gone: it holds no mounts
            }
            List<MountInfo.Line> below = MountInfo.under(lines, dir.toString());
            if (!below.isEmpty()) {
                throw new Problem(ProblemCode.UNMOUNT_FAILED, "Not removing " + dir + ": "
                        + below.get(0).mountPoint() + " is still mounted (seen by pid " + (pid == 0 ? "self" : pid)
                        + "). Nothing was deleted.",
                        "Unmount it (umount " + below.get(0).mountPoint() + ") and close the sandbox again.");
            }
        }
        List<String> left = new ArrayList<>();
        try {
            if (Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isDirectory()) {
                Files.delete(dir); // rmdir: an empty directory (a sandbox's, its root being a tmpfs) goes at once
                return left;
            }
        } catch (java.nio.file.NoSuchFileException e) {
            return left;
        } catch (IOException e) {
            // not empty (a skeleton an older engine made, links planted in it): one entry at a time below
        }
        List<Path> all;
        try (Stream<Path> s = Files.walk(dir)) { // walk does not follow links by default
            all = s.sorted(Comparator.comparingInt(Path::getNameCount).reversed()).toList();
        } catch (IOException e) {
            left.add(dir + " (" + e.getMessage() + ")");
            return left;
        }
        for (Path p : all) {
            try {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (a.isSymbolicLink() || (a.isRegularFile() && a.size() == 0)) {
                    Files.delete(p);
                } else if (a.isDirectory()) {
                    try {
                        Files.delete(p); // rmdir: fails rather than crossing into anything
                    } catch (java.nio.file.DirectoryNotEmptyException e) {
                        left.add(p.toString());
                    }
                } else {
                    left.add(p.toString());
                }
            } catch (IOException e) {
                left.add(p + " (" + e.getMessage() + ")");
            }
        }
        return left;
    }
}
