package org.saferebuild.app.client;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.saferebuild.app.launch.LaunchException;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.ProblemCode;

/** Turns whatever went wrong into the engine's shape: a code, what happened, what to do. */
public final class Problems {
    private Problems() {
    }

    public static Event.Failure of(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof EngineConnection.EngineFailure f) {
            return f.failure();
        }
        if (c instanceof LaunchException l) {
            return new Event.Failure(1, ProblemCode.NOT_AUTHORIZED, l.getMessage(), l.fix());
        }
        return new Event.Failure(1, ProblemCode.INTERNAL, "The app failed: " + c,
                "Restart the app; if it happens again, report it with the app's output.");
    }
}
