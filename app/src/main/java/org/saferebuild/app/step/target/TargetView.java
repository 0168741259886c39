package org.saferebuild.app.step.target;

import atlantafx.base.theme.Styles;
import javafx.geometry.Insets;
import javafx.scene.control.Button;
import javafx.scene.control.ComboBox;
import javafx.scene.control.Label;
import javafx.scene.control.RadioButton;
import javafx.scene.control.ToggleGroup;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.SandboxRequest.Network;

/** The Target screen: configuration directory, host, network, and the preflight checks. */
public final class TargetView extends VBox {
    private final TargetViewModel model;

    public TargetView(TargetViewModel model) {
        this.model = model;
        createView();
    }

    private void createView() {
        setSpacing(6);
        getStyleClass().add("step-view");

        ComboBox<String> dir = new ComboBox<>(model.configDirs());
        dir.setId("config-dir");
        dir.setEditable(true);
        dir.setPrefWidth(460);
        dir.setValue(model.configDirProperty().get());
        dir.valueProperty().addListener((o, a, b) -> model.chooseConfigDir(b));
        model.configDirProperty().addListener((o, a, b) -> dir.setValue(b));
        Label dirLabel = new Label("_Configuration directory");
        dirLabel.setMnemonicParsing(true);
        dirLabel.setLabelFor(dir);

        ComboBox<String> host = new ComboBox<>(model.hosts());
        host.setId("host");
        host.setPrefWidth(260);
        host.setPromptText("(from the flake's nixosConfigurations)");
        host.valueProperty().addListener((o, a, b) -> {
            if (b != null) {
                model.chooseHost(b);
            }
        });
        model.hostProperty().addListener((o, a, b) -> host.setValue(b));
        host.setValue(model.hostProperty().get());
        Label hostLabel = new Label("H_ost");
        hostLabel.setMnemonicParsing(true);
        hostLabel.setLabelFor(host);
        Label hostNote = Ui.muted("");
        hostNote.textProperty().bind(javafx.beans.binding.Bindings.createStringBinding(() -> {
            PreflightReport r = model.reportProperty().get();
            if (r == null) {
                return "The hosts are listed once the check below has read the configuration.";
            }
            return switch (r.config().kind()) {
                case FLAKE -> r.config().error() != null ? r.config().error()
                        : "This flake declares: " + String.join(", ", r.config().hosts()) + ".";
                case CLASSIC -> "A classic configuration.nix: it is built for this machine; there is no host to pick.";
                case NONE -> "No flake.nix or configuration.nix here.";
            };
        }, model.reportProperty()));

        ToggleGroup net = new ToggleGroup();
        RadioButton isolated = new RadioButton("_Isolated network (recommended)");
        isolated.setId("network-isolated");
        RadioButton shared = new RadioButton("_Shared network");
        shared.setId("network-shared");
        isolated.setToggleGroup(net);
        shared.setToggleGroup(net);
        isolated.setUserData(Network.ISOLATED);
        shared.setUserData(Network.SHARED);
        net.selectToggle(model.networkProperty().get() == Network.SHARED ? shared : isolated);
        net.selectedToggleProperty().addListener((o, a, b) -> {
            if (b != null) {
                model.chooseNetwork((Network) b.getUserData());
            }
        });
        Label netNote = Ui.muted(TargetViewModel.explain(model.networkProperty().get()));
        model.networkProperty().addListener((o, a, b) -> netNote.setText(TargetViewModel.explain(b)));

        GridPane form = new GridPane();
        form.setHgap(12);
        form.setVgap(8);
        form.addRow(0, dirLabel, dir);
        form.addRow(1, hostLabel, host);
        form.add(hostNote, 1, 2);
        form.addRow(3, new Label("Network"), new HBox(16, isolated, shared));
        form.add(netNote, 1, 4);
        netNote.setMaxWidth(640);
        hostNote.setMaxWidth(640);

        VBox checks = new VBox(8);
        checks.setId("preflight-checks");
        Runnable fill = () -> checks.getChildren().setAll(model.checks().stream().map(TargetView::checkRow).toList());
        model.checks().addListener((javafx.collections.ListChangeListener<PreflightReport.Check>) c -> fill.run());
        fill.run();
        for (Label l : new Label[] {dirLabel, hostLabel}) {
            l.setMinWidth(Label.USE_PREF_SIZE);
        }
        host.setPrefWidth(320);

        Button again = new Button("Check _again", new FontIcon(Feather.REFRESH_CW));
        again.setMnemonicParsing(true);
        again.setId("check-again");
        again.disableProperty().bind(model.busyProperty());
        again.setOnAction(e -> model.checkAgain());
        Label status = new Label();
        status.textProperty().bind(model.statusProperty());
        status.setId("preflight-status");
        HBox checkBar = new HBox(10, Ui.section("Preflight"), status, again);
        checkBar.setAlignment(javafx.geometry.Pos.CENTER_LEFT);

        getChildren().addAll(
                Ui.header("Choose what to rebuild", model.runbookStep(),
                        "Pick the configuration and host. Nothing is built or changed yet: the engine only checks "
                                + "that the runbook can be followed on this machine."),
                form, checkBar,
                Ui.slot(model.failureProperty(), f -> Ui.failure("The check could not run", f, null)),
                checks);
        setPadding(new Insets(0));
        // Keyboard users start where the screen starts: the configuration directory.
        sceneProperty().addListener((o, a, sc) -> {
            if (sc != null) {
                javafx.application.Platform.runLater(dir::requestFocus);
            }
        });
    }

    /** One check with its status icon and, when it did not pass, what to do. */
    private static HBox checkRow(PreflightReport.Check c) {
        FontIcon icon = switch (c.status()) {
            case PASS -> Ui.icon(Feather.CHECK_CIRCLE, Styles.SUCCESS);
            case WARN -> Ui.icon(Feather.ALERT_TRIANGLE, Styles.WARNING);
            case FAIL -> Ui.icon(Feather.X_CIRCLE, Styles.DANGER);
        };
        Label name = new Label(c.name());
        name.getStyleClass().add(Styles.TEXT_BOLD);
        name.setMinWidth(170);
        name.setPrefWidth(170);
        Label msg = Ui.wrap(c.message() + (c.fix() == null ? "" : "\nWhat to do: " + c.fix()));
        HBox.setHgrow(msg, javafx.scene.layout.Priority.ALWAYS);
        HBox row = new HBox(10, icon, name, msg);
        row.getStyleClass().add("check-" + c.status().name().toLowerCase());
        return row;
    }
}
