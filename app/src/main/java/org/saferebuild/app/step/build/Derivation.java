package org.saferebuild.app.step.build;

import java.util.List;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import org.saferebuild.protocol.NixEvent;

/**
 * One derivation (or download) of the build tree and where it stands, as the engine's
 * {@code build.derivations} events say. Changed on the UI thread only, by {@link BuildViewModel}.
 */
public final class Derivation {
    private final String path;
    private final String name;
    private final List<String> inputs;
    private final boolean download;
    private final ReadOnlyObjectWrapper<NixEvent.DerivationState> state;

    Derivation(String path, String name, List<String> inputs, boolean download) {
        this.path = path;
        this.name = name;
        this.inputs = List.copyOf(inputs);
        this.download = download;
        this.state = new ReadOnlyObjectWrapper<>(new NixEvent.DerivationState(path, name, NixEvent.State.WAITING,
                null, null, null, null, List.of()));
    }

    public String path() {
        return path;
    }

    public String name() {
        return name;
    }

    /** The planned derivations this one needs (the tree's edges). */
    public List<String> inputs() {
        return inputs;
    }

    public boolean download() {
        return download;
    }

    public ReadOnlyObjectProperty<NixEvent.DerivationState> stateProperty() {
        return state.getReadOnlyProperty();
    }

    public NixEvent.State state() {
        return state.get().state();
    }

    /** "3.4 s" when it ended, the time so far while it runs, "" while it waits. */
    public String time(long nowMillis) {
        NixEvent.DerivationState s = state.get();
        if (s.millis() != null) {
            return seconds(s.millis());
        }
        if (s.startedAt() != null && (s.state() == NixEvent.State.BUILDING || s.state() == NixEvent.State.DOWNLOADING)) {
            return seconds(Math.max(0, nowMillis - s.startedAt()));
        }
        return "";
    }

    static String seconds(long millis) {
        if (millis < 60_000) {
            return String.format("%.1f s", millis / 1000.0);
        }
        long s = millis / 1000;
        return s / 60 + " min " + s % 60 + " s";
    }

    // Commands

    void update(NixEvent.DerivationState s) {
        state.set(s);
    }
}
