package org.saferebuild.app.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.saferebuild.protocol.SandboxRequest.Network;
import org.saferebuild.protocol.SystemResult;

/** Apply is bound to the sign-off; these are the rules that clear it. */
class RunSessionTest {
    private final RunSession session = new RunSession();
    private final RunSession.Target bears = new RunSession.Target("/etc/nixos", "BearsiMac", Network.ISOLATED, "nixos");

    private void signOff() {
        session.signedOff(new SystemResult.SignedOff(3, "a".repeat(64), "root", "Signed off."), "bear");
    }

    @Test
    void changingTheConfigurationAfterSignOffClearsIt() {
        session.chooseTarget(bears);
        session.built(new RunSession.BuiltSystem("/nix/store/" + "a".repeat(32) + "-nixos-system-x", "/r", "/l", 1));
        signOff();
        assertThat(session.signedOffProperty().get()).isNotNull();
        session.chooseTarget(new RunSession.Target("/etc/nixos", "BearsiMac", Network.SHARED, "nixos"));
        assertThat(session.signedOffProperty().get()).isNull();
        assertThat(session.builtProperty().get()).as("the build was for the old target").isNull();
    }

    @Test
    void choosingTheSameTargetAgainKeepsTheSignOff() {
        session.chooseTarget(bears);
        signOff();
        session.chooseTarget(new RunSession.Target("/etc/nixos", "BearsiMac", Network.ISOLATED, "nixos"));
        assertThat(session.signedOffProperty().get()).isNotNull();
        assertThat(session.signedOffBy()).isEqualTo("bear");
    }

    @Test
    void buildingAgainStartsANewRunAndClearsTheSignOff() {
        session.chooseTarget(bears);
        signOff();
        long run = session.runProperty().get();
        session.startBuild();
        assertThat(session.runProperty().get()).isEqualTo(run + 1);
        assertThat(session.signedOffProperty().get()).isNull();
        assertThat(session.timeline()).extracting(RunSession.Entry::what).noneMatch(w -> w.startsWith("Signed off"));
    }

    @Test
    void aRollbackBeforeTheApplyClearsTheSignOffButNotAfterIt() {
        session.chooseTarget(bears);
        signOff();
        long changes = session.systemChangesProperty().get();
        session.systemChangedElsewhere("Rolled back to generation 1 from Generations");
        assertThat(session.signedOffProperty().get()).as("the baseline was of a system that no longer runs").isNull();
        assertThat(session.systemChangesProperty().get()).isEqualTo(changes + 1);

        signOff();
        session.applied(new SystemResult.Applied(org.saferebuild.protocol.SystemRequest.Mode.SWITCH,
                "/nix/store/" + "c".repeat(32) + "-nixos-system-z", 1, 2, "/nix/store/" + "c".repeat(32)
                + "-nixos-system-z", true, null, 120, "Switched to generation 2."));
        session.applyEnded("Reverted: nobody kept it");
        session.systemChangedElsewhere("Rolled back to generation 1 from Generations");
        assertThat(session.signedOffProperty().get()).as("this run's story stays").isNotNull();
        assertThat(session.timeline()).extracting(RunSession.Entry::what).containsSubsequence(
                "Switched to generation 2.", "Reverted: nobody kept it", "Rolled back to generation 1 from Generations");
    }
}
