package org.saferebuild.app.launch;

import java.util.List;

/** A started engine process: talk to it over its stdin/stdout with the protocol's EngineConnection. */
public record Launched(Process process, Mode mode, List<String> command) {
    public Launched {
        command = List.copyOf(command);
    }
}
