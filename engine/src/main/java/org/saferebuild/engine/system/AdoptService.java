package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.build.BuiltSystems;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * {@code system.adopt}: takes a system that another machine built and copied into this store
 * ({@code nix copy --to ssh://…}, as nixos-rebuild --target-host does) as one this engine may apply.
 * The checks, in order, each refusing with nothing changed (docs/security.md, "Adopting a copied
 * system"):
 * <ol>
 *   <li>the path is valid in this machine's Nix database, and its NAR hash there is the one the
 *       builder reported: so it is the system the operator built, not another one of the same name;</li>
 *   <li>its contents still match that hash ({@code nix-store --verify-path});</li>
 *   <li>its closure is complete on disk;</li>
 *   <li>it is shaped like a NixOS system: an executable {@code bin/switch-to-configuration} inside
 *       the store, a {@code nixos-version} file, {@code etc} and {@code sw};</li>
 * </ol>
 * then it becomes a GC root under {@code <stateDir>/gcroots/adopted/}. The dispatcher records the
 * request and its outcome in the audit trail like every privileged operation.
 */
public final class AdoptService {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private final Tools tools;
    private final NixEnv nixEnv;
    private final Closures closures;
    private final Activation activation;
    private final BuiltSystems kept;

    public AdoptService(Tools tools, NixEnv nixEnv, Closures closures, Activation activation, BuiltSystems kept) {
        this.tools = tools;
        this.nixEnv = nixEnv;
        this.closures = closures;
        this.activation = activation;
        this.kept = kept;
    }

    public SystemResult.Adopted adopt(SystemRequest.Adopt r, OpContext ctx) throws Problem {
        String path = r.storePath();
        ctx.progress("adopt", "Checking that " + path + " is in this machine's store with the NAR hash you built", null,
                null);
        String here = narHash(path);
        if (!here.equals(r.narHash())) {
            throw new Problem(ProblemCode.INVALID_ARGUMENT, "The system " + path + " in this machine's store is not"
                    + " the one you built: its NAR hash here is " + here + ", the build machine reported "
                    + r.narHash() + ". Nothing was changed.",
                    "Copy the system again from the machine that built it (nix copy --to ssh://…); if the hashes"
                            + " still differ, the two stores disagree about this path: rebuild it and check"
                            + " both stores with nix-store --verify --check-contents.");
        }
        ctx.progress("adopt", "Checking that its closure is complete", null, null);
        List<String> closure = closures.requireComplete(path, path);
        // Every member's contents, not only the top path's (as apply checks before activating).
        Optional<String> changed = closures.contentsChanged(closure);
        if (changed.isPresent()) {
            throw new Problem(ProblemCode.CLOSURE_INCOMPLETE, "The contents of " + path + "'s closure on this machine"
                    + " no longer match what nix recorded: " + changed.get() + ". Nothing was changed.",
                    "Repair it (nix-store --repair-path on the path named) or copy it again, then adopt it again.");
        }
        ctx.checkCancelled();
        activation.switchScript(path);
        String version = nixosShape(path);
        Optional<Path> existing = kept.rootOf(path);
        Path root = existing.isPresent() ? existing.get() : kept.adopt(path);
        int paths = closurePaths(path);
        String message = existing.isPresent()
                ? path + " is already kept by this engine (" + root + "); it can be applied."
                : "Adopted " + path + " (NixOS " + version + ", " + paths + " store paths): it is kept by " + root
                        + " and can now be applied or compared.";
        return new SystemResult.Adopted(path, here, root.toString(), paths, version, existing.isPresent(), message);
    }

    /** The NAR hash this store recorded for {@code path}; NOT_FOUND when the path is not valid here. */
    private String narHash(String path) throws Problem {
        Exec.Outcome o = run(Command.of(tools.require("nix-store"), "--query", "--hash", path));
        String out = o.stdout().strip();
        if (!o.ok() || !org.saferebuild.protocol.Values.isNarHash(out)) {
            throw Problem.notFound(path + " is not in this machine's Nix store (" + NixEnv.firstError(o.stderr())
                            + "). Nothing was changed.",
                    "Copy it here first: nix copy --to ssh://<this machine> " + path
                            + " (safe-rebuild does this before it adopts).");
        }
        return out;
    }

    /** The nixos-version of a NixOS-shaped system, or INVALID_ARGUMENT saying what is missing. */
    private static String nixosShape(String path) throws Problem {
        Path p = Path.of(path);
        for (String part : List.of("etc", "sw")) {
            if (!Files.isDirectory(p.resolve(part))) {
                throw Problem.invalid(path + " is not a NixOS system: it has no " + part + "/. Nothing was changed.");
            }
        }
        Path version = p.resolve("nixos-version");
        try {
            if (!Files.isRegularFile(version, LinkOption.NOFOLLOW_LINKS)) {
                throw Problem.invalid(path + " is not a NixOS system: it has no nixos-version file. Nothing was"
                        + " changed.");
            }
            String v = Files.readString(version).strip();
            return v.length() > 200 ? v.substring(0, 200) : v;
        } catch (IOException e) {
            throw Problem.invalid(path + " is not a NixOS system: its nixos-version cannot be read (" + e.getMessage()
                    + "). Nothing was changed.");
        }
    }

    private int closurePaths(String path) throws Problem {
        Exec.Outcome o = run(Command.of(tools.require("nix-store"), "--query", "--requisites", path));
        return o.ok() ? (int) o.stdout().lines().filter(l -> !l.isBlank()).count() : 0;
    }

    private Exec.Outcome run(Command.Builder b) throws Problem {
        try {
            return Exec.run(b.env(nixEnv.hostEnv()).timeout(TIMEOUT).build());
        } catch (IOException e) {
            throw Problem.internal("Cannot run " + b.build().argv().get(0) + ": " + e.getMessage(), e);
        }
    }
}
