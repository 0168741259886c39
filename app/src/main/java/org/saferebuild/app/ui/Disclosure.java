package org.saferebuild.app.ui;

import javafx.scene.Node;
import javafx.scene.control.Hyperlink;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import org.kordamp.ikonli.feather.Feather;
import org.kordamp.ikonli.javafx.FontIcon;

/**
 * Details behind a link ("More about this step ▸"): hidden until asked for, so each screen reads
 * as one sentence and the rest is one click away.
 */
public final class Disclosure extends VBox {
    private final Hyperlink toggle;
    private final Node content;
    private final String title;

    public Disclosure(String title, Node content) {
        this.title = title;
        this.content = content;
        this.toggle = new Hyperlink(title, new FontIcon(Feather.CHEVRON_RIGHT));
        toggle.getStyleClass().add("disclosure-toggle");
        toggle.setMnemonicParsing(false);
        toggle.setOnAction(e -> setExpanded(!content.isVisible()));
        content.setVisible(false);
        content.setManaged(false);
        getChildren().addAll(toggle, content);
        setMinHeight(Region.USE_PREF_SIZE);
        getStyleClass().add("disclosure");
    }

    public boolean isExpanded() {
        return content.isVisible();
    }

    public void setExpanded(boolean expanded) {
        content.setVisible(expanded);
        content.setManaged(expanded);
        toggle.setGraphic(new FontIcon(expanded ? Feather.CHEVRON_DOWN : Feather.CHEVRON_RIGHT));
        toggle.setVisited(false);
    }

    public Hyperlink toggle() {
        return toggle;
    }
}
