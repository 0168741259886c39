package org.saferebuild.engine.build;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.protocol.Values;

/**
 * The systems this engine keeps: the ones it built, each a GC root
 * &lt;stateDir&gt;/gcroots/builds/&lt;store name&gt; registered from the host with
 * {@code nix-store --realise --add-root}, never a {@code result} link in a sandbox directory that
 * is about to be removed (DESIGN.md, "Nix"); and the ones it adopted after they were copied here
 * from a build machine ({@code system.adopt}), under &lt;stateDir&gt;/gcroots/adopted/. Apply
 * accepts only these paths (or generations of the profile): {@link #isBuilt}.
 */
public final class BuiltSystems {
    private final Path dir;
    private final Path adoptedDir;
    private final Tools tools;
    private final NixEnv nixEnv;

    public BuiltSystems(EngineConfig config, Tools tools, NixEnv nixEnv) {
        this.dir = config.state().resolve("gcroots").resolve("builds");
        this.adoptedDir = config.state().resolve("gcroots").resolve("adopted");
        this.tools = tools;
        this.nixEnv = nixEnv;
    }

    public Path rootsDir() {
        return dir;
    }

    /** Where adopted systems' GC roots are. */
    public Path adoptedDir() {
        return adoptedDir;
    }

    /** Makes {@code storePath} a GC root of the engine and returns the root's path. */
    public Path register(String storePath) throws Problem {
        return register(storePath, dir);
    }

    /** Keeps a system copied here from a build machine, checked by the caller (system.adopt). */
    public Path adopt(String storePath) throws Problem {
        return register(storePath, adoptedDir);
    }

    private Path register(String storePath, Path dir) throws Problem {
        Values.storePath(storePath, "storePath");
        Path link = dir.resolve(Path.of(storePath).getFileName());
        try {
            WorkDirs.ensurePrivateDir(dir.getParent());
            WorkDirs.ensurePrivateDir(dir);
            Exec.Outcome o = Exec.run(Command.of(tools.require("nix-store")).args(nixEnv.optionArgs())
                    .args("--realise", "--add-root", link.toString(), storePath).env(nixEnv.hostEnv()).timeout(Duration.ofMinutes(2)).build());
            if (!o.ok()) {
                throw Problem.internal("Registering the built system as a GC root failed: "
                        + NixEnv.firstError(o.stderr()), null);
            }
        } catch (IOException e) {
            throw Problem.internal("Cannot run nix-store to register " + storePath + ": " + e.getMessage(), e);
        }
        if (!keptIn(dir, storePath)) {
            throw Problem.internal("nix-store did not create the GC root " + link, null);
        }
        return link;
    }

    /**
     * Whether {@code storePath} is a system this engine built (or adopted) and still keeps: a root
     * link in the engine's own state directory points to it, and it is in the store.
     */
    public boolean isBuilt(String storePath) {
        return keptIn(dir, storePath) || keptIn(adoptedDir, storePath);
    }

    /** The GC root that keeps {@code storePath}, if this engine keeps it. */
    public java.util.Optional<Path> rootOf(String storePath) {
        for (Path d : List.of(dir, adoptedDir)) {
            if (keptIn(d, storePath)) {
                return java.util.Optional.of(d.resolve(Path.of(storePath).getFileName()));
            }
        }
        return java.util.Optional.empty();
    }

    private static boolean keptIn(Path dir, String storePath) {
        if (!Values.isStorePath(storePath)) {
            return false;
        }
        Path link = dir.resolve(Path.of(storePath).getFileName());
        try {
            return Files.isSymbolicLink(link)
                    && Files.readSymbolicLink(link).toString().equals(storePath)
                    && Files.isDirectory(Path.of(storePath), LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return false;
        }
    }

    /** Every system the engine keeps, by store path: the built ones, then the adopted ones. */
    public List<String> all() {
        List<String> out = new ArrayList<>();
        for (Path d : List.of(dir, adoptedDir)) {
            out.addAll(allIn(d));
        }
        return out;
    }

    private static List<String> allIn(Path dir) {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return out;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                if (Files.isSymbolicLink(p)) {
                    String target = Files.readSymbolicLink(p).toString();
                    if (keptIn(dir, target)) {
                        out.add(target);
                    }
                }
            }
        } catch (IOException e) {
            return out;
        }
        return out;
    }
}
