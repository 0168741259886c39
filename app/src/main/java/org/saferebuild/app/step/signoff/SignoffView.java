package org.saferebuild.app.step.signoff;

import atlantafx.base.theme.Styles;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.TextField;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.checklist.ChecklistItem;
import org.saferebuild.app.checklist.ChecklistModel;
import org.saferebuild.app.ui.Ui;

/** The sign-off screen: what is still open, the operator's name, and the sign-off action. */
public final class SignoffView extends VBox {
    private final SignoffViewModel model;

    public SignoffView(SignoffViewModel model, ChecklistModel checklist) {
        this.model = model;
        setSpacing(10);
        TextField name = new TextField(model.operatorProperty().get());
        name.setId("signoff-name");
        name.setPrefColumnCount(24);
        name.textProperty().addListener((o, a, b) -> model.nameOperator(b));
        Label nameLabel = new Label("Operator n_ame");
        nameLabel.setMnemonicParsing(true);
        nameLabel.setLabelFor(name);
        HBox nameRow = new HBox(10, nameLabel, name);
        nameRow.setAlignment(Pos.CENTER_LEFT);

        Button again = new Button("Gather the e_vidence again", new FontIcon(Feather.REFRESH_CW));
        again.setId("signoff-gather");
        again.disableProperty().bind(model.busyProperty());
        again.setOnAction(e -> model.gatherEvidence());
        Button sign = new Button("_Sign off the checklist", new FontIcon(Feather.EDIT_3));
        sign.setId("signoff-sign");
        sign.getStyleClass().add(Styles.ACCENT);
        sign.setDefaultButton(true);
        Ui.focusWhenEnabled(sign);
        sign.disableProperty().bind(model.canSignProperty().not());
        sign.setOnAction(e -> model.signOff());
        name.setOnAction(e -> model.signOff());
        HBox actions = new HBox(8, sign, again);

        Label open = Ui.wrap("");
        open.setId("signoff-open");
        Runnable showOpen = () -> {
            var items = checklist.open();
            open.setText(items.isEmpty() ? "Every item of the checklist is green, each from the evidence shown beside it."
                    : "Still open: " + String.join("; ", items.stream().map(i -> i.key().runbookText).toList())
                            + ". Sign-off needs every item.");
        };
        checklist.items().forEach(i -> i.stateProperty().addListener((o, a, b) -> showOpen.run()));
        showOpen.run();

        Label status = Ui.wrap("");
        status.setId("signoff-status");
        status.textProperty().bind(model.statusProperty());

        getChildren().addAll(Ui.header("Sign off the safety checklist", model.runbookStep(),
                        "The engine captures the pre-change baseline and backs up the configuration now; the list of "
                                + "generations shows your rollback target. When every item is green, sign off: the "
                                + "engine records your name, the OS user it runs for, and every answer with its "
                                + "evidence in the audit trail. Apply stays locked until then, and changing the "
                                + "configuration or building again clears the sign-off."),
                open, nameRow, actions, status,
                Ui.slot(model.failureProperty(), f -> Ui.failure("The sign-off could not be completed", f, null)));
        for (ChecklistItem i : checklist.items()) {
            i.evidenceProperty().addListener((o, a, b) -> showOpen.run());
        }
    }
}
