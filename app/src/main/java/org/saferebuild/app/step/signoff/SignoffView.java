package org.saferebuild.app.step.signoff;

import atlantafx.base.theme.Styles;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.CheckBox;
import javafx.scene.control.Label;
import javafx.scene.control.TextField;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.checklist.ChecklistItem;
import org.saferebuild.app.checklist.ChecklistModel;
import org.saferebuild.app.ui.Ui;

/**
 * The sign-off screen: how many items are green and which are still open (one sentence, always
 * current), the one item only the operator can answer, the operator's name, and the sign-off.
 */
public final class SignoffView extends VBox {

    public SignoffView(SignoffViewModel model, ChecklistModel checklist) {
        setSpacing(10);
        Label open = Ui.wrap("");
        open.setId("signoff-open");
        Runnable showOpen = () -> open.setText(openSentence(checklist));
        checklist.items().forEach(i -> i.stateProperty().addListener((o, a, b) -> showOpen.run()));
        showOpen.run();

        // The one item no program can know, here as well as in the checklist beside.
        ChecklistItem window = checklist.item(ChecklistItem.Key.WINDOW);
        CheckBox tick = new CheckBox("This is an off-hours or _maintenance window");
        tick.setId("signoff-window");
        tick.setSelected(window.passed());
        tick.selectedProperty().addListener((o, a, b) -> {
            if (b != window.passed()) {
                checklist.tick(ChecklistItem.Key.WINDOW, b, model.operatorProperty().get());
            }
        });
        window.stateProperty().addListener((o, a, b) -> tick.setSelected(window.passed()));

        TextField name = new TextField(model.operatorProperty().get());
        name.setId("signoff-name");
        name.setPrefColumnCount(24);
        name.textProperty().addListener((o, a, b) -> model.nameOperator(b));
        Label nameLabel = new Label("Operator n_ame");
        nameLabel.setMnemonicParsing(true);
        nameLabel.setLabelFor(name);
        nameLabel.setMinWidth(Region.USE_PREF_SIZE);
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
        FlowPane actions = new FlowPane(8, 8, sign, again);
        for (Button b : new Button[] {sign, again}) {
            b.setMinWidth(Region.USE_PREF_SIZE);
        }

        Label status = Ui.muted("");
        status.setId("signoff-status");
        status.textProperty().bind(model.statusProperty());

        getChildren().addAll(Ui.header("Sign off the safety checklist", model.runbookStep(),
                        "When every item is green, sign off: Apply stays locked until you do.",
                        "On arrival the engine captures the pre-change baseline (generation, booted system, failed"
                                + " units, watched services, log sizes, journal position) and backs up the"
                                + " configuration (every file with its SHA-256, the git commit if any); the list of"
                                + " generations gives the rollback target. Signing off records your name, the OS user"
                                + " the engine runs for, and every answer with its evidence in the audit trail."
                                + " Another configuration, a new build or a rollback clears the sign-off."),
                open, tick, nameRow, actions, status,
                Ui.slot(model.failureProperty(), f -> Ui.failure("The sign-off could not be completed", f, null)));
    }

    /** "6 of 8 items are green. Still open: …" — counted from the checklist itself, so it never disagrees. */
    static String openSentence(ChecklistModel checklist) {
        var open = checklist.open();
        int total = checklist.items().size();
        if (open.isEmpty()) {
            return "All " + total + " items are green, each from the evidence in the checklist beside.";
        }
        return (total - open.size()) + " of " + total + " items are green. Still open: " + String.join("; ",
                open.stream().map(i -> i.key().runbookText).toList()) + ".";
    }
}
