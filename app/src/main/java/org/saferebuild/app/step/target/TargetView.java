package org.saferebuild.app.step.target;

import atlantafx.base.theme.Styles;
import java.io.File;
import java.util.List;
import javafx.beans.binding.Bindings;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.ComboBox;
import javafx.scene.control.Label;
import javafx.scene.control.ListCell;
import javafx.scene.control.RadioButton;
import javafx.scene.control.ToggleGroup;
import javafx.scene.layout.ColumnConstraints;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import javafx.stage.DirectoryChooser;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;
import org.saferebuild.app.ui.Disclosure;
import org.saferebuild.app.ui.Ui;
import org.saferebuild.protocol.NixResult;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.SandboxRequest.Network;

/**
 * The Target screen: the configuration (each with its host, what it says about itself and its
 * last build; or Browse), the host, the network, and the preflight: what failed in full, what
 * passed behind a disclosure.
 */
public final class TargetView extends VBox {
    private final TargetViewModel model;

    public TargetView(TargetViewModel model) {
        this.model = model;
        createView();
    }

    private void createView() {
        setSpacing(8);
        getStyleClass().add("step-view");

        ComboBox<String> dir = new ComboBox<>(model.configDirs());
        dir.setId("config-dir");
        dir.setMaxWidth(Double.MAX_VALUE);
        dir.setCellFactory(v -> new ConfigCell(true));
        dir.setButtonCell(new ConfigCell(false));
        dir.setValue(model.configDirProperty().get());
        dir.valueProperty().addListener((o, a, b) -> model.chooseConfigDir(b));
        model.configDirProperty().addListener((o, a, b) -> dir.setValue(b));
        // The cells read the engine's summaries: draw them again when those arrive.
        model.summariesProperty().addListener((o, a, b) -> {
            dir.setButtonCell(new ConfigCell(false));
            dir.setCellFactory(v -> new ConfigCell(true));
        });
        Label dirLabel = new Label("_Configuration");
        dirLabel.setMnemonicParsing(true);
        dirLabel.setLabelFor(dir);
        Button browse = new Button("Bro_wse…", new FontIcon(Feather.FOLDER));
        browse.setId("config-browse");
        browse.setOnAction(e -> {
            DirectoryChooser c = new DirectoryChooser();
            c.setTitle("Choose a NixOS configuration directory");
            String current = model.configDirProperty().get();
            if (current != null && new File(current).getParentFile() != null
                    && new File(current).getParentFile().isDirectory()) {
                c.setInitialDirectory(new File(current).getParentFile());
            }
            File chosen = c.showDialog(getScene().getWindow());
            if (chosen != null) {
                model.chooseConfigDir(chosen.getAbsolutePath());
            }
        });
        Label about = Ui.muted("");
        about.setId("config-about");
        about.textProperty().bind(Bindings.createStringBinding(() -> {
            String d = model.configDirProperty().get();
            NixResult.ConfigSummary s = d == null ? null : model.summariesProperty().get().get(d);
            return d == null ? "" : s == null ? d : TargetViewModel.describe(s);
        }, model.configDirProperty(), model.summariesProperty()));

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
        hostNote.textProperty().bind(Bindings.createStringBinding(() -> {
            PreflightReport r = model.reportProperty().get();
            if (r == null) {
                return "Listed once the check below has read the configuration.";
            }
            return switch (r.config().kind()) {
                case FLAKE -> r.config().error() != null ? r.config().error()
                        : r.config().hosts().size() == 1 ? "The flake declares this one host."
                        : "The flake declares " + r.config().hosts().size() + " hosts.";
                case CLASSIC -> "A classic configuration.nix is built for this machine: there is no host to pick.";
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
        form.setVgap(6);
        ColumnConstraints labels = new ColumnConstraints();
        labels.setMinWidth(Region.USE_PREF_SIZE);
        ColumnConstraints fields = new ColumnConstraints();
        fields.setHgrow(Priority.ALWAYS);
        form.getColumnConstraints().addAll(labels, fields);
        HBox dirRow = new HBox(8, dir, browse);
        HBox.setHgrow(dir, Priority.ALWAYS);
        browse.setMinWidth(Region.USE_PREF_SIZE);
        form.addRow(0, dirLabel, dirRow);
        form.add(about, 1, 1);
        form.addRow(2, hostLabel, new HBox(10, host, hostNote));
        ((HBox) host.getParent()).setAlignment(Pos.CENTER_LEFT);
        HBox.setHgrow(hostNote, Priority.ALWAYS);
        form.addRow(3, new Label("Network"), new HBox(16, isolated, shared));
        form.add(netNote, 1, 4);
        for (Label l : new Label[] {dirLabel, hostLabel}) {
            l.setMinWidth(Label.USE_PREF_SIZE);
        }

        VBox problems = new VBox(6);
        problems.setId("preflight-checks");
        VBox passed = new VBox(4);
        passed.setId("preflight-passed");
        Disclosure passedBox = new Disclosure("", passed);
        passedBox.setId("preflight-passed-disclosure");
        Runnable fill = () -> {
            List<PreflightReport.Check> all = model.checks();
            problems.getChildren().setAll(all.stream().filter(c -> c.status() != PreflightReport.Status.PASS)
                    .map(TargetView::checkRow).toList());
            List<PreflightReport.Check> ok = all.stream().filter(c -> c.status() == PreflightReport.Status.PASS).toList();
            passed.getChildren().setAll(ok.stream().map(TargetView::checkRow).toList());
            passedBox.toggle().setText(ok.isEmpty() ? "" : ok.size() + " check" + (ok.size() == 1 ? "" : "s")
                    + " passed");
            passedBox.setVisible(!ok.isEmpty());
            passedBox.setManaged(!ok.isEmpty());
        };
        model.checks().addListener((javafx.collections.ListChangeListener<PreflightReport.Check>) c -> fill.run());
        fill.run();

        Button again = new Button("Check _again", new FontIcon(Feather.REFRESH_CW));
        again.setId("check-again");
        again.disableProperty().bind(model.busyProperty());
        again.setOnAction(e -> model.checkAgain());
        again.setMinWidth(Region.USE_PREF_SIZE);
        Label status = Ui.wrap("");
        status.textProperty().bind(model.statusProperty());
        status.setId("preflight-status");
        HBox.setHgrow(status, Priority.ALWAYS);
        Label section = Ui.section("Preflight");
        section.setMinWidth(Region.USE_PREF_SIZE);
        HBox checkBar = new HBox(10, section, status, again);
        checkBar.setAlignment(Pos.CENTER_LEFT);
        checkBar.setPadding(new Insets(6, 0, 0, 0));

        getChildren().addAll(
                Ui.header("Choose what to rebuild", model.runbookStep(),
                        "Pick the configuration, host and network; nothing is built or changed yet.",
                        "The engine only checks that the runbook can be followed on this machine: root, namespaces,"
                                + " the tools, the Nix version and set-up, free space, /run/systemd and the"
                                + " configuration itself. The list of configurations is the engine's own settings;"
                                + " Browse chooses another directory, which the engine accepts only if its settings"
                                + " name it."),
                form, checkBar,
                Ui.slot(model.failureProperty(), f -> Ui.failure(TargetViewModel.refusesDirectory(f)
                        ? "The engine does not accept this directory" : "The check could not run", f, null)),
                problems, passedBox);
        // Keyboard users start where the screen starts: the configuration.
        sceneProperty().addListener((o, a, sc) -> {
            if (sc != null) {
                javafx.application.Platform.runLater(dir::requestFocus);
            }
        });
    }

    /** One check with its status icon and, when it did not pass, what to do. */
    private static HBox checkRow(PreflightReport.Check c) {
        org.kordamp.ikonli.javafx.FontIcon icon = switch (c.status()) {
            case PASS -> Ui.icon(Feather.CHECK_CIRCLE, Styles.SUCCESS);
            case WARN -> Ui.icon(Feather.ALERT_TRIANGLE, Styles.WARNING);
            case FAIL -> Ui.icon(Feather.X_CIRCLE, Styles.DANGER);
        };
        Label name = new Label(c.name());
        name.getStyleClass().add(Styles.TEXT_BOLD);
        name.setMinWidth(150);
        name.setPrefWidth(150);
        VBox text = new VBox(2, Ui.withStorePaths(c.message()));
        if (c.fix() != null) {
            text.getChildren().add(new Disclosure("What to do", Ui.muted(c.fix())));
        }
        HBox.setHgrow(text, Priority.ALWAYS);
        HBox row = new HBox(10, icon, name, text);
        row.getStyleClass().add("check-" + c.status().name().toLowerCase());
        row.setMinHeight(Region.USE_PREF_SIZE);
        return row;
    }

    /** A configuration in the list: its name, then (in the drop-down) its host, words and last build. */
    private final class ConfigCell extends ListCell<String> {
        private final boolean full;

        ConfigCell(boolean full) {
            this.full = full;
        }

        @Override
        protected void updateItem(String d, boolean empty) {
            super.updateItem(d, empty);
            if (empty || d == null) {
                setText(null);
                setGraphic(null);
                return;
            }
            NixResult.ConfigSummary s = model.summariesProperty().get().get(d);
            Label name = new Label(TargetViewModel.name(d));
            name.getStyleClass().add(Styles.TEXT_BOLD);
            if (!full) {
                Label path = new Label(d);
                path.getStyleClass().add(Styles.TEXT_MUTED);
                path.setMinWidth(0);
                HBox row = new HBox(10, name, path);
                row.setAlignment(Pos.CENTER_LEFT);
                name.setMinWidth(Region.USE_PREF_SIZE);
                setGraphic(row);
            } else {
                Label more = new Label(s == null ? d : d + "\n" + TargetViewModel.describe(s));
                more.getStyleClass().addAll(Styles.TEXT_MUTED, Styles.TEXT_SMALL);
                more.setWrapText(true);
                more.setMaxWidth(620);
                setGraphic(new VBox(1, name, more));
            }
            setText(null);
        }
    }
}
