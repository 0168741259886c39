package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The system links: where the running system ({@code /run/current-system}) and the booted one point. */
final class SystemLinks {
    private SystemLinks() {
    }

    /** Where a link points, made absolute (the demo's links may be relative); null if it is not a link. */
    static String readLink(String link) {
        try {
            Path l = Path.of(link);
            Path target = Files.readSymbolicLink(l);
            return (target.isAbsolute() ? target : l.resolveSibling(target)).normalize().toString();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }
}
