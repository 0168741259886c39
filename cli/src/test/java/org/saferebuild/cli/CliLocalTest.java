package org.saferebuild.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.Json;

/**
 * safe-rebuild on this machine's demo system, driven as an operator and as a script would drive
 * it: the runbook's steps one by one with pipes and --json, the whole switch on a real terminal
 * with the checklist's questions answered by typing, the engine reverting when nobody answers,
 * and the errors and exit codes a script relies on (docs/cli.md).
 */
@Tag("root")
@Tag("nix")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CliLocalTest {
    private static Path base;
    private static DemoSystem demo;
    private static Path cache;

    @BeforeAll
    static void install() throws Exception {
        base = EngineHarness.privateBase();
        demo = DemoSystem.install(base.resolve("demo"));
        cache = Files.createDirectory(base.resolve("cache"));
    }

    @AfterAll
    static void nothingMounted() throws Exception {
        assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(base.toString());
    }

    private static String[] cmd(String command, String... more) {
        List<String> a = new ArrayList<>(List.of(command.split(" ")));
        a.addAll(List.of(more));
        a.addAll(List.of("--engine-config", demo.settingsFile().toString()));
        return a.toArray(String[]::new);
    }

    private static String config(DemoSystem.Variant v) {
        return demo.configDir(v).toString();
    }

    private static Map<String, String> paths() {
        return Map.of(base.toString(), "/var/tmp/demo-root");
    }

    private static CliProcess ran(String name, int expectedExit, String... args) throws Exception {
        CliProcess p = CliProcess.piped(cache, args);
        int exit = p.exit(Duration.ofMinutes(5));
        p.save(name, "safe-rebuild " + String.join(" ", args), paths());
        assertThat(exit).as("exit code of %s%n%s%n%s", String.join(" ", args), p.output(), p.errors())
                .isEqualTo(expectedExit);
        return p;
    }

    @Test
    @Order(1)
    void theRunbooksStepsOneByOneAsAScriptRunsThem() throws Exception {
        assertThat(ran("preflight", Cli.OK, cmd("preflight")).output())
                .contains("PASS namespaces:", "Ready: everything the runbook needs is in place.");

        String tree = ran("isolate", Cli.OK, cmd("isolate", "--config-dir", config(DemoSystem.Variant.UPDATE))).output();
        assertThat(tree).containsPattern("\\n  /nix +rw ").containsPattern("\\n  /etc/nixos +ro ")
                .contains("Closed: every mount gone and the work directory removed.");
        assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain("sandboxes/sb-");

        JsonNode built = Json.mapper().readTree(ran("build-json", Cli.OK, cmd("build", "--json", "--config-dir",
                config(DemoSystem.Variant.UPDATE))).output());
        String path = built.get("storePath").asText();
        assertThat(path).startsWith("/nix/store/").contains("nixos-system-BearsiMac");
        assertThat(built.get("gcRoot").asText()).startsWith(demo.stateDir().toString());

        assertThat(ran("diff", Cli.OK, cmd("diff", "--system", path)).output())
                .contains("What changes: running system (generation 1) → built system")
                .containsPattern("UPGRADED +firefox +120.0.1 → 121.0")
                .contains("START    svadhisthana-chakra.service", "Reboot: No reboot needed");
        JsonNode diff = Json.mapper().readTree(ran("diff-json", Cli.OK, cmd("diff", "--json", "--system", path))
                .output());
        assertThat(diff.at("/packages/changed/0/name").asText()).isEqualTo("firefox");
    }

    @Test
    @Order(2)
    void switchOnATerminalAsksForTheWindowAndTheNameAndKeepsIt() throws Exception {
        String[] args = cmd("switch", "--config-dir", config(DemoSystem.Variant.UPDATE), "--confirm-within", "120");
        try (CliProcess p = CliProcess.onTerminal(cache, args)) {
            p.await("is this a good time to change the system? [y/N] ", Duration.ofMinutes(5)).type("y");
            p.await("Sign the checklist as [root]: ", Duration.ofMinutes(1)).type("Bear Ops");
            p.await("Keep generation 2? Type keep", Duration.ofMinutes(2)).type("keep");
            p.await("stays.", Duration.ofMinutes(1));
            assertThat(p.exit(Duration.ofSeconds(30))).isEqualTo(Cli.OK);
            assertThat(p.output()).contains("[x] Off-hours or maintenance window if possible — Confirmed by the"
                    + " operator on the terminal.", "Signed off by Bear Ops (OS user root (uid 0, via direct))");
            p.save("switch-terminal", "safe-rebuild " + String.join(" ", args), paths());
        }
        assertThat(ran("generations", Cli.OK, cmd("generations")).output())
                .containsPattern("\\n +2 .*current running");
        assertThat(ran("audit-verify", Cli.OK, cmd("audit verify")).output()).contains(": intact, ");
        String trail = ran("audit-export", Cli.OK, cmd("audit export")).output();
        JsonNode signoff = trail.lines().map(l -> {
            try {
                return Json.mapper().readTree(l);
            } catch (Exception e) {
                throw new AssertionError(l, e);
            }
        }).filter(n -> n.get("what").asText().equals("signoff")).reduce((a, b) -> b).orElseThrow();
        assertThat(signoff.at("/args/operatorName").asText()).isEqualTo("Bear Ops");
        assertThat(signoff.at("/args/answers")).hasSize(8).allSatisfy(a -> assertThat(a.get("checked").asBoolean())
                .isTrue());
        assertThat(signoff.at("/args/answers/7/item").asText()).isEqualTo("Off-hours or maintenance window if possible");
    }

    @Test
    @Order(3)
    void nobodyAnswersOnTheTerminalAndTheEngineReverts() throws Exception {
        String running = DemoSystem.target(demo.currentSystem()).orElseThrow();
        String[] args = cmd("test", "--config-dir", config(DemoSystem.Variant.KERNEL), "--confirm-within", "8",
                "--maintenance-window", "--operator", "Bear Ops");
        try (CliProcess p = CliProcess.onTerminal(cache, args)) {
            p.await("Keep the system under test (until the next boot)?", Duration.ofMinutes(5));
            assertThat(DemoSystem.target(demo.currentSystem()).orElseThrow()).isNotEqualTo(running);
            p.await("Reverted", Duration.ofMinutes(2));
            assertThat(p.exit(Duration.ofSeconds(30))).isEqualTo(Cli.REVERTED);
            p.save("test-no-answer", "safe-rebuild " + String.join(" ", args), paths());
        }
        assertThat(DemoSystem.target(demo.currentSystem()).orElseThrow()).isEqualTo(running);
    }

    @Test
    @Order(4)
    void aScriptLeavesItPendingThenConfirmsFromAnotherRun() throws Exception {
        ran("switch-no-wait", Cli.OK, cmd("switch", "--config-dir", config(DemoSystem.Variant.KERNEL),
                "--confirm-within", "300", "--maintenance-window", "--operator", "deploy-bot", "--no-wait"));
        // The engine that applied it went away with that run; the countdown goes on in it.
        assertThat(ran("status", Cli.OK, cmd("status")).output()).contains("reverts to generation 2", "safe-rebuild"
                + " confirm");
        assertThat(ran("confirm", Cli.OK, cmd("confirm")).output()).contains("Confirmed: generation 3");
        assertThat(ran("status-after", Cli.OK, cmd("status")).output()).doesNotContain("reverts to generation");
    }

    @Test
    @Order(5)
    void errorsSayWhatToDoAndExitCodesTellScriptsWhatHappened() throws Exception {
        CliProcess unknown = ran("usage", Cli.USAGE, cmd("switch", "--frobnicate"));
        assertThat(unknown.errors()).contains("switch does not take --frobnicate (it takes: ", "--confirm-within");

        CliProcess noPerson = ran("no-person", Cli.USAGE, cmd("switch", "--config-dir",
                config(DemoSystem.Variant.UPDATE)));
        assertThat(noPerson.errors()).contains("needs a person", "--maintenance-window", "--operator NAME");
        assertThat(noPerson.output()).as("nothing started before the question").isEmpty();

        CliProcess eval = ran("eval-error", Cli.FAILED, cmd("build", "--config-dir",
                config(DemoSystem.Variant.EVAL_ERROR)));
        assertThat(eval.errors()).contains("error: ", "code: EVALUATION_FAILED", "what to do: ")
                .containsPattern("chakra-tuning\\.nix:13");

        JsonNode missing = Json.mapper().readTree(ran("rollback-missing-json", Cli.FAILED, cmd("rollback", "--to", "99",
                "--json")).output());
        assertThat(missing.at("/error/code").asText()).isEqualTo("NOT_FOUND");
        assertThat(missing.at("/error/fix").asText()).isNotBlank();
        assertThat(missing.get("exit").asInt()).isEqualTo(Cli.FAILED);

        assertThat(ran("rollback", Cli.OK, cmd("rollback", "--to", "1")).output()).contains("generation 1");
        assertThat(DemoSystem.target(demo.currentSystem()).orElseThrow()).isEqualTo(demo.generation1());
    }
}
