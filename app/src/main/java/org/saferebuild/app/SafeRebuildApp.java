package org.saferebuild.app;

import javafx.application.Application;
import javafx.scene.Scene;
import javafx.scene.control.Label;
import javafx.stage.Stage;

/** The operator's wizard. (Skeleton: the screens arrive with issue 5.) */
public final class SafeRebuildApp extends Application {
    @Override
    public void start(Stage stage) {
        stage.setTitle("Safe Rebuild");
        stage.setScene(new Scene(new Label("Safe Rebuild"), 1100, 760));
        stage.show();
    }
}
