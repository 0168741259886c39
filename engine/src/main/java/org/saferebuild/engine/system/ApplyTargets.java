package org.saferebuild.engine.system;

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

    /** The store path an apply activates, checked; also that its contents still match what nix recorded. */
    String forApply(SystemRequest.Apply r, OpContext ctx) throws Problem {
        String target;
        String what;
        if (r.generation() != null) {
            target = profile.require(r.generation()).storePath();
            what = "generation " + r.generation();
        } else {
            target = r.storePath();
            what = target;
            if (!built.isBuilt(target)) {
                throw Problem.invalid(target + " was not built by this engine nor adopted by it (there is no GC root"
                        + " for it under " + built.rootsDir() + " or " + built.adoptedDir() + "). The engine applies"
                        + " only systems it built, systems copied here and adopted (system.adopt), or existing"
                        + " generations.");
            }
        }
        ctx.progress("check", "Checking that the closure of " + what + " is complete", null, null);
        closures.requireComplete(target, what);
        Optional<String> changed = closures.contentsChanged(target);
        if (changed.isPresent()) {
            throw new Problem(ProblemCode.CLOSURE_INCOMPLETE, "The contents of " + target + " no longer match what"
                    + " nix recorded: " + changed.get() + ". Nothing was changed.",
                    "Rebuild the configuration (the store path may have been modified on disk); run"
                            + " nix-store --verify --check-contents to find other damage.");
        }
        activation.switchScript(target);
        ctx.checkCancelled();
        return target;
    }

    /** The generation a rollback activates, checked. */
    SystemProfile.Link forRollback(int generation) throws Problem {
        SystemProfile.Link target = profile.require(generation);
        closures.requireComplete(target.storePath(), "generation " + generation);
        activation.switchScript(target.storePath());
        return target;
    }
}
