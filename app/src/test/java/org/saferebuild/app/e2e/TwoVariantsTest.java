package org.saferebuild.app.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.input.KeyCode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.app.step.build.BuildViewModel;
import org.saferebuild.app.step.build.Derivation;
import org.saferebuild.app.testing.DemoWizardTest;
import org.saferebuild.app.testing.ScreenText;
import org.saferebuild.app.testing.WizardHarness;
import org.saferebuild.app.ui.Callout;
import org.saferebuild.demo.DemoSystem.Variant;
import org.saferebuild.protocol.NixEvent;

/**
 * Issue 12, item 1: every screen's state belongs to one run. Variant A is walked, then variant B in
 * the same window, and on every screen of B nothing of A may be read: not its directory, not its
 * built system, not its errors, not its failed activation; and no step keeps a tick from A.
 */
@Tag("display")
@Tag("root")
@Tag("nix")
class TwoVariantsTest extends DemoWizardTest {

    @Test
    void afterAnActivationThatFailedTheNextVariantShowsNothingOfIt() throws Exception {
        try (WizardHarness w = WizardHarness.start(base, demo)) {
            // A: activation-fail, built, inspected, signed off, switched: the activation fails.
            Button next = WholeRunbookTest.toBuildScreen(w, Variant.ACTIVATION_FAIL);
            String aSystem = w.build();
            w.robot().clickOn(next);
            w.waitFor("A's comparison", Duration.ofMinutes(2), () -> w.robot().lookup("#inspect-summary").tryQuery()
                    .isPresent());
            w.robot().clickOn(next);
            signOff(w);
            w.robot().clickOn(next);
            w.click("apply-button"); // Switch, the default
            w.waitFor("A's activation to fail", Duration.ofMinutes(2), () -> w.robot().lookup("#failure").tryQuery()
                    .isPresent());
            Callout failed = w.robot().lookup("#failure").query();
            assertThat(failed.getTitle()).isEqualTo("The activation did not complete");
            String aFailure = failed.getDescription().lines().findFirst().orElseThrow();
            // One apply per run: the screen offers Verify and a new change, not a second activation.
            assertThat(w.onFx(() -> org.saferebuild.app.ui.Keys.shown(w.node("apply-button")))).isFalse();
            w.waitFor("Next to Verify", Duration.ofSeconds(10), () -> !next.isDisabled());
            // The engine removed the generation the apply made: the rollback target is the one that runs.
            Label rollback = w.node("evidence-rollback");
            w.waitFor("the rollback target read again", Duration.ofSeconds(20),
                    () -> rollback.getText().startsWith("Generation 1 ") && rollback.getText().contains("runs now"));
            w.screenshot("18-apply-failed");

            List<String> markers = new ArrayList<>(List.of("configs/activation-fail", "activation-fail#",
                    Path.of(aSystem).getFileName().toString().substring(0, 32), "did not complete", "70000"));
            markers.add(aFailure.substring(0, Math.min(60, aFailure.length())));

            // B: update. The apply screen's own way back: a new change.
            w.click("apply-failed-start-over");
            w.waitFor("the Target screen", Duration.ofSeconds(10), () -> w.window().flow().indexProperty().get() == 0);
            WholeRunbookTest.chooseTarget(w, Variant.UPDATE);
            for (int i = 1; i < 7; i++) {
                int step = i;
                assertThat(w.onFx(() -> w.window().step(step).completeProperty().get()))
                        .as("step %d keeps no tick from A", step + 1).isFalse();
            }
            noneOfA(w, markers, "Target");
            w.robot().clickOn(next);
            w.waitFor("B's sandbox", Duration.ofSeconds(60), () -> !next.isDisabled());
            noneOfA(w, markers, "Isolate");
            w.robot().clickOn(next);
            Label bStatus = w.node("build-status");
            w.waitFor("validation of B", Duration.ofMinutes(3), () -> bStatus.getText().startsWith("Valid: "));
            noneOfA(w, markers, "Build, validated");
            w.click("build-start");
            w.waitFor("B to build", Duration.ofMinutes(5), () -> bStatus.getText().startsWith("Built "));
            noneOfA(w, markers, "Build");
            w.clickTab("Log");
            noneOfA(w, markers, "Build, log");
            w.robot().clickOn(next);
            w.waitFor("B's comparison", Duration.ofMinutes(2), () -> w.robot().lookup("#inspect-summary").tryQuery()
                    .isPresent());
            noneOfA(w, markers, "Inspect");
            w.robot().clickOn(next);
            signOff(w);
            noneOfA(w, markers, "Sign off");
            w.robot().clickOn(next);
            // The keyboard chooses the mode (Alt+T), as the guide says.
            w.robot().press(KeyCode.ALT).press(KeyCode.T).release(KeyCode.T).release(KeyCode.ALT);
            Button apply = w.node("apply-button");
            w.waitFor("Alt+T to choose Test", Duration.ofSeconds(5),
                    () -> apply.getText().replace("_", "").equals("Test the new configuration until reboot"));
            noneOfA(w, markers, "Apply");
            w.robot().clickOn(apply);
            w.waitFor("B's countdown", Duration.ofMinutes(2), () -> w.robot().lookup("#apply-keep").tryQuery()
                    .filter(org.saferebuild.app.ui.Keys::shown).isPresent());
            w.click("apply-keep");
            w.waitFor("B kept", Duration.ofSeconds(30), () -> w.robot().lookup("#apply-outcome").tryQuery().isPresent());
            noneOfA(w, markers, "Apply, kept");
            w.robot().clickOn(next);
            w.waitFor("B's verification", Duration.ofMinutes(1), () -> w.robot().lookup("#verify-report").tryQuery()
                    .isPresent());
            noneOfA(w, markers, "Verify");
        }
    }

