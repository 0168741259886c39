package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.SafeFiles;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * "Emergency Rollback"'s {@code nix-env --list-generations}, with what an operator needs to choose
 * a target: versions, markers, whether it is still on disk, and pinning (a GC root in
 * {@code <stateDir>/gcroots/pinned/} so garbage collection cannot take a rollback target away).
 * Everything is read from the filesystem and the local nix database; nothing of a generation is
 * executed.
 */
public final class GenerationsService {
    private static final Pattern CONFIG_REVISION = Pattern.compile("\"configurationRevision\"\\s*:\\s*\"([^\"]{1,200})\"");
    private static final long MAX_TEXT_BYTES = 64 * 1024;

    private final EngineConfig config;
    private final SystemProfile profile;
    private final Closures closures;
    private final Tools tools;
    private final NixEnv nixEnv;

    public GenerationsService(EngineConfig config, SystemProfile profile, Closures closures, Tools tools,
                              NixEnv nixEnv) {
        this.config = config;
        this.profile = profile;
        this.closures = closures;
        this.tools = tools;
        this.nixEnv = nixEnv;
    }

    public Path pinnedDir() {
        return config.state().resolve("gcroots").resolve("pinned");
    }

    public SystemResult.GenerationList list(SystemRequest.Generations r, OpContext ctx) throws Problem {
        List<SystemProfile.Link> links;
        try {
            links = profile.generations();
        } catch (IOException e) {
            throw Problem.internal("Cannot list the generations of " + profile.path() + ": " + e.getMessage(), e);
        }
        Integer current = profile.current().orElse(null);
        String running = SystemLinks.readLink(config.currentSystem());
        String booted = SystemLinks.readLink(config.bootedSystem());
        List<Boolean> complete = new ArrayList<>();
        List<String> completePaths = new ArrayList<>();
        long i = 0;
        for (SystemProfile.Link l : links) {
            ctx.progress("closure", "Checking generation " + l.number(), ++i, (long) links.size());
            boolean ok = closures.missing(l.storePath()).isEmpty();
            complete.add(ok);
            if (ok && !completePaths.contains(l.storePath())) {
                completePaths.add(l.storePath());
            }
        }
        Map<String, Long> sizes = closures.closureBytes(completePaths);
        List<SystemResult.Generation> out = new ArrayList<>();
        for (int k = 0; k < links.size(); k++) {
            SystemProfile.Link l = links.get(k);
            String sp = l.storePath();
            boolean onDisk = Files.exists(Path.of(sp), LinkOption.NOFOLLOW_LINKS);
            out.add(new SystemResult.Generation(l.number(), l.made().toString(), sp,
                    onDisk ? nixosVersion(sp) : null, onDisk ? kernelVersion(sp) : null,
                    onDisk ? configurationRevision(sp) : null,
                    current != null && current == l.number(), sp.equals(running), sp.equals(booted), onDisk,
                    complete.get(k), complete.get(k) ? sizes.get(sp) : null, pinned(l.number(), sp)));
        }
        return new SystemResult.GenerationList(profile.path().toString(), current, running, booted, out);
    }

    /**
     * The systems a rollback is most likely to go to: the three newest generations with a complete
     * closure other than the current one (their closures are hashed ahead, docs/apply.md).
     */
    public static List<String> likelyRollbackTargets(SystemResult.GenerationList list) {
        List<String> out = new ArrayList<>();
        List<SystemResult.Generation> newestFirst = new ArrayList<>(list.generations());
        newestFirst.sort((a, b) -> Integer.compare(b.number(), a.number()));
        for (SystemResult.Generation g : newestFirst) {
            if (!g.current() && g.closureComplete() && !out.contains(g.storePath()) && out.size() < 3) {
                out.add(g.storePath());
            }
        }
        return out;
    }

