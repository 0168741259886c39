package org.saferebuild.app.step;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.saferebuild.app.step.signoff.SignoffViewModel;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemResult;

/**
 * "Know how to rollback" names the generation a revert or rollback would really return to
 * (issue 12, item 4), not the newest one.
 */
class RollbackTargetTest {
    private static final String G1 = "/nix/store/" + "1".repeat(32) + "-nixos-system-a";
    private static final String G2 = "/nix/store/" + "2".repeat(32) + "-nixos-system-b";
    private static final String BUILT = "/nix/store/" + "3".repeat(32) + "-nixos-system-c";

    private static SystemResult.Generation gen(int n, String path, boolean current, boolean running) {
        return new SystemResult.Generation(n, "2026-12-01T00:00:00Z", path, null, null, null, current, running, false,
                true, true, 1L, false);
    }

    private static SystemResult.GenerationList list(SystemResult.Generation... g) {
        return new SystemResult.GenerationList("/nix/var/nix/profiles/system", null, null, null, List.of(g));
    }

    @Test
    void beforeAnyApplyItIsTheRunningGenerationNotABootOnlyNewerOne() {
        // Generation 2 was made the boot default (Boot mode); generation 1 still runs.
        var g = list(gen(1, G1, false, true), gen(2, G2, true, false));
        assertThat(SignoffViewModel.rollbackTarget(g, null)).hasValueSatisfying(x -> assertThat(x.number()).isEqualTo(1));
    }

    @Test
    void whileThisRunsSystemRunsItIsTheGenerationBeforeIt() {
        var g = list(gen(1, G1, false, false), gen(2, BUILT, true, true));
        var applied = new SystemResult.Applied(Mode.SWITCH, BUILT, 1, 2, BUILT, true, null, 120, "Switched.");
        assertThat(SignoffViewModel.rollbackTarget(g, applied)).hasValueSatisfying(x -> assertThat(x.number())
                .isEqualTo(1));
        // A test activation makes no generation: the running system is none of them.
        var test = new SystemResult.Applied(Mode.TEST, BUILT, 1, 1, BUILT, true, null, 120, "Activated.");
        assertThat(SignoffViewModel.rollbackTarget(list(gen(1, G1, true, false)), test))
                .hasValueSatisfying(x -> assertThat(x.number()).isEqualTo(1));
    }

    @Test
    void afterAnAutomaticRevertItIsTheGenerationThatRunsAgain() {
        // The revert deleted generation 2; generation 1 runs again.
        var applied = new SystemResult.Applied(Mode.SWITCH, BUILT, 1, 2, BUILT, true, null, 120, "Switched.");
        assertThat(SignoffViewModel.rollbackTarget(list(gen(1, G1, true, true)), applied))
                .hasValueSatisfying(x -> assertThat(x.number()).isEqualTo(1));
    }
}
