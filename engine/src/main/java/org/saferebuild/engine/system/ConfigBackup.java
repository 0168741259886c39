package org.saferebuild.engine.system;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.audit.AuditLog;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.SafeFiles;
import org.saferebuild.engine.sys.StateProblems;
import org.saferebuild.engine.sys.Posix;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemResult;

/**
 * The checklist's "Backup of current configuration exists": every file of the configuration
 * directory copied into the engine's state directory with its SHA-256 in a manifest. Links are
 * recorded, never followed (a {@code result} link would otherwise pull in a whole system); the
 * {@code .git} directory is not copied, its commit and whether the tree is dirty are recorded.
 */
final class ConfigBackup {
    static final int MAX_FILES = 50_000;
    static final long MAX_BYTES = 512L * 1024 * 1024;
    private static final Pattern GIT_SHA = Pattern.compile("[0-9a-f]{40}([0-9a-f]{24})?");
    private static final HexFormat HEX = HexFormat.of();

    /** One manifest line; {@code link} is the target for a symbolic link (then size and hash are absent). */
    record FileEntry(String path, Long size, String sha256, String mode, String link) {
    }

    record Manifest(String configDir, List<FileEntry> files, String gitCommit, Boolean gitDirty, List<String> notes) {
    }

    private final Tools tools;
    private final List<String> toolDirs;

    ConfigBackup(Tools tools, List<String> toolDirs) {
        this.tools = tools;
        this.toolDirs = toolDirs;
    }

