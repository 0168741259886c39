package org.saferebuild.app;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Executor;
import org.saferebuild.app.checklist.ChecklistModel;
import org.saferebuild.app.client.EngineClient;
import org.saferebuild.app.client.UiBatcher;
import org.saferebuild.app.open.FileOpener;
import org.saferebuild.app.session.RunSession;

/**
 * What every view model gets: the engine client, the executors (background work and the UI
 * thread; tests pass same-thread ones), the batcher for events, and the shared run state.
 *
 * @param configDirs the configuration directories to offer (the engine decides which it accepts)
 * @param plan       the bind plan for this machine ("nixos", or "debian-test" for the demo)
 * @param logDir     where the app keeps full copies of operation logs, readable by the operator
 * @param opener     opens a file for the operator (the desktop's viewer, else the app's own)
 * @param prefs      what the app remembers between runs (last configuration, window size)
 */
public record AppContext(EngineClient client, Executor background, Executor ui, UiBatcher batcher,
                         RunSession session, ChecklistModel checklist, List<String> configDirs, String plan,
                         Path logDir, FileOpener opener, AppPrefs prefs) {
    public AppContext {
        configDirs = List.copyOf(configDirs);
    }
}
