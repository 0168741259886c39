package org.saferebuild.engine.system;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.Problem;
import org.saferebuild.protocol.SystemRequest.Mode;

/**
 * Undoes an apply or rollback as far as it got (runbook "Emergency Rollback"): the profile goes
 * back to its generation (a generation the apply made is removed), then the previous system is
 * activated again; what is running afterwards is read back from the running-system link, never
 * assumed. Used when an activation fails, and for every revert.
 */
final class PutBack {
    /** The outcome of putting things back, in the words the operator reads. */
    record Recovery(boolean complete, String state) {
    }

    private final EngineConfig config;
    private final SystemProfile profile;
    private final Activation activation;

    PutBack(EngineConfig config, SystemProfile profile, Activation activation) {
        this.config = config;
        this.profile = profile;
        this.activation = activation;
    }

    /**
     * Puts back what {@code p} changed; {@code reactivate}: the activation ran (or may have), so the
     * previous system is activated again.
     */
    Recovery undo(PendingApply p, boolean reactivate, Consumer<String> lines) {
        List<String> said = new ArrayList<>();
        boolean complete = true;
        Integer after = p.generationAfter();
        if (p.mode() != Mode.TEST && after == null) {
            // The engine stopped between nix-env and recording what it did: the profile says where it is.
            after = profile.current().orElse(null);
        }
        if (p.mode() != Mode.TEST && after != null && after != p.generationBefore()) {
            try {
                profile.switchTo(p.generationBefore());
                said.add("The system profile is back at generation " + p.generationBefore() + ".");
                if (p.made(after)) {
                    profile.delete(after);
                    said.add("Generation " + after + ", which the " + (p.isRollback() ? "rollback" : "apply")
                            + " made, was removed.");
                } else if (!p.isRollback()) {
                    said.add("Generation " + after + " was there before the apply and is kept.");
                }
            } catch (Problem e) {
                complete = false;
                said.add("The system profile could NOT be put back to generation " + p.generationBefore() + ": "
                        + e.getMessage() + " It is at generation " + profile.current().map(String::valueOf).orElse("?")
                        + ".");
            }
        } else if (p.mode() != Mode.TEST) {
            said.add("The system profile is at generation " + p.generationBefore() + ", as before.");
        }
        String prevRunning = p.previousRunning();
        List<String[]> steps = new ArrayList<>();
        switch (p.mode()) {
            case SWITCH -> {
                if (prevRunning.equals(p.pathBefore())) {
                    steps.add(new String[] {p.pathBefore(), "switch"});
                } else {
                    steps.add(new String[] {p.pathBefore(), "boot"});
                    steps.add(new String[] {prevRunning, "test"});
                }
            }
            case TEST -> steps.add(new String[] {prevRunning, "test"});
            case BOOT -> steps.add(new String[] {p.pathBefore(), "boot"});
        }
        for (String[] step : reactivate ? steps : List.<String[]>of()) {
            try {
                Activation.Result res = activation.run(step[0], step[1], lines);
                if (res.ok()) {
                    said.add("The previous system's switch-to-configuration " + step[1] + " succeeded.");
                } else {
                    complete = false;
                    said.add("The previous system's switch-to-configuration " + step[1] + " FAILED (" + res.ended()
                            + ").");
                }
            } catch (Problem e) {
                complete = false;
                said.add("The previous system could not be activated again: " + e.getMessage());
            }
        }
        String running = SystemLinks.readLink(config.currentSystem());
        if (p.mode() != Mode.BOOT) {
            if (running != null && running.equals(prevRunning)) {
                said.add("The running system is " + running + ", as before the change.");
            } else {
                complete = false;
                said.add("The running system is " + (running == null ? "unknown (" + config.currentSystem()
                        + " is missing)" : running) + ", NOT the one that ran before (" + prevRunning + ").");
            }
        } else {
            said.add("The running system is " + running + " (a boot apply does not change it).");
        }
        return new Recovery(complete, String.join(" ", said));
    }

    /** The fix when putting back did not complete. */
    static String stuckFix(PendingApply p) {
        return "The system may be half-activated. To fix this, use rollback to generation " + p.generationBefore()
                + " (or reboot and choose generation " + p.generationBefore() + " in the boot menu); the activation"
                + " output above says what failed.";
    }
}
