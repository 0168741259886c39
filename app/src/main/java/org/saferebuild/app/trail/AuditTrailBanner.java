package org.saferebuild.app.trail;

import atlantafx.base.theme.Styles;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.TextArea;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.SystemResult;

/**
 * Above every screen while the audit trail is broken and not acknowledged: what is wrong and where,
 * that the engine refuses privileged actions until then, a note to write and "Acknowledge the
 * broken trail". After acknowledging, what was recorded, until dismissed.
 */
public final class AuditTrailBanner extends VBox {
    private final AuditTrailModel model;

    public AuditTrailBanner(AuditTrailModel model, Runnable showHistory) {
        this.model = model;
        setId("audit-trail-banner");
        setPadding(new Insets(10, 16, 0, 16));
        setSpacing(8);

        VBox broken = new VBox(8);
        broken.setId("audit-broken");
        TextArea note = new TextArea();
        note.setId("audit-note");
        note.setPromptText("What you found, e.g. \"line 12 was lost when /var/log was restored from last night's"
                + " backup\". It is recorded with your name.");
        note.setPrefRowCount(2);
        note.setWrapText(true);
        note.textProperty().bindBidirectional(model.noteProperty());
        // Alt+K: this banner stands above every screen, whose own letters it must not take (ui.Shortcuts).
        Button ack = new Button("Ac_knowledge the broken trail", new FontIcon(Feather.CHECK_SQUARE));
        ack.setId("audit-acknowledge");
        ack.getStyleClass().add(Styles.DANGER);
        ack.disableProperty().bind(model.canAcknowledge().not());
        ack.setOnAction(e -> model.acknowledge());
        Button look = new Button("Look at the trail", new FontIcon(Feather.BOOK_OPEN));
        look.setMnemonicParsing(false);
        look.setTooltip(new javafx.scene.control.Tooltip("History (Alt+H)"));
        look.setId("audit-show-history");
        look.setOnAction(e -> showHistory.run());
        HBox actions = new HBox(10, ack, look);
        actions.setAlignment(Pos.CENTER_LEFT);
        VBox failure = Ui.slot(model.failureProperty(), f -> Ui.failure("The acknowledgement was not recorded", f,
                null));

        model.verdictProperty().addListener((o, a, b) -> fill(broken, b, note, actions, failure));
        fill(broken, model.verdictProperty().get(), note, actions, failure);
        broken.visibleProperty().bind(model.needsAcknowledgement());
        broken.managedProperty().bind(broken.visibleProperty());

        VBox done = Ui.slot(model.acknowledgedProperty(), a -> {
            Button dismiss = new Button("Dismiss", new FontIcon(Feather.X));
            dismiss.setMnemonicParsing(false);
            dismiss.setTooltip(new javafx.scene.control.Tooltip("Escape"));
            dismiss.setId("audit-dismiss");
            dismiss.getStyleClass().add(Styles.FLAT);
            dismiss.setOnAction(e -> model.dismiss());
            VBox box = new VBox(6, Ui.info("Acknowledged and recorded", a.message(), Feather.CHECK_CIRCLE,
                    Styles.SUCCESS), dismiss);
            box.setId("audit-acknowledged");
            return box;
        });

        getChildren().addAll(broken, done);
        visibleProperty().bind(broken.visibleProperty().or(model.acknowledgedProperty().isNotNull()));
        managedProperty().bind(visibleProperty());
    }

    private static void fill(VBox broken, SystemResult.AuditVerdict v, TextArea note, HBox actions, VBox failure) {
        broken.getChildren().clear();
        if (v == null || !v.needsAcknowledgement()) {
            return;
        }
        Label ask = Ui.muted("Look at the trail and find out what happened first. Acknowledging does not repair it:"
                + " it records that you have seen the break, and the engine accepts privileged actions again.");
        broken.getChildren().addAll(Ui.info("The audit trail is broken: privileged actions are refused",
                describe(v), Feather.ALERT_OCTAGON, Styles.DANGER), ask, note, actions, failure);
    }

    /** The break in the operator's words. */
    static String describe(SystemResult.AuditVerdict v) {
        return "The engine checked " + v.file() + " and found it broken at line " + v.firstBadLine() + ": "
                + v.reason() + ". Until an operator acknowledges this, the engine refuses to apply, roll back, pin,"
                + " open sandboxes or record a sign-off, because it could not show afterwards what was done.";
    }

    /** Escape: dismisses the acknowledged note, if it is shown. Returns whether it was. */
    public boolean dismiss() {
        if (model.acknowledgedProperty().get() != null && !model.needsAcknowledgement().get()) {
            model.dismiss();
            return true;
        }
        return false;
    }

    public AuditTrailModel model() {
        return model;
    }
}
