package org.saferebuild.app.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.input.KeyCode;
import javafx.scene.layout.VBox;
import javafx.stage.Stage;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

/** Reading the log must not take the window's mnemonics away: Alt+N still means Next. */
@Tag("display")
class LogViewKeyboardTest {

    @Test
    void aMnemonicWorksWhileTheLogHasTheFocus() throws Exception {
        FxToolkit.registerPrimaryStage();
        AtomicInteger fired = new AtomicInteger();
        LogModel model = new LogModel(100);
        LogView[] view = new LogView[1];
        Stage stage = FxToolkit.setupStage(s -> { });
        FxToolkit.setupFixture(() -> {
            view[0] = new LogView(model);
            Button next = new Button("_Next");
            next.setOnAction(e -> fired.incrementAndGet());
            stage.setScene(new Scene(new VBox(view[0], next), 600, 400));
            stage.show();
            stage.toFront();
        });
        FxToolkit.setupFixture(() -> model.append("stdout", List.of("building foo", "error: it broke")));
        WaitForAsyncUtils.waitForFxEvents();
        FxRobot robot = new FxRobot();
        robot.clickOn(view[0].tail());
        WaitForAsyncUtils.waitForFxEvents();
        assertThat(view[0].tail().isFocused()).as("the log area has the focus").isTrue();
        robot.press(KeyCode.ALT).press(KeyCode.N).release(KeyCode.N).release(KeyCode.ALT);
        WaitForAsyncUtils.waitForFxEvents();
        assertThat(fired.get()).as("Alt+N fired Next while the log had the focus").isEqualTo(1);
        FxToolkit.setupFixture(stage::hide);
    }
}
