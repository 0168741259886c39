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
    void buildingAgainClearsTheSignOff() {
        session.chooseTarget(bears);
        signOff();
        session.built(new RunSession.BuiltSystem("/nix/store/" + "b".repeat(32) + "-nixos-system-y", "/r", "/l", 1));
        assertThat(session.signedOffProperty().get()).isNull();
    }
}
