package org.saferebuild.app.ui;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.CheckBox;
import javafx.scene.control.RadioButton;
import javafx.scene.control.ToggleGroup;
import javafx.scene.input.KeyCode;
import javafx.scene.layout.VBox;
import javafx.stage.Stage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

/** Alt+letter does what a click does (issue 12, item 5); Enter presses the focused button. */
@Tag("display")
class KeysTest {
    private final FxRobot robot = new FxRobot();
    private Stage stage;
    private RadioButton test;
    private RadioButton sw;
    private CheckBox window;
    private Button follow;
    private Button apply;
    private final AtomicInteger followed = new AtomicInteger();
    private final AtomicInteger applied = new AtomicInteger();

    @BeforeEach
    void show() throws Exception {
        FxToolkit.registerPrimaryStage();
        stage = FxToolkit.setupStage(s -> { });
        FxToolkit.setupFixture(() -> {
            ToggleGroup g = new ToggleGroup();
            test = new RadioButton("_Test");
            sw = new RadioButton("S_witch");
            test.setToggleGroup(g);
            sw.setToggleGroup(g);
            sw.setSelected(true);
            window = new CheckBox("Off-hours or _maintenance window");
            follow = new Button("Open full _log");
            follow.setOnAction(e -> followed.incrementAndGet());
            apply = new Button("Switch to the new _configuration");
            apply.setDefaultButton(true);
            apply.setOnAction(e -> applied.incrementAndGet());
            Scene scene = new Scene(new VBox(8, test, sw, window, follow, apply), 400, 300);
            Keys.install(scene);
            stage.setScene(scene);
            stage.show();
            stage.toFront();
        });
        WaitForAsyncUtils.waitForFxEvents();
    }

    @AfterEach
    void hide() throws Exception {
        FxToolkit.setupFixture(stage::hide);
    }

    private void alt(KeyCode k) {
        robot.press(KeyCode.ALT).press(k).release(k).release(KeyCode.ALT);
        WaitForAsyncUtils.waitForFxEvents();
    }

    @Test
    void altChoosesARadioButtonAndTicksACheckBox() {
        alt(KeyCode.T);
        assertThat(test.isSelected()).as("Alt+T chose Test").isTrue();
        assertThat(sw.isSelected()).isFalse();
        alt(KeyCode.W);
        assertThat(sw.isSelected()).as("Alt+W chose Switch").isTrue();
        alt(KeyCode.M);
        assertThat(window.isSelected()).as("Alt+M ticked the box").isTrue();
        alt(KeyCode.M);
        assertThat(window.isSelected()).as("and unticked it").isFalse();
        alt(KeyCode.L);
        assertThat(followed.get()).isEqualTo(1);
        assertThat(applied.get()).isZero();
    }

    @Test
    void enterPressesTheFocusedButtonNotTheDefaultOne() throws Exception {
        FxToolkit.setupFixture(() -> follow.requestFocus());
        robot.type(KeyCode.ENTER);
        WaitForAsyncUtils.waitForFxEvents();
        assertThat(followed.get()).as("Enter on the focused log button").isEqualTo(1);
        assertThat(applied.get()).as("the default button stays unpressed").isZero();
    }
}
