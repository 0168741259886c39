package org.saferebuild.app.launch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** How the app chooses to start the engine, and what it tells the operator when a start fails. */
class EngineLaunchersTest {
    private static final Path ENGINE = Path.of("/usr/libexec/safe-rebuild/safe-rebuild-engine");
    private static final Path PKEXEC = Path.of("/run/wrappers/bin/pkexec");
    private static final Path SUDO = Path.of("/run/wrappers/bin/sudo");
    private static final Path CONFIG = Path.of("/etc/safe-rebuild/engine.json");
    private static final List<String> DEV = List.of("/usr/bin/java", "-cp", "/x.jar", "org.saferebuild.engine.Main");

    private static EngineLaunchers.Choice choose(int euid, String pref, boolean installed, boolean pkexec, boolean sudo)
            throws LaunchException {
        return EngineLaunchers.choose(new EngineLaunchers.Facts(euid, pref, ENGINE, installed,
                pkexec ? Optional.of(PKEXEC) : Optional.empty(), sudo ? Optional.of(SUDO) : Optional.empty(), DEV),
                CONFIG, null);
    }

    @Test
    void rootStartsTheEngineDirectlyPreferringTheInstalledWrapper() throws Exception {
        EngineLaunchers.Choice installed = choose(0, "auto", true, true, true);
        assertThat(installed.mode()).isEqualTo(Mode.DIRECT);
        assertThat(((DirectLauncher) installed.launcher()).command())
                .containsExactly(ENGINE.toString(), "--config", CONFIG.toString());
        EngineLaunchers.Choice dev = choose(0, "auto", false, false, false);
        assertThat(((DirectLauncher) dev.launcher()).command()).startsWith("/usr/bin/java").endsWith("--config",
                CONFIG.toString());
        assertThat(dev.reason()).contains("runs as root");
    }

    @Test
    void anOperatorGetsPkexecWithTheFixedEnginePathAndNeverAnInternalAgent() throws Exception {
        EngineLaunchers.Choice c = choose(1000, "auto", true, true, true);
        assertThat(c.mode()).isEqualTo(Mode.PKEXEC);
        assertThat(((PkexecLauncher) c.launcher()).command()).containsExactly(PKEXEC.toString(),
                "--disable-internal-agent", ENGINE.toString(), "--config", CONFIG.toString());
    }

    @Test
    void sudoWhenAskedForOrWhenThereIsNoPkexec() throws Exception {
        EngineLaunchers.Choice asked = choose(1000, "sudo", true, true, true);
        assertThat(asked.mode()).isEqualTo(Mode.SUDO);
        assertThat(((SudoLauncher) asked.launcher()).command()).containsExactly(SUDO.toString(), "-n", "--",
                ENGINE.toString(), "--config", CONFIG.toString());
        assertThat(asked.reason()).contains("You asked for sudo");
        assertThat(choose(1000, "auto", true, false, true).reason()).contains("pkexec is not installed");
    }

    @Test
    void whatCannotWorkIsSaidBeforeAnythingStarts() {
        assertThatThrownBy(() -> choose(1000, "auto", false, true, true)).isInstanceOf(LaunchException.class)
                .hasMessageContaining("not installed at " + ENGINE)
                .satisfies(e -> assertThat(((LaunchException) e).fix()).contains("programs.safe-rebuild.enable"));
        assertThatThrownBy(() -> choose(1000, "auto", true, false, false))
                .hasMessageContaining("Neither pkexec nor sudo is installed");
        assertThatThrownBy(() -> choose(1000, "direct", true, true, true))
                .hasMessageContaining("needs the app to run as root");
        assertThatThrownBy(() -> choose(1000, "pkexec", true, false, true))
                .hasMessageContaining("pkexec is not installed");
        assertThatThrownBy(() -> choose(1000, "su", true, true, true)).hasMessageContaining("Unknown launch mode");
    }

    @Test
    void pkexecExitCodesAreExplainedExactly() {
        List<String> cmd = List.of(PKEXEC.toString(), "--disable-internal-agent", ENGINE.toString());
        LaunchException dismissed = ExitReasons.explain(Mode.PKEXEC, 126, output(""), cmd);
        assertThat(dismissed.getMessage()).contains("Authorization was dismissed").contains("pkexec exit 126")
                .contains("Nothing was changed");
        assertThat(dismissed.fix()).contains("enter an administrator's password");

        LaunchException wrong = ExitReasons.explain(Mode.PKEXEC, 127,
                output("Error executing command as another user: Not authorized\n\nThis incident has been reported.\n"),
                cmd);
        // pkexec's refusal is followed by "This incident has been reported.": the refusal is what is quoted.
        assertThat(wrong.getMessage()).contains("pkexec exit 127: not authorized, or pkexec failed")
                .contains("\"Error executing command as another user: Not authorized\"")
                .doesNotContain("This incident has been reported");
        assertThat(wrong.fix()).contains("group wheel").contains("org.saferebuild.engine");

        LaunchException missing = ExitReasons.explain(Mode.PKEXEC, 127,
                output("Cannot run program /usr/libexec/safe-rebuild/safe-rebuild-engine: No such file or directory\n"),
                cmd);
        assertThat(missing.fix()).contains("the engine at " + ENGINE).contains("programs.safe-rebuild");
    }

    @Test
    void theEnginesOwnRefusalsAreExplained() {
        List<String> cmd = List.of(ENGINE.toString());
        assertThat(ExitReasons.explain(Mode.DIRECT, 65, output("safe-rebuild-engine: refusing to run: its environment"
                + " contains LD_PRELOAD\n"), cmd).getMessage()).contains("unsafe").contains("LD_PRELOAD");
        assertThat(ExitReasons.explain(Mode.DIRECT, 78, output("x\n"), cmd).getMessage()).contains("settings");
        assertThat(ExitReasons.explain(Mode.DIRECT, 77, output("x\n"), cmd).getMessage()).contains("root rights");
        assertThat(ExitReasons.explain(Mode.DIRECT, 3, output(""), cmd).getMessage()).contains("exit code 3");
    }

    private static EngineOutput output(String text) {
        EngineOutput o = EngineOutput.pump(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), null);
        o.drain(2000);
        return o;
    }

}
