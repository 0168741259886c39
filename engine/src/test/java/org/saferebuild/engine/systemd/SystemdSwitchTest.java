package org.saferebuild.engine.systemd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.SystemdMachine;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemResult;
import org.saferebuild.protocol.SystemResult.CheckStatus;

/**
 * The runbook's apply, verify, revert and rollback on a real systemd (docs/apply.md, "Tested on
 * systemd"): the systemd test machine with the demo system installed so that its systemd runs the
 * units, and the engine inside started through its installed wrapper as root. What a test asserts
 * is what systemd and journald say inside the machine.
 */
@Tag("root")
@Tag("nix")
@Tag("systemd")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SystemdSwitchTest extends MachineDemo.Test {
    static final String DEMO = SystemdMachine.DEMO;
    private static String update;
    private static String serviceCrash;
    private static String activationFail;

    @BeforeAll
    static void buildTheVariants() throws Exception {
        update = MachineDemo.build(engine, "update");
        serviceCrash = MachineDemo.build(engine, "service-crash");
        activationFail = MachineDemo.build(engine, "activation-fail");
    }

    /** The command line systemd starts a service with (its ExecStart's argv). */
    static String argv(String unit) throws Exception {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("argv\\[\\]=(.*?) ;")
                .matcher(show(unit, "ExecStart"));
        return m.find() ? m.group(1) : "";
    }

    /** The lines of one stream of log events an engine sent. */
    static List<String> lines(EngineHarness e, String stream) {
        return e.events().stream().filter(ev -> ev instanceof Event.Log l && l.stream().equals(stream))
                .flatMap(ev -> ((Event.Log) ev).lines().stream()).toList();
    }

    static Map<String, CheckStatus> statuses(SystemResult.VerifyReport r) {
        return r.checks().stream().collect(Collectors.toMap(SystemResult.Check::name, SystemResult.Check::status));
    }

    static SystemResult.Check check(SystemResult.VerifyReport r, String name) {
        return r.checks().stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    @Order(1)
    void generationOnesUnitsRunUnderSystemdAndLogToTheJournalAndTheWatchedLogs() throws Exception {
        for (String unit : List.of("muladhara-chakra.service", "field-translator.service", "field-beacon.service",
                "sshd.service", "NetworkManager.service", "display-manager.service")) {
            assertThat(show(unit, "ActiveState")).as(unit).isEqualTo("active");
            // started by systemd from the built system's etc/systemd/system
            assertThat(Path.of(machine.sh("readlink -f " + show(unit, "FragmentPath")).strip()))
                    .as(unit).isEqualTo(Path.of(machine.sh("readlink -f " + gen1 + "/etc/systemd/system/" + unit)
                            .strip()));
        }
        assertThat(show("field-chakra-audit.timer", "ActiveState")).isEqualTo("active");
        assertThat(show("svadhisthana-chakra.service", "ActiveState")).isEqualTo("inactive");
        assertThat(machine.sh("systemctl list-units --state=failed --plain --no-legend")).isBlank();
        assertThat(machine.sh("journalctl -b -u muladhara-chakra.service -o cat"))
                .contains("FIELD Chakra Ecosystem: muladhara-chakra.service active (chakra-daemon 0.9.1");
        assertThat(Files.readString(machine.inside("/var/log/iNixos-Hive/translator.log")))
                .matches("(?s)\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ BearsiMac FIELD Chakra Ecosystem:"
                        + " field-translator.service listening on \\[::1\\]:7700 \\(mode direct.*");
    }

    @Test
    @Order(2)
    void aSwitchStopsReloadsRestartsAndStartsRealUnitsAndVerifyPassesOnWhatSystemdSays() throws Exception {
        String translatorPid = show("field-translator.service", "MainPID");
        String muladharaPid = show("muladhara-chakra.service", "MainPID");
        SystemResult.Baseline b = engine.call(id -> new SystemRequest.Baseline(id, null), SystemResult.Baseline.class);
        assertThat(b.notObserved()).isEmpty();
        assertThat(b.failedUnits()).isEmpty();
        assertThat(b.journalCursor()).isNotBlank();
        assertThat(b.services()).extracting(SystemResult.ServiceState::unit)
                .containsExactlyInAnyOrder("muladhara-chakra.service", "field-translator.service");

        SystemResult.Applied a = engine.call(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 600),
                SystemResult.Applied.class);
        assertThat(a.awaitingConfirm()).isTrue();
        assertThat(a.generationAfter()).isEqualTo(2);
        assertThat(running()).isEqualTo(update);
        // The activation ran in nixos-rebuild's transient unit, its output streamed to the engine.
        assertThat(machine.sh("journalctl -b -o cat -u safe-rebuild-switch-to-configuration.service"))
                .contains("Started safe-rebuild-switch-to-configuration.service");
        assertThat(lines(engine, "activation"))
                .contains("stopping the following units: field-beacon.service",
                        "reloading the following units: dbus.service",
                        "restarting the following units: field-translator.service",
                        "starting the following units: svadhisthana-chakra.service");

        assertThat(show("field-beacon.service", "ActiveState")).isEqualTo("inactive");
        assertThat(show("field-beacon.service", "LoadState")).isEqualTo("not-found");
        assertThat(show("svadhisthana-chakra.service", "ActiveState")).isEqualTo("active");
        assertThat(show("field-translator.service", "MainPID")).isNotEqualTo(translatorPid);
        assertThat(argv("field-translator.service")).contains("--mode bridge");
        assertThat(show("muladhara-chakra.service", "MainPID")).as("unchanged, left alone").isEqualTo(muladharaPid);
        assertThat(machine.sh("journalctl -b -o cat -u dbus.service")).contains("Reloaded dbus.service");

        SystemResult.VerifyReport v = engine.call(id -> new SystemRequest.Verify(id), SystemResult.VerifyReport.class);
        assertThat(statuses(v)).containsEntry("running system", CheckStatus.PASS)
                .containsEntry("watched services", CheckStatus.PASS).containsEntry("failed units", CheckStatus.PASS)
                .containsEntry("journal", CheckStatus.PASS).containsEntry("activation in logs", CheckStatus.PASS)
                .doesNotContainValue(CheckStatus.NOT_RUN);
        assertThat(v.verdict()).isEqualTo(SystemResult.Verdict.PASS);
        assertThat(v.services()).extracting(SystemResult.ServiceState::unit).containsExactlyInAnyOrder(
                "muladhara-chakra.service", "svadhisthana-chakra.service", "field-translator.service");
        assertThat(v.journalMatches())
                .anyMatch(l -> l.contains("FIELD Chakra Ecosystem: svadhisthana-chakra.service active"))
                .anyMatch(l -> l.contains("field-translator.service listening on [::1]:7700 (mode bridge"))
                .noneMatch(l -> l.contains("(mode direct")); // written before the baseline
        assertThat(v.logs()).anySatisfy(t -> {
            assertThat(t.file()).isEqualTo("/var/log/iNixos-Hive/chakra-svadhisthana.log");
            assertThat(t.newLines()).singleElement().asString().contains("svadhisthana-chakra.service active");
        });

        engine.call(id -> new SystemRequest.Confirm(id), SystemResult.Confirmed.class);
    }

    @Test
    @Order(3)
    void aWatchedServiceThatFailsAfterTheSwitchFailsVerifyAndTheOperatorsRevertBringsItBack() throws Exception {
        engine.call(id -> new SystemRequest.Baseline(id, null), SystemResult.Baseline.class);
        SystemResult.Applied a = engine.call(id -> new SystemRequest.Apply(id, serviceCrash, null, Mode.SWITCH, 600),
                SystemResult.Applied.class);
        assertThat(a.awaitingConfirm()).as("the switch saw the translator start").isTrue();
        assertThat(a.generationAfter()).isEqualTo(3);
        SystemdMachine.await("systemd restarted the translator after it failed", Duration.ofSeconds(60),
                () -> Integer.parseInt(show("field-translator.service", "NRestarts")) > 0);

        SystemResult.VerifyReport v = engine.call(id -> new SystemRequest.Verify(id), SystemResult.VerifyReport.class);
        assertThat(v.verdict()).isEqualTo(SystemResult.Verdict.FAIL);
        assertThat(check(v, "watched services").status()).isEqualTo(CheckStatus.FAIL);
        assertThat(check(v, "watched services").detail()).contains("field-translator.service");
        assertThat(v.summary()).startsWith("Verification FAILED: watched services").doesNotContain("Could not run");
        assertThat(v.journalMatches()).anyMatch(l -> l.contains("field-translator.service listening"));
        assertThat(machine.sh("journalctl -b -o cat -u field-translator.service"))
                .contains("error: cannot connect to the hive at /run/iNixos-Hive/hive.sock: No such file or directory");

        SystemResult.Reverted r = engine.call(id -> new SystemRequest.Revert(id), SystemResult.Reverted.class);
        assertThat(r.generation()).isEqualTo(2);
        assertThat(running()).isEqualTo(update);
        assertThat(argv("field-translator.service")).doesNotContain("--hive");
        assertThat(show("field-translator.service", "ActiveState")).isEqualTo("active");
        assertThat(show("field-translator.service", "NRestarts")).isEqualTo("0");
        SystemResult.VerifyReport after = engine.call(id -> new SystemRequest.Verify(id),
                SystemResult.VerifyReport.class);
        assertThat(after.verdict()).as(after.summary()).isEqualTo(SystemResult.Verdict.PASS);
    }

    @Test
    @Order(4)
    void aUnitThatFailsToStartFailsTheSwitchAndTheEnginePutsThePreviousSystemAndItsServiceBack() throws Exception {
        String before = argv("field-translator.service");
        engine.call(id -> new SystemRequest.Baseline(id, null), SystemResult.Baseline.class);
        Event.Failure f = engine.fail(id -> new SystemRequest.Apply(id, activationFail, null, Mode.SWITCH, 600));
        assertThat(f.code()).isEqualTo(ProblemCode.ACTIVATION_FAILED);
        assertThat(f.message()).contains("exit code 4").contains("The system profile is back at generation 2")
                .contains("The running system is " + update + ", as before the change.");
        assertThat(lines(engine, "activation")).contains(
                "warning: the following units failed: field-translator.service",
                "warning: error(s) occurred while switching to the new configuration");
        assertThat(machine.sh("journalctl -b -o cat -u field-translator.service"))
                .contains("error: invalid listen address \"[::1]:70000\": port 70000 is out of range (1-65535)");
        assertThat(running()).isEqualTo(update);
        assertThat(argv("field-translator.service")).isEqualTo(before).contains("--listen [::1]:7700");
        SystemdMachine.await("the translator runs again", Duration.ofSeconds(30),
                () -> show("field-translator.service", "ActiveState").equals("active"));
        assertThat(show("field-translator.service", "NRestarts")).isEqualTo("0");
    }

    @Test
    @Order(5)
    void rollbackToAChosenGenerationLeavesThatGenerationsServicesRunning() throws Exception {
        SystemResult.RolledBack r = engine.call(id -> new SystemRequest.Rollback(id, 1,
                SystemRequest.RollbackMode.SWITCH), SystemResult.RolledBack.class);
        assertThat(r.generationAfter()).isEqualTo(1);
        assertThat(running()).isEqualTo(gen1);
        assertThat(show("field-beacon.service", "ActiveState")).isEqualTo("active");
        assertThat(show("svadhisthana-chakra.service", "ActiveState")).isEqualTo("inactive");
        assertThat(argv("field-translator.service")).contains("--mode direct");
        assertThat(show("field-translator.service", "ActiveState")).isEqualTo("active");
        SystemResult.VerifyReport v = engine.call(id -> new SystemRequest.Verify(id), SystemResult.VerifyReport.class);
        assertThat(statuses(v)).containsEntry("watched services", CheckStatus.PASS)
                .containsEntry("running system", CheckStatus.PASS).doesNotContainValue(CheckStatus.NOT_RUN);
        assertThat(v.services()).extracting(SystemResult.ServiceState::unit)
                .containsExactlyInAnyOrder("muladhara-chakra.service", "field-translator.service");
    }

    @Test
    @Order(6)
    void theActivationRunsInATransientUnitThatFinishesWhenEveryEngineIsKilled() throws Exception {
        int earlier = lines(engine, "activation").size();
        engine.send(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 600));
        SystemdMachine.await("the activation has begun", Duration.ofSeconds(60), () -> lines(engine, "activation")
                .stream()
                .skip(earlier).anyMatch(l -> l.startsWith("stopping the following units")));
        List<Long> killed = machine.killEngines();
        assertThat(killed).hasSize(1);
        // The switch goes on in its unit: the new system runs with its units.
        SystemdMachine.await("the transient unit has finished", Duration.ofSeconds(60), () -> machine.exec(
                "systemctl", "is-active",
                "safe-rebuild-switch-to-configuration.service").stdout().strip().equals("inactive"));
        assertThat(machine.sh("journalctl -b -o cat -u safe-rebuild-switch-to-configuration.service"))
                .contains("safe-rebuild-switch-to-configuration.service: Deactivated successfully.");
        assertThat(machine.sh("tail -n 1 " + DEMO + "/demo-state/activations.jsonl")).contains("\"switch\"")
                .contains(update);
        assertThat(show("svadhisthana-chakra.service", "ActiveState")).isEqualTo("active");

        // Nobody could confirm: the next engine puts generation 1 back and records it.
        engine = demo.startEngine();
        SystemdMachine.await("generation 1 runs again", Duration.ofSeconds(60), () -> running().equals(gen1)
                && show("field-beacon.service", "ActiveState").equals("active"));
        assertThat(show("svadhisthana-chakra.service", "ActiveState")).isEqualTo("inactive");
        SystemdMachine.await("the revert is in the audit trail", Duration.ofSeconds(30), () -> machine.sh(
                "tail -n 1 " + DEMO + "/log/safe-rebuild/audit.jsonl").contains("\"what\":\"revert\""));
        assertThat(machine.sh("tail -n 1 " + DEMO + "/log/safe-rebuild/audit.jsonl"))
                .contains("stopped during the activation");
    }

    @Test
    @Order(7)
    void withoutTheTestMachinesMarkerTheDemoNeitherInstallsNorSwitchesUnits() throws Exception {
        machine.sh("mv /etc/safe-rebuild-test-machine /etc/safe-rebuild-test-machine.aside");
        try {
            SystemdMachine.Result install = machine.installDemo("/var/lib/another-demo");
            assertThat(install.exitCode()).isEqualTo(1);
            assertThat(install.stderr()).contains("only on Safe Rebuild's systemd test machine")
                    .contains("without --systemd");
            assertThat(machine.exec("test", "-e", "/var/lib/another-demo").exitCode()).isNotZero();
            SystemdMachine.Result stc = machine.exec(gen1 + "/bin/switch-to-configuration", "dry-activate");
            assertThat(stc.exitCode()).isEqualTo(1);
            assertThat(stc.stderr()).contains("runs only on Safe Rebuild's systemd test machine");
        } finally {
            machine.sh("mv /etc/safe-rebuild-test-machine.aside /etc/safe-rebuild-test-machine");
        }
    }
}
