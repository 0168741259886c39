package org.saferebuild.engine.systemd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.SystemdMachine;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemResult;

/**
 * The confirm-or-revert deadline held by a transient systemd timer (docs/apply.md, "The deadline
 * without an engine"), on the systemd test machine: it reverts on time with every engine killed,
 * the next engine reports and records it; with an engine alive the engine records what systemd
 * did; a confirm or the operator's revert disarms it, so it never fires afterwards.
 */
@Tag("root")
@Tag("nix")
@Tag("systemd")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SystemdTimerTest extends MachineDemo.Test {
    static final String DEMO = SystemdMachine.DEMO;
    static final String TIMER = "safe-rebuild-revert.timer";
    static final String SERVICE = "safe-rebuild-revert.service";
    private static String update;

    @BeforeAll
    static void buildTheVariants() throws Exception {
        update = MachineDemo.build(engine, "update");
    }

    static List<AuditRecord> audit() throws Exception {
        List<AuditRecord> out = new java.util.ArrayList<>();
        for (String l : Files.readAllLines(machine.inside(DEMO + "/log/safe-rebuild/audit.jsonl"))) {
            out.add(Json.decode(l, AuditRecord.class));
        }
        return out;
    }

    static AuditRecord last(List<AuditRecord> lines) {
        return lines.get(lines.size() - 1);
    }

    /** switch-to-configuration calls of the demo, as "action system". */
    static List<String> activations() throws Exception {
        return Files.readAllLines(machine.inside(DEMO + "/demo-state/activations.jsonl")).stream()
                .map(l -> l.replaceAll(".*\"action\":\"([^\"]*)\",\"system\":\"([^\"]*)\".*", "$1 $2")).toList();
    }

    @Test
    @Order(1)
    void withEveryEngineKilledTheTimerRevertsOnTimeAndTheNextEngineReportsAndRecordsIt() throws Exception {
        SystemResult.Applied a = engine.call(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 8),
                SystemResult.Applied.class);
        assertThat(a.generationAfter()).isEqualTo(2);
        assertThat(a.message()).contains("otherwise systemd (safe-rebuild-revert.timer, even if no engine runs then)"
                + " goes back to generation 1 at " + a.confirmDeadline());
        assertThat(show(TIMER, "ActiveState")).isEqualTo("active");
        assertThat(show("svadhisthana-chakra.service", "ActiveState")).isEqualTo("active");

        List<Long> killed = machine.killEngines();
        assertThat(killed).hasSize(1);
        assertThat(show(SERVICE, "InactiveExitTimestamp")).as("not started before the engines died").isEmpty();
        assertThat(machine.enginePids()).isEmpty();

        SystemdMachine.await("systemd's timer put generation 1 back", Duration.ofSeconds(90),
                () -> show(SERVICE, "ActiveState").equals("active") || show(SERVICE, "ActiveState").equals("failed"));
        assertThat(machine.enginePids()).as("no engine ran meanwhile").isEmpty();
        assertThat(show(SERVICE, "Result")).isEqualTo("success");
        Instant started = java.time.ZonedDateTime.parse(machine.sh("systemctl show --timestamp=us+utc -P"
                + " InactiveExitTimestamp " + SERVICE).strip(), java.time.format.DateTimeFormatter.ofPattern(
                        "EEE yyyy-MM-dd HH:mm:ss.SSSSSS zzz", java.util.Locale.ROOT)).toInstant();
        Instant deadline = Instant.parse(a.confirmDeadline());
        assertThat(started).as("not before the deadline").isAfterOrEqualTo(deadline);
        System.err.println("systemd's revert started " + Duration.between(deadline, started).toMillis()
                + " ms after the deadline");
        assertThat(running()).isEqualTo(gen1);
        assertThat(machine.sh("readlink " + DEMO + "/profiles/system").strip()).isEqualTo("system-1-link");
        assertThat(Files.exists(machine.inside(DEMO + "/profiles/system-2-link"))).as("the unconfirmed generation")
                .isFalse();
        assertThat(show("svadhisthana-chakra.service", "ActiveState")).isEqualTo("inactive");
        assertThat(show("field-beacon.service", "ActiveState")).isEqualTo("active");
        assertThat(activations()).endsWith("switch " + update, "switch " + gen1);

        engine = demo.startEngine();
        // Its intent ("started") comes first, then the outcome: wait for the outcome.
        SystemdMachine.await("the next engine recorded the revert's outcome", Duration.ofSeconds(60),
                () -> last(audit()).what().equals("revert") && !last(audit()).outcome().equals("started"));
        AuditRecord rec = last(audit());
        assertThat(rec.outcome()).isEqualTo("ok");
        assertThat(rec.who().via()).isEqualTo("engine");
        assertThat(rec.generationBefore()).isEqualTo(2);
        assertThat(rec.generationAfter()).isEqualTo(1);
        assertThat(rec.message()).contains("systemd's safe-rebuild-revert.timer reverted it while no engine was running"
                + " (engine pid").contains("systemd's safe-rebuild-revert.service put the previous system back")
                .contains("The system profile is back at generation 1.")
                .contains("Generation 2, which the apply made, was removed.")
                .contains("The running system is " + gen1 + ", as before the change.");
        SystemdMachine.await("the engine has finished the revert", Duration.ofSeconds(30), () -> engine.call(
                id -> new SystemRequest.ApplyStatus(id), SystemResult.ApplyState.class).message()
                .startsWith("Nothing is waiting"));
        SystemResult.ApplyState st = engine.call(id -> new SystemRequest.ApplyStatus(id),
                SystemResult.ApplyState.class);
        assertThat(st.awaitingConfirm()).isFalse();
        assertThat(st.message()).startsWith("Nothing is waiting for confirmation. The apply of generation 2 (")
                .contains("was reverted because no confirmation came by " + a.confirmDeadline());
        SystemdMachine.await("the units are cleared", Duration.ofSeconds(30),
                () -> show(SERVICE, "LoadState").equals("not-found"));
        assertThat(show(TIMER, "LoadState")).isEqualTo("not-found");
        assertThat(Files.exists(machine.inside(DEMO + "/state/apply/pending.json"))).isFalse();
    }

    @Test
    @Order(2)
    void withTheEngineAliveSystemdRevertsAtTheDeadlineAndTheEngineTellsTheAppAndRecordsIt() throws Exception {
        int before = activations().size();
        int earlier = engine.events().size();
        SystemResult.Applied a = engine.call(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 6),
                SystemResult.Applied.class);
        Event.Notice reverted = awaitNotice(earlier, e -> e.topic() == Event.Notice.Topic.REVERTED,
                Duration.ofSeconds(90));
        assertThat(reverted.message()).contains("systemd's safe-rebuild-revert.timer put it back at the deadline")
                .contains("The running system is " + gen1 + ", as before the change.");
        assertThat(running()).isEqualTo(gen1);
        // systemd did it, the engine did not revert too: one activation of generation 1
        assertThat(activations().subList(before, activations().size()))
                .containsExactly("switch " + update, "switch " + gen1);
        AuditRecord rec = last(audit());
        assertThat(rec.what()).isEqualTo("revert");
        assertThat(rec.message()).contains("no confirmation within 6 s");
        assertThat(a.generationAfter()).isEqualTo(2);
    }

    @Test
    @Order(3)
    void theOperatorsRevertDisarmsTheTimer() throws Exception {
        int before = activations().size();
        engine.call(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 600), SystemResult.Applied.class);
        assertThat(show(TIMER, "ActiveState")).isEqualTo("active");
        engine.call(id -> new SystemRequest.Revert(id), SystemResult.Reverted.class);
        assertThat(show(TIMER, "LoadState")).isEqualTo("not-found");
        assertThat(show(SERVICE, "LoadState")).isEqualTo("not-found");
        assertThat(running()).isEqualTo(gen1);
        assertThat(activations().subList(before, activations().size()))
                .containsExactly("switch " + update, "switch " + gen1);
    }

    @Test
    @Order(4)
    void aConfirmDisarmsTheTimerAndTheAppliedGenerationStays() throws Exception {
        engine.call(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 600), SystemResult.Applied.class);
        assertThat(machine.sh("systemctl list-timers --all --no-legend --plain")).contains(TIMER);
        engine.call(id -> new SystemRequest.Confirm(id), SystemResult.Confirmed.class);
        assertThat(show(TIMER, "LoadState")).isEqualTo("not-found");
        assertThat(show(SERVICE, "LoadState")).isEqualTo("not-found");
        assertThat(running()).isEqualTo(update);
        assertThat(show("svadhisthana-chakra.service", "ActiveState")).isEqualTo("active");
    }

    /** A notice the engine sent after its first {@code skip} events. */
    static Event.Notice awaitNotice(int skip, java.util.function.Predicate<Event.Notice> which, Duration within)
            throws Exception {
        Event.Notice[] found = new Event.Notice[1];
        SystemdMachine.await("a notice", within, () -> {
            for (Event e : engine.events().subList(skip, engine.events().size())) {
                if (e instanceof Event.Notice n && which.test(n)) {
                    found[0] = n;
                    return true;
                }
            }
            return false;
        });
        return found[0];
    }
}
