package org.saferebuild.app.launch;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;

/**
 * Real pkexec, real polkitd, real accounts: the app's launcher, run as an operator account,
 * starts the installed engine wrapper through pkexec (docs/security.md "Hardening tests").
 */
@Tag("root")
class PkexecEndToEndTest {
    private static PolkitFixture polkit;

    @BeforeAll
    static void setUp() throws Exception {
        polkit = PolkitFixture.start();
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (polkit != null) {
            polkit.close();
        }
    }

    @Test
    void theAllowedOperatorGetsARootEngineThroughPkexecAndTheAppSaysSo() throws Exception {
        Map<String, Object> r = polkit.probe(PolkitFixture.OPERATOR, "auto");
        assertThat(r).as("probe result %s", r).containsEntry("ok", true);
        assertThat(r).containsEntry("chosen", "PKEXEC").containsEntry("mode", "PKEXEC");
        assertThat((String) r.get("reason")).contains("pkexec");
        assertThat(r).containsEntry("euid", 0).containsEntry("launchedVia", "pkexec")
                .containsEntry("operatorUid", PolkitFixture.uid(PolkitFixture.OPERATOR))
                .containsEntry("operatorName", PolkitFixture.OPERATOR);
        // It really ran as root: it made its private state directory.
        assertThat(Files.getOwner(polkit.stateDir).getName()).isEqualTo("root");
    }

    @Test
    void aUserWithoutTheRuleIsRefusedWithWhatHappenedAndWhatToDo() throws Exception {
        Map<String, Object> r = polkit.probe(PolkitFixture.STRANGER, "pkexec");
        assertThat(r).as("probe result %s", r).containsEntry("ok", false);
        assertThat(r).containsEntry("chosen", "PKEXEC").doesNotContainKey("mode");
        assertThat((String) r.get("message"))
                .contains("Authorization was refused or pkexec could not start the engine")
                .contains("pkexec exit 127: not authorized, or pkexec failed")
                .contains("No authentication agent found")
                .contains("Nothing was changed");
        assertThat((String) r.get("fix")).contains("authentication agent").contains("org.saferebuild.engine");
    }

    @Test
    void anAuthenticationInterruptedAtThePasswordPromptIsReportedAsRefused() throws Exception {
        // With an authentication agent (pkttyagent on a terminal) the stranger is asked for an
        // administrator's password; Ctrl-C there ends pkexec with 127 "Not authorized" (polkit
        // reports "dismissed", exit 126, only when an agent cancels the request itself).
        String screen = polkit.probeAtPasswordPrompt(PolkitFixture.STRANGER, "\u0003");
        assertThat(screen).as("the agent asked for the password").contains("AUTHENTICATING FOR " + polkit.actionId);
        String last = screen.lines().map(String::strip).filter(l -> l.startsWith("{\"")).reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError("the probe printed no result:\n" + screen));
        @SuppressWarnings("unchecked")
        Map<String, Object> r = org.saferebuild.protocol.Json.mapper().readValue(last, Map.class);
        assertThat(r).as("probe result %s", r).containsEntry("ok", false).containsEntry("chosen", "PKEXEC");
        assertThat((String) r.get("message"))
                .contains("Authorization was refused or pkexec could not start the engine")
                .contains("pkexec exit 127").contains("\"Error executing command as another user: Not authorized\"")
                .contains("Nothing was changed");
        assertThat((String) r.get("fix")).contains("Enter the password of an administrator");
        assertThat(Files.exists(polkit.stateDir)).as("no engine ran").isFalse();
    }

    @Test
    void rootsSudoLauncherStartsTheInstalledEngineAndItKnowsItCameThroughSudo() throws Exception {
        Path sudo = EngineLaunchers.findSudo().orElseThrow(() -> new AssertionError("sudo is not installed"));
        Launched l = new SudoLauncher(sudo, polkit.engine, polkit.config, null).launch();
        assertThat(l.mode()).isEqualTo(Mode.SUDO);
        EngineConnection c = new EngineConnection(l.process().getInputStream(), l.process().getOutputStream());
        Event.Welcome w = c.handshake("sudo-test", Duration.ofSeconds(30));
        assertThat(w.euid()).isZero();
        assertThat(w.launchedVia()).isEqualTo("sudo");
        assertThat(w.operatorUid()).isZero();
        c.close();
        assertThat(l.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void sudoWithoutAPasswordRuleIsRefusedAndSaysSo() throws Exception {
        Map<String, Object> r = polkit.probe(PolkitFixture.STRANGER, "sudo");
        assertThat(r).as("probe result %s", r).containsEntry("ok", false).containsEntry("chosen", "SUDO");
        assertThat((String) r.get("message")).contains("sudo did not start the engine without a password (sudo -n)")
                .contains("sudo: a password is required");
        assertThat((String) r.get("fix")).contains("pkexec").contains(polkit.engine.toString());
    }
}
