package org.saferebuild.engine.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.testing.EngineHarness;

/**
 * The engine leaves the session of whoever started it (docs/apply.md, step 5): the operator's
 * terminal closing, or its Ctrl-C, reaches neither the engine nor an activation it runs, which
 * therefore needs no {@code setsid} process of its own.
 */
@Tag("root")
class TerminalSessionTest {
    @Test
    void theEngineLeadsASessionOfItsOwnWithNoControllingTerminal() throws Exception {
        try (EngineHarness engine = EngineHarness.builder().start()) {
            engine.handshake();
            long pid = engine.process().pid();
            long testSession = field(ProcessHandle.current().pid(), 3);
            // /proc/<pid>/stat after the command name: state ppid pgrp session tty_nr …
            assertThat(field(pid, 3)).as("the engine's session").isEqualTo(pid).isNotEqualTo(testSession);
            assertThat(field(pid, 2)).as("the engine's process group").isEqualTo(pid);
            assertThat(field(pid, 4)).as("the engine's controlling terminal (0: none)").isZero();
            assertThat(engine.log()).doesNotContain("keeps a controlling terminal");
        }
    }

    private static long field(long pid, int index) throws Exception {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[index]);
    }
}
