package org.saferebuild.app.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.saferebuild.demo.DemoSystem;

/**
 * What the wizard's end-to-end tests share: a demo system installed once per test class in a
 * private root-only directory, and afterwards nothing of it mounted.
 */
public abstract class DemoWizardTest {
    protected static Path base;
    protected static DemoSystem demo;

    @BeforeAll
    static void installDemo() throws Exception {
        base = WizardHarness.privateBase();
        demo = WizardHarness.installDemo(base);
    }

    @AfterAll
    static void noMountsLeft() throws Exception {
        assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(base.toString());
    }
}