    public SystemResult.Pinned pin(SystemRequest.Pin r, OpContext ctx) throws Problem {
        SystemProfile.Link l = profile.require(r.generation());
        closures.requireComplete(l.storePath(), "generation " + r.generation());
        Path root = root(r.generation());
        try {
            WorkDirs.ensurePrivateDir(pinnedDir());
            SafeFiles.delete(root);
            // A GC root outside /nix/var/nix/gcroots must be registered with nix (an indirect root).
            Command c = Command.of(tools.require("nix-store")).args(nixEnv.optionArgs())
                    .args("--realise", l.storePath(), "--add-root", root.toString()).env(nixEnv.hostEnv()).timeout(Duration.ofMinutes(2)).build();
            Exec.Outcome o = Exec.run(c);
            if (!o.ok()) {
                throw new Problem(ProblemCode.INTERNAL, "nix-store could not add the GC root " + root + ": "
                        + NixEnv.firstError(o.stderr()), "Check that the nix store is healthy (nix-store --verify).");
            }
        } catch (IOException e) {
            throw Problem.internal("Cannot pin generation " + r.generation() + ": " + e.getMessage(), e);
        }
        return new SystemResult.Pinned(r.generation(), true, l.storePath(), root.toString(), "Generation "
                + r.generation() + " is pinned: garbage collection keeps " + l.storePath() + " and its closure.");
    }

    public SystemResult.Pinned unpin(SystemRequest.Unpin r, OpContext ctx) throws Problem {
        Path root = root(r.generation());
        if (!Files.isSymbolicLink(root)) {
            throw Problem.notFound("Generation " + r.generation() + " is not pinned.",
                    "Nothing needs to be done; the generations list shows which ones are pinned.");
        }
        String target;
        try {
            target = Files.readSymbolicLink(root).toString();
            SafeFiles.delete(root);
        } catch (IOException e) {
            throw Problem.internal("Cannot remove the GC root " + root + ": " + e.getMessage(), e);
        }
        return new SystemResult.Pinned(r.generation(), false, target, root.toString(), "Generation " + r.generation()
                + " is no longer pinned; garbage collection may remove it once no profile refers to it.");
    }

    private Path root(int generation) {
        return pinnedDir().resolve("generation-" + generation);
    }

    private boolean pinned(int generation, String storePath) {
        try {
            return storePath.equals(Files.readSymbolicLink(root(generation)).toString());
        } catch (IOException e) {
            return false;
        }
    }

    // What a toplevel records about itself, read as files (as nixos-rebuild list-generations does)

    static String nixosVersion(String system) {
        return firstLine(Path.of(system, "nixos-version")).orElse(null);
    }

    /** The kernel-modules/lib/modules/&lt;version&gt; directory name, or the kernel package's. */
    static String kernelVersion(String system) {
        List<Path> places = new ArrayList<>(List.of(Path.of(system, "kernel-modules", "lib", "modules")));
        kernelPackageModules(system).ifPresent(places::add);
        for (Path modules : places) {
            if (Files.isDirectory(modules)) {
                try (Stream<Path> s = Files.list(modules)) {
                    Optional<String> v = s.map(p -> p.getFileName().toString()).sorted().findFirst();
                    if (v.isPresent()) {
                        return v.get();
                    }
                } catch (IOException e) {
                    // try the next place
                }
            }
        }
        return null;
    }

    private static Optional<Path> kernelPackageModules(String system) {
        try {
            Path parent = Path.of(system, "kernel").toRealPath().getParent();
            return parent == null ? Optional.empty() : Optional.of(parent.resolve("lib").resolve("modules"));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * {@code system.configurationRevision}: a {@code configuration-revision} file where the system
     * has one, else the value compiled into its {@code nixos-version} script. nixos-rebuild runs
     * that script to ask; the engine, as root, only reads it.
     */
    static String configurationRevision(String system) {
        Optional<String> file = firstLine(Path.of(system, "configuration-revision"));
        if (file.isPresent()) {
            return file.get();
        }
        Path script = Path.of(system, "sw", "bin", "nixos-version");
        try {
            if (Files.isRegularFile(script) && Files.size(script) <= MAX_TEXT_BYTES) {
                Matcher m = CONFIG_REVISION.matcher(Files.readString(script, StandardCharsets.ISO_8859_1));
                if (m.find()) {
                    return m.group(1);
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    private static Optional<String> firstLine(Path file) {
        try {
            if (!Files.isRegularFile(file) || Files.size(file) > MAX_TEXT_BYTES) {
                return Optional.empty();
            }
            return Files.readString(file, StandardCharsets.UTF_8).lines().map(String::strip)
                    .filter(l -> !l.isEmpty()).findFirst().map(l -> l.length() > 200 ? l.substring(0, 200) : l);
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
