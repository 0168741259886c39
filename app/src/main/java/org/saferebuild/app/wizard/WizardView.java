package org.saferebuild.app.wizard;

import atlantafx.base.theme.Styles;
import java.util.List;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.ListCell;
import javafx.scene.control.ListView;
import javafx.scene.control.ScrollPane;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;

/**
 * The wizard's frame: the step list on the left (where the operator is, what is done), the step's
 * view in the middle, Back and Next at the bottom bound to {@link WizardFlow}.
 */
public final class WizardView extends BorderPane {
    private final WizardFlow flow;
    private final List<Step> steps;
    private final ListView<StepModel> list;
    private final BorderPane content = new BorderPane();
    private final ScrollPane page = new ScrollPane();

    public WizardView(WizardFlow flow, List<Step> steps) {
        this.flow = flow;
        this.steps = steps;
        this.list = new ListView<>(javafx.collections.FXCollections.observableArrayList(flow.steps()));
        createView();
        initListeners();
    }

    private void createView() {
        list.setId("step-list");
        list.getStyleClass().addAll("step-list", Styles.DENSE);
        list.setPrefWidth(160);
        list.setMinWidth(150);
        list.setCellFactory(v -> new StepCell());
        list.setFocusTraversable(false);
        Label stepsTitle = new Label("Runbook");
        stepsTitle.getStyleClass().addAll(Styles.TEXT_CAPTION, Styles.TEXT_MUTED);
        VBox left = new VBox(6, stepsTitle, list);
        VBox.setVgrow(list, Priority.ALWAYS);
        left.setPadding(new Insets(14, 8, 14, 14));
        setLeft(left);

        // One scroll area per screen: the step fills the height when it fits and scrolls as a whole
        // when it does not, so the buttons below are always in view and nothing is squeezed.
        page.setFitToWidth(true);
        page.setFitToHeight(true);
        page.setHbarPolicy(ScrollPane.ScrollBarPolicy.NEVER);
        page.setId("step-page");
        page.getStyleClass().addAll("step-page", Styles.FLAT);
        content.setPadding(new Insets(14, 20, 10, 20));
        page.setContent(content);
        setCenter(page);

        Button back = new Button("_Back", new FontIcon(Feather.ARROW_LEFT));
        back.setId("wizard-back");
        back.disableProperty().bind(flow.canGoBackProperty().not());
        back.setOnAction(e -> flow.back());
        Button next = new Button("_Next", new FontIcon(Feather.ARROW_RIGHT));
        next.setId("wizard-next");
        next.setContentDisplay(javafx.scene.control.ContentDisplay.RIGHT);
        next.disableProperty().bind(flow.canAdvanceProperty().not());
        next.setOnAction(e -> flow.next());
        Label where = new Label();
        where.getStyleClass().add(Styles.TEXT_MUTED);
        where.textProperty().bind(javafx.beans.binding.Bindings.createStringBinding(() -> {
            StepModel s = flow.currentProperty().get();
            int i = flow.indexProperty().get();
            String hint = s.busyProperty().get() ? " · working…"
                    : s.completeProperty().get() ? "" : " · finish this step to go on";
            return "Step " + (i + 1) + " of " + flow.steps().size() + ": " + s.title() + hint;
        }, flow.indexProperty(), flow.currentProperty(), flow.canAdvanceProperty(), flow.canGoBackProperty()));
        Region grow = new Region();
        HBox.setHgrow(grow, Priority.ALWAYS);
        HBox nav = new HBox(10, where, grow, back, next);
        nav.setAlignment(Pos.CENTER_LEFT);
        nav.setPadding(new Insets(8, 20, 8, 20));
        back.setMinWidth(javafx.scene.control.Control.USE_PREF_SIZE);
        next.setMinWidth(javafx.scene.control.Control.USE_PREF_SIZE);
        where.setMinWidth(0);
        nav.getStyleClass().add("wizard-nav");
        setBottom(nav);
    }

    private void initListeners() {
        flow.indexProperty().addListener((o, a, b) -> show(b.intValue()));
        list.getSelectionModel().selectedIndexProperty().addListener((o, a, b) -> {
            int i = b.intValue();
            if (i >= 0 && i != flow.indexProperty().get()) {
                flow.goTo(i);
                list.getSelectionModel().select(flow.indexProperty().get());
            }
        });
        for (StepModel s : flow.steps()) {
            s.completeProperty().addListener((o, a, b) -> list.refresh());
            s.busyProperty().addListener((o, a, b) -> list.refresh());
        }
        show(flow.indexProperty().get());
    }

    private void show(int i) {
        content.setCenter(steps.get(i).view());
        page.setVvalue(0);
        list.getSelectionModel().select(i);
        list.refresh();
    }

    /** The scroll area the current step is shown in. */
    public ScrollPane page() {
        return page;
    }

    private final class StepCell extends ListCell<StepModel> {
        @Override
        protected void updateItem(StepModel s, boolean empty) {
            super.updateItem(s, empty);
            if (empty || s == null) {
                setGraphic(null);
                setText(null);
                return;
            }
            int i = getIndex();
            boolean current = i == flow.indexProperty().get();
            FontIcon icon;
            if (s.busyProperty().get()) {
                icon = new FontIcon(Feather.LOADER);
            } else if (s.completeProperty().get()) {
                icon = new FontIcon(Feather.CHECK_CIRCLE);
                icon.getStyleClass().add(Styles.SUCCESS);
            } else {
                icon = new FontIcon(current ? Feather.ARROW_RIGHT_CIRCLE : Feather.CIRCLE);
            }
            Label n = new Label((i + 1) + "  " + s.title());
            if (current) {
                n.getStyleClass().add(Styles.TEXT_BOLD);
            }
            if (!flow.reachable(i)) {
                n.getStyleClass().add(Styles.TEXT_MUTED);
            }
            HBox row = new HBox(8, icon, n);
            row.setAlignment(Pos.CENTER_LEFT);
            setGraphic(row);
            setText(null);
        }
    }
}