    SystemResult.Backup copy(Path configDir, Path into) throws Problem {
        if (!Files.isDirectory(configDir, LinkOption.NOFOLLOW_LINKS)) {
            throw new Problem(ProblemCode.SOURCE_MISSING, "The configuration directory " + configDir
                    + " does not exist (or is not a directory), so it cannot be backed up.",
                    "Check the engine's configDirs setting.");
        }
        List<FileEntry> entries = new ArrayList<>();
        long[] bytes = {0};
        Path files = into.resolve("files");
        try {
            WorkDirs.ensurePrivateDir(into);
            SafeFiles.mkdir(files, 0700);
            Files.walkFileTree(configDir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    if (!dir.equals(configDir) && dir.getFileName().toString().equals(".git")) {
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    Path rel = configDir.relativize(dir);
                    if (!rel.toString().isEmpty() && !SafeFiles.mkdir(files.resolve(rel.toString()), 0700)) {
                        throw new IOException(files.resolve(rel.toString()) + " already exists in a fresh backup");
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    String rel = configDir.relativize(file).toString();
                    if (rel.equals(".git")) {
                        return FileVisitResult.CONTINUE; // a worktree's .git file: recorded through the commit
                    }
                    if (entries.size() >= MAX_FILES) {
                        throw new IOException("more than " + MAX_FILES + " files");
                    }
                    String mode = Integer.toOctalString(Posix.mode(file, LinkOption.NOFOLLOW_LINKS) & 07777);
                    if (attrs.isSymbolicLink()) {
                        entries.add(new FileEntry(rel, null, null, mode, Files.readSymbolicLink(file).toString()));
                    } else if (attrs.isRegularFile()) {
                        bytes[0] += attrs.size();
                        if (bytes[0] > MAX_BYTES) {
                            throw new IOException("more than " + MAX_BYTES / (1024 * 1024) + " MiB");
                        }
                        entries.add(new FileEntry(rel, attrs.size(), copyHashing(file, files.resolve(rel)), mode, null));
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            if (StateProblems.noSpace(e) || e instanceof SafeFiles.Planted) {
                throw StateProblems.of(e, "The backup of " + configDir + " into " + into + " failed (" + bytes[0]
                        + " bytes of " + entries.size() + " files copied); the baseline was not taken", into);
            }
            throw new Problem(ProblemCode.INTERNAL, "The backup of " + configDir + " failed: " + e.getMessage()
                    + ". The baseline was not taken.",
                    "Configuration directories are normally small; move build results and large files out of "
                            + configDir + ", or free space in " + into.getParent() + ".", e);
        }
        List<String> notes = new ArrayList<>();
        String commit = null;
        Boolean dirty = null;
        Path dotGit = configDir.resolve(".git");
        if (Files.exists(dotGit, LinkOption.NOFOLLOW_LINKS)) {
            commit = headCommit(dotGit, notes);
            dirty = dirty(configDir, notes);
        }
        String tree;
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (FileEntry e : entries) {
                d.update((e.path() + "\0" + (e.link() != null ? "link:" + e.link() : e.sha256()) + "\n")
                        .getBytes(StandardCharsets.UTF_8));
            }
            tree = HEX.formatHex(d.digest());
            Path manifest = into.resolve("manifest.json");
            SafeFiles.create(manifest, Json.mapper().writerWithDefaultPrettyPrinter()
                    .writeValueAsString(new Manifest(configDir.toString(), entries, commit, dirty, notes)));
            return new SystemResult.Backup(configDir.toString(), files.toString(), manifest.toString(),
                    entries.size(), bytes[0], tree, commit, dirty, notes);
        } catch (IOException e) {
            throw StateProblems.of(e, "Cannot write the backup manifest in " + into, into);
        } catch (NoSuchAlgorithmException e) {
            throw Problem.internal("Cannot write the backup manifest in " + into + ": " + e.getMessage(), e);
        }
    }

    private static String copyHashing(Path from, Path to) throws IOException {
        try (InputStream in = Files.newInputStream(from, LinkOption.NOFOLLOW_LINKS);
             OutputStream raw = SafeFiles.createStream(to, 0600);
             DigestOutputStream out = new DigestOutputStream(new java.io.BufferedOutputStream(raw, 64 * 1024),
                     MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(out);
            out.flush();
            return HEX.formatHex(out.getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** HEAD's commit, read from the git directory's files (HEAD, the ref, packed-refs); no git run needed. */
    static String headCommit(Path dotGit, List<String> notes) {
        try {
            Path gitDir = dotGit;
            if (Files.isRegularFile(dotGit, LinkOption.NOFOLLOW_LINKS)) {
                String s = Files.readString(dotGit).strip();
                if (!s.startsWith("gitdir:")) {
                    notes.add(".git is a file that does not name a git directory");
                    return null;
                }
                Path named = Path.of(s.substring(7).strip());
                gitDir = named.isAbsolute() ? named : dotGit.getParent().resolve(named).normalize();
            }
            String head = Files.readString(gitDir.resolve("HEAD")).strip();
            if (GIT_SHA.matcher(head).matches()) {
                return head;
            }
            if (!head.startsWith("ref: ")) {
                notes.add("git HEAD is not readable: " + AuditLog.sha256(head).substring(0, 8));
                return null;
            }
            String ref = head.substring(5).strip();
            Path common = gitDir;
            Path commonFile = gitDir.resolve("commondir");
            if (Files.isRegularFile(commonFile)) {
                common = gitDir.resolve(Files.readString(commonFile).strip()).normalize();
            }
            for (Path base : List.of(gitDir, common)) {
                Path refFile = base.resolve(ref);
                if (Files.isRegularFile(refFile)) {
                    String sha = Files.readString(refFile).strip();
                    if (GIT_SHA.matcher(sha).matches()) {
                        return sha;
                    }
                }
            }
            Path packed = common.resolve("packed-refs");
            if (Files.isRegularFile(packed)) {
                for (String line : Files.readAllLines(packed)) {
                    String[] f = line.split(" ");
                    if (f.length == 2 && f[1].equals(ref) && GIT_SHA.matcher(f[0]).matches()) {
                        return f[0];
                    }
                }
            }
            notes.add("git branch " + ref + " has no commit yet");
            return null;
        } catch (IOException e) {
            notes.add("git HEAD could not be read: " + e.getMessage());
            return null;
        }
    }

    /**
     * Whether tracked files have uncommitted changes (what nix calls a dirty flake; untracked files
     * such as a {@code result} link do not count): {@code git status --porcelain}, run as the owner of the directory: a repository's own
     * configuration can name programs for git to run (core.fsmonitor, filters), and those must
     * never run as root for a repository someone else controls.
     */
    Boolean dirty(Path configDir, List<String> notes) {
        Optional<Path> git = tools.find("git");
        if (git.isEmpty()) {
            notes.add("git is not installed, so whether the tree has uncommitted changes is not recorded");
            return null;
        }
        try {
            int uid = Posix.ownerUid(configDir, LinkOption.NOFOLLOW_LINKS);
            int gid = (Integer) Files.getAttribute(configDir, "unix:gid", LinkOption.NOFOLLOW_LINKS);
            Command.Builder b;
            if (uid == 0) {
                b = Command.of(git.get());
            } else {
                b = Command.of(tools.require("setpriv"), "--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--",
                        git.get().toString());
            }
            b.args("-c", "safe.directory=*", "-c", "core.fsmonitor=false", "--no-optional-locks", "-C",
                    configDir.toString(), "status", "--porcelain=v1", "--untracked-files=no")
                    .env("PATH", String.join(":", toolDirs)).env("HOME", "/nonexistent")
                    .env("GIT_CONFIG_NOSYSTEM", "1").env("GIT_CONFIG_GLOBAL", "/dev/null")
                    .env("GIT_TERMINAL_PROMPT", "0").timeout(Duration.ofMinutes(1));
            Exec.Outcome o = Exec.run(b.build());
            if (!o.ok()) {
                notes.add("git status failed (exit " + o.exitCode() + "): "
                        + (o.stderrTail().isEmpty() ? "no message" : o.stderrTail().get(0)));
                return null;
            }
            return !o.stdout().isBlank();
        } catch (IOException | Problem e) {
            notes.add("git status could not run: " + e.getMessage());
            return null;
        }
    }
}