    @Test
    void aFailedBuildAfterABrokenVariantShowsOnlyItsOwnFailureWithItsLogTailOneClickAway() throws Exception {
        try (WizardHarness w = WizardHarness.start(base, demo)) {
            WholeRunbookTest.toBuildScreen(w, Variant.EVAL_ERROR);
            w.waitFor("the evaluation error", Duration.ofMinutes(2), () -> w.robot().lookup("#failure").tryQuery()
                    .isPresent());
            List<String> markers = List.of("chakraFrequency", "chakra-tuning.nix", "eval-error");

            w.goToStep(0);
            Button next = WholeRunbookTest.chooseAndIsolate(w, Variant.BUILD_FAIL);
            w.robot().clickOn(next);
            Label status = w.node("build-status");
            w.waitFor("validation", Duration.ofMinutes(3), () -> status.getText().startsWith("Valid: "));
            noneOfA(w, markers, "Build, validated");
            w.click("build-start");
            w.waitFor("the build to fail", Duration.ofMinutes(3), () -> status.getText().equals("The build failed."));
            noneOfA(w, markers, "Build, failed");
            BuildViewModel build = (BuildViewModel) w.window().step(2);
            Derivation failed = w.onFx(() -> build.failedDerivationProperty().get());
            assertThat(failed.name()).isEqualTo("field-translator-1.5.0-rc1");
            assertThat(failed.state()).isEqualTo(NixEvent.State.FAILED);
            // The log tail is one click away from anywhere on the screen: the failure box's button.
            w.clickTab("Log");
            w.click("build-show-tail");
            Label detail = w.node("build-derivation-detail");
            w.waitFor("the failed derivation's log tail", Duration.ofSeconds(10),
                    () -> org.saferebuild.app.ui.Keys.shown(detail) && detail.getText().contains("Hunk #1 FAILED at 142."));
            assertThat(detail.getText()).contains("Failed with exit code 1");
            w.screenshot("17-build-failed");
        }
    }

    @Test
    void theKernelVariantsInspectAdvisesARebootAndFitsTheWindow() throws Exception {
        // Issue 12, item 3: on this screen Back and Next were cut off once.
        try (WizardHarness w = WizardHarness.start(base, demo)) {
            Button next = WholeRunbookTest.toBuildScreen(w, Variant.KERNEL);
            w.build();
            w.robot().clickOn(next);
            w.waitFor("the comparison", Duration.ofMinutes(2), () -> w.robot().lookup("#inspect-summary").tryQuery()
                    .isPresent());
            Label reboot = w.node("reboot-advice");
            assertThat(reboot.getText()).isEqualTo("Reboot advised");
            assertThat(w.onFx(() -> ScreenText.of(w.stage().getScene()))).anyMatch(t -> t.contains("kernel"));
            w.screenshot("05-inspect-kernel");
            assertThat(w.onFx(() -> org.saferebuild.app.ui.Keys.shown(next) && !next.isDisabled())).isTrue();
        }
    }

    /** On the current screen, no line the operator can read names anything of variant A. */
    private static void noneOfA(WizardHarness w, List<String> markers, String screen) throws Exception {
        Thread.sleep(300); // late answers of A would land now, if anything still waited for them
        List<String> seen = w.onFx(() -> ScreenText.containing(w.stage().getScene(), markers));
        assertThat(seen).as("what of A the %s screen shows (markers %s)", screen, markers).isEmpty();
    }

    private static void signOff(WizardHarness w) throws Exception {
        Button sign = w.node("signoff-sign");
        Label st = w.node("signoff-status");
        w.waitFor("the evidence", Duration.ofMinutes(1), () -> st.getText().startsWith("Baseline, backup"));
        w.click("signoff-window");
        w.waitFor("every item green", Duration.ofSeconds(10), () -> !sign.isDisabled());
        w.robot().clickOn(sign);
        w.waitFor("the sign-off", Duration.ofSeconds(30), () -> st.getText().startsWith("Signed off by "));
        assertThat(Files.exists(demo.settingsFile())).isTrue();
    }
}
