package org.saferebuild.app.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javafx.scene.Node;
import javafx.scene.control.TextArea;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.app.client.EngineClient;
import org.saferebuild.app.launch.DirectLauncher;
import org.saferebuild.app.testing.DemoWizardTest;
import org.saferebuild.app.testing.WizardHarness;
import org.saferebuild.app.ui.Callout;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.EngineCommand;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * The audit trail was broken between two sessions (its last record removed): the window says so
 * above every screen, the engine refuses privileged actions, and "Acknowledge the broken trail"
 * with the operator's note is recorded and lets them work again.
 */
@Tag("display")
@Tag("root")
@Tag("nix")
class BrokenTrailTest extends DemoWizardTest {

    @Test
    void aBrokenTrailIsShownAboveTheWizardAndCanBeAcknowledged() throws Exception {
        EngineClient first = EngineClient.connect(new DirectLauncher(EngineCommand.fromClassPath(demo.settingsFile()),
                base.resolve("first-engine.log").toFile()), Duration.ofSeconds(60));
        first.run(id -> new SystemRequest.Pin(id, 1), SystemResult.Pinned.class).result().get(2, TimeUnit.MINUTES);
        first.run(id -> new SystemRequest.Unpin(id, 1), SystemResult.Pinned.class).result().get(2, TimeUnit.MINUTES);
        first.close();
        first.awaitExit(Duration.ofSeconds(60));
        List<String> lines = Files.readAllLines(demo.auditLog());
        Files.write(demo.auditLog(), lines.subList(0, lines.size() - 1)); // the unpin's outcome is removed

        try (WizardHarness w = WizardHarness.start(base, demo)) {
            Node broken = w.node("audit-broken");
            w.waitFor("the banner", Duration.ofSeconds(20), broken::isVisible);
            String text = w.onFx(() -> w.robot().lookup("#audit-broken .callout").queryAll().stream()
                    .map(n -> ((Callout) n).getDescription()).findFirst().orElse(""));
            assertThat(text).contains("broken at line 4").contains("record 4 was removed")
                    .contains("refuses to apply, roll back");
            Node ack = w.node("audit-acknowledge");
            assertThat(w.onFx(ack::isDisabled)).as("a note is needed first").isTrue();
            assertThat(w.client().run(id -> new SystemRequest.Pin(id, 1), SystemResult.Pinned.class).result()
                    .handle((r, e) -> e).get(1, TimeUnit.MINUTES)).hasMessageContaining(ProblemCode.AUDIT_BROKEN.name());
            TextArea note = w.node("audit-note");
            w.onFx(() -> {
                note.setText("The unpin record was removed while testing the log rotation; checked with the team.");
                return null;
            });
            w.screenshot("audit-trail-broken");
            w.click("audit-acknowledge");
            // The acknowledgement shows, and the broken-trail banner goes: two updates, so wait for both.
            w.waitFor("the acknowledgement", Duration.ofSeconds(30), () -> w.robot().lookup("#audit-acknowledged")
                    .tryQuery().isPresent() && !broken.isVisible());
            assertThat(w.onFx(broken::isVisible)).isFalse();
            w.screenshot("audit-trail-acknowledged");

            AuditRecord recorded = Json.decode(Files.readAllLines(demo.auditLog()).get(3), AuditRecord.class);
            assertThat(recorded.what()).isEqualTo("audit.acknowledge");
            assertThat(recorded.args().get("note").asText()).contains("log rotation");
            assertThat(w.client().run(id -> new SystemRequest.Pin(id, 1), SystemResult.Pinned.class).result()
                    .get(1, TimeUnit.MINUTES).pinned()).as("privileged actions work again").isTrue();
        }
    }
}
