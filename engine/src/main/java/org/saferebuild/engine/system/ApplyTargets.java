package org.saferebuild.engine.system;

import java.util.List;
import java.util.Optional;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.build.BuiltSystems;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;

/**
 * What may be applied or rolled back to (docs/apply.md, "What may be applied"), checked before
 * anything changes: a system this engine built or an existing generation, its closure complete,
 * and an executable switch-to-configuration.
 */
final class ApplyTargets {
    private final SystemProfile profile;
    private final Closures closures;
    private final Activation activation;
    private final BuiltSystems built;

    ApplyTargets(SystemProfile profile, Closures closures, Activation activation, BuiltSystems built) {
        this.profile = profile;
        this.closures = closures;
        this.activation = activation;
        this.built = built;
    }

    /** A store path to activate, and how messages name it ("generation 3" or the path). */
    record Target(String storePath, String what) {
    }

    /**
     * The store path an apply activates: an existing generation, or a system this engine built or
     * adopted. Not checked yet ({@link #check}).
     */
    Target forApply(SystemRequest.Apply r) throws Problem {
        if (r.generation() != null) {
            return new Target(profile.require(r.generation()).storePath(), "generation " + r.generation());
        }
        String target = r.storePath();
        if (!built.isBuilt(target)) {
            throw Problem.invalid(target + " was not built by this engine nor adopted by it (there is no GC root"
                    + " for it under " + built.rootsDir() + " or " + built.adoptedDir() + "). The engine applies"
                    + " only systems it built, systems copied here and adopted (system.adopt), or existing"
                    + " generations.");
        }
        return new Target(target, target);
    }

    /** The generation a rollback activates (an existing one), not checked yet ({@link #check}). */
    Target forRollback(int generation) throws Problem {
        return new Target(profile.require(generation).storePath(), "generation " + generation);
    }

    /**
     * Every path of the closure is on disk and has the contents nix recorded for it (what
     * {@code nix-store --verify-path} checks, for the whole closure, not only the top path: a file
     * changed inside any member is found; a path hashed before is hashed again only if its files
     * changed since, Closures), and the system can be activated.
     */
    void check(Target t, OpContext ctx) throws Problem {
        String target = t.storePath();
        String what = t.what();
        ctx.progress("check", "Checking that the closure of " + what + " is complete", null, null);
        List<String> paths = closures.requireComplete(target, what);
        ctx.progress("verify", "Verifying the contents of the " + paths.size() + " store paths of " + what, null, null);
        Optional<String> changed = closures.contentsChanged(paths, summary -> ctx.log("check", "Contents of the "
                + paths.size() + " store paths of " + what + ": " + summary + "."));
        if (changed.isPresent()) {
            throw new Problem(ProblemCode.CLOSURE_INCOMPLETE, "The contents of the closure of " + what + " no longer"
                    + " match what nix recorded: " + changed.get() + ". Nothing was changed.",
                    "A store path was modified on disk. Run nix-store --verify --check-contents to find all damage,"
                            + " then nix-store --repair-path on it (or rebuild the configuration); choose another"
                            + " generation meanwhile.");
        }
        activation.switchScript(target);
    }
}
