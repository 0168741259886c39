package org.saferebuild.engine.inspect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.InspectRequest;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.InspectResult.Action;
import org.saferebuild.protocol.InspectResult.Change;
import org.saferebuild.protocol.InspectResult.Comparison;
import org.saferebuild.protocol.InspectResult.Inspection;
import org.saferebuild.protocol.InspectResult.Source;
import org.saferebuild.protocol.InspectResult.UnitAction;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRef;

/**
 * Inspect and compare through the real engine process, on systems built with real nix that have
 * the link structure of a real NixOS toplevel (etc, the unit directory and every unit are links
 * into other store paths).
 */
@Tag("root")
@Tag("nix")
class InspectEngineTest {
    private static ShapedSystems systems;
    private static String base;
    private static String update;
    private static String kernel;

    @BeforeAll
    static void build() throws Exception {
        systems = new ShapedSystems(EngineHarness.privateBase());
        base = systems.build("base");
        update = systems.build("update");
        kernel = systems.build("kernel");
        systems.addGeneration(base);
        systems.markBuilt(update);
        systems.markBuilt(kernel);
    }

    private static EngineHarness engine() throws Exception {
        EngineHarness e = EngineHarness.builder().base(systems.base)
                .set("systemProfile", systems.profile.toString())
                .set("currentSystem", systems.currentLink.toString())
                .set("bootedSystem", systems.bootedLink.toString())
                .set("watchedServices", List.of("*-chakra.service", "field-translator.service", "anahata-*.service"))
                .start();
        e.handshake();
        return e;
    }

    @Test
    void inspectFollowsTheLinksOfARealNixosSystem() throws Exception {
        try (EngineHarness engine = engine()) {
            Inspection r = engine.call(id -> new InspectRequest.Inspect(id, SystemRef.generation(1)), Inspection.class);
            assertThat(r.system().path()).isEqualTo(base);
            assertThat(r.system().generation()).isEqualTo(1);
            assertThat(r.system().label()).isEqualTo("generation 1");
            assertThat(r.system().nixosVersion()).isEqualTo("24.05.base");

            Map<String, InspectResult.Unit> units = r.units().stream()
                    .collect(Collectors.toMap(InspectResult.Unit::name, u -> u));
            InspectResult.Unit chakra = units.get("muladhara-chakra.service");
            assertThat(chakra.type()).isEqualTo("service");
            assertThat(chakra.wantedBy()).containsExactly("multi-user.target");
            assertThat(chakra.execStart()).singleElement().asString()
                    .endsWith("-hello-2.12/bin/muladhara --field.chakra=root");
            assertThat(chakra.file()).startsWith("/nix/store/").endsWith("-unit-muladhara-chakra.service/muladhara-chakra.service");
            // the drop-in's empty ExecStart= clears the unit's own line, as systemd does
            assertThat(units.get("field-translator.service").execStart()).singleElement().asString()
                    .endsWith("bin/field-translator --mode safe");
            assertThat(units.get("display-manager.service").wantedBy()).containsExactly("graphical.target");
            assertThat(units.get("display-manager.service").sessionCritical()).contains("desktop session");
            assertThat(units.get("dbus-org.freedesktop.login1.service").aliasOf()).isEqualTo("systemd-logind.service");
            assertThat(units.get("systemd-journald-audit.socket").masked()).isTrue();
            assertThat(units.get("getty@tty1.service").wantedBy()).containsExactly("getty.target");
            assertThat(units.get("multi-user.target").type()).isEqualTo("target");
            assertThat(units.get("multi-user.target").execStart()).isEmpty();

            assertThat(r.watched()).extracting(InspectResult.WatchedService::glob, InspectResult.WatchedService::present,
                    InspectResult.WatchedService::units).containsExactly(
                    tuple("*-chakra.service", true, List.of("muladhara-chakra.service")),
                    tuple("field-translator.service", true, List.of("field-translator.service")),
                    tuple("anahata-*.service", false, List.of()));

            assertThat(r.configSearch().patterns()).containsExactly("field.chakra");
            assertThat(r.configSearch().hits()).extracting(InspectResult.ConfigHit::file, InspectResult.ConfigHit::line,
                    InspectResult.ConfigHit::text).containsExactly(
                    tuple("etc/field/chakra.conf", 2, "services.field.chakra.enable = true"),
                    tuple("etc/field/chakra.conf", 3, "services.field.chakra.level = 1"),
                    tuple("etc/field/notes.txt", 1, "mentions field-chakra with a dash"),
                    tuple("etc/systemd/system/muladhara-chakra.service", 5,
                            "ExecStart=" + chakra.execStart().get(0)));
            // chakra.db holds "field.chakra" next to a NUL byte: binary, skipped like grep does;
            // etc/escape links to /etc/shadow, outside the store: never read.
            assertThat(r.configSearch().binarySkipped()).isEqualTo(1);
            assertThat(r.configSearch().truncated()).isFalse();

            assertThat(r.closure().paths()).isEqualTo(closurePaths(base));
            assertThat(r.closure().bytes()).isEqualTo(closureSize(base));
        }
    }

    @Test
    void comparingTwoGenerationsComputesUnitActionsFromTheUnitFiles() throws Exception {
        systems.setRunning(kernel); // neither side is running: dry-activate would describe the wrong switch
        try (EngineHarness engine = engine()) {
            int before = systems.activations().size();
            Comparison c = engine.call(id -> new InspectRequest.Compare(id, SystemRef.generation(1),
                    SystemRef.path(update)), Comparison.class);
            assertThat(systems.activations()).hasSize(before);
            assertThat(c.from().path()).isEqualTo(base);
            assertThat(c.to().path()).isEqualTo(update);
            assertThat(c.to().label()).isEqualTo("built system");
            assertThat(c.unitSource()).isEqualTo(Source.UNIT_FILES);
            assertThat(c.unitMethod()).contains("not");
            assertExpectedUnitActions(c, Source.UNIT_FILES, Source.UNIT_FILES);
            assertExpectedPackages(c);
            assertThat(c.reboot().advised()).isFalse();
            assertThat(c.reboot().advice()).startsWith("No reboot needed");
        } finally {
            java.nio.file.Files.deleteIfExists(systems.currentLink);
        }
    }

    @Test
    void comparingWithTheRunningSystemAsksTheNewSystemsDryActivate() throws Exception {
        systems.setRunning(base);
        systems.setBooted(base);
        try (EngineHarness engine = engine()) {
            Comparison c = engine.call(id -> new InspectRequest.Compare(id, SystemRef.current(),
                    SystemRef.path(update)), Comparison.class);
            assertThat(c.from().running()).isTrue();
            assertThat(c.from().label()).isEqualTo("running system (generation 1)");
            assertThat(c.unitSource()).isEqualTo(Source.DRY_ACTIVATE);
            assertThat(systems.activations()).contains("dry-activate " + update + "/bin/switch-to-configuration");
            // the same actions as computed from the files, but read from dry-activate; the new unit
            // comes from the files because dry-activate does not list new units
            assertExpectedUnitActions(c, Source.DRY_ACTIVATE, Source.UNIT_FILES);
            assertExpectedPackages(c);
            assertThat(engine.events()).anySatisfy(e -> assertThat(e).isInstanceOfSatisfying(Event.Log.class,
                    l -> assertThat(l.stream()).isEqualTo("dry-activate")));
            // It ran the new system's code as root: the audit trail says so.
            List<String> audit = java.nio.file.Files.readAllLines(systems.base.resolve("audit/audit.jsonl"));
            org.saferebuild.protocol.AuditRecord last = org.saferebuild.protocol.Json.decode(audit.get(audit.size() - 1),
                    org.saferebuild.protocol.AuditRecord.class);
            assertThat(last.what()).isEqualTo("compare");
            assertThat(last.outcome()).isEqualTo("ok");
            assertThat(last.args().toString()).contains(update);
        } finally {
            java.nio.file.Files.deleteIfExists(systems.currentLink);
            java.nio.file.Files.deleteIfExists(systems.bootedLink);
        }
    }

    @Test
    void aDifferentKernelGivesTheRebootAdviceNamingWhatDiffers() throws Exception {
        try (EngineHarness engine = engine()) {
            Comparison c = engine.call(id -> new InspectRequest.Compare(id, SystemRef.generation(1),
                    SystemRef.path(kernel)), Comparison.class);
            assertThat(c.reboot().advised()).isTrue();
            assertThat(c.reboot().items()).extracting(InspectResult.RebootItem::item)
                    .containsExactly("kernel", "initrd", "kernel-modules");
            assertThat(c.reboot().items().get(0).before()).contains("linux-6.1.69");
            assertThat(c.reboot().items().get(0).after()).contains("linux-6.6.8");
            assertThat(c.reboot().advice()).contains("Reboot after switching").contains("kernel, initrd, kernel-modules");
            assertThat(c.units()).isEmpty();
            assertThat(c.packages().changed()).extracting(InspectResult.Package::name).contains("linux");
        }
    }

    @Test
    void onlyBuiltSystemsAndGenerationsAreAccepted() throws Exception {
        String notASystem = ShapedSystems.run(List.of("nix-store", "-qR", base)).lines()
                .filter(p -> p.endsWith("-libchakra-1.4.0")).findFirst().orElseThrow();
        try (EngineHarness engine = engine()) {
            Event.Failure f = engine.fail(id -> new InspectRequest.Inspect(id, SystemRef.path(notASystem)));
            assertThat(f.code()).isEqualTo(ProblemCode.INVALID_ARGUMENT);
            assertThat(f.message()).contains("is not a system this engine built, nor a generation of "
                    + systems.profile);
            assertThat(f.fix()).contains("Build step");

            Event.Failure gen = engine.fail(id -> new InspectRequest.Inspect(id, SystemRef.generation(99)));
            assertThat(gen.code()).isEqualTo(ProblemCode.NOT_FOUND);
            assertThat(gen.message()).contains("has no generation 99").contains("It has: 1.");

            Event.Failure running = engine.fail(id -> new InspectRequest.Compare(id, SystemRef.current(),
                    SystemRef.generation(1)));
            assertThat(running.code()).isEqualTo(ProblemCode.NOT_FOUND);
            assertThat(running.message()).contains("no running NixOS system at " + systems.currentLink);
            assertThat(running.fix()).contains("To fix this");
        }
    }

    private static void assertExpectedUnitActions(Comparison c, Source fromLists, Source newUnits) {
        assertThat(c.units()).extracting(UnitAction::action, UnitAction::unit, UnitAction::source).containsExactly(
                tuple(Action.STOP, "old-daemon.service", fromLists),
                tuple(Action.RESTART, "field-translator.service", fromLists),
                tuple(Action.RESTART, "muladhara-chakra.service", fromLists),
                tuple(Action.RESTART, "systemd-logind.service", fromLists),
                tuple(Action.RELOAD, "nginx.service", fromLists),
                tuple(Action.START, "svadhisthana-chakra.service", newUnits),
                tuple(Action.SKIP, "sshd.service", fromLists));
        Map<String, UnitAction> by = c.units().stream().collect(Collectors.toMap(UnitAction::unit, u -> u));
        assertThat(by.get("field-translator.service").diff())
                .contains("--- " + base + "/etc/systemd/system/field-translator.service")
                .contains("+++ " + update + "/etc/systemd/system/field-translator.service")
                .contains("### drop-in field-translator.service.d/overrides.conf")
                .containsPattern("\n-ExecStart=/nix/store/[a-z0-9]{32}-hello-2.12/bin/field-translator --mode safe\n")
                .containsPattern("\n\\+ExecStart=/nix/store/[a-z0-9]{32}-hello-2.13/bin/field-translator --mode fast\n");
        assertThat(by.get("old-daemon.service").diff()).contains("+++ /dev/null").contains("-ExecStart=");
        assertThat(by.get("svadhisthana-chakra.service").diff()).contains("--- /dev/null")
                .contains("+ExecStart=").contains("@@ -0,0 +1,");
        assertThat(by.get("svadhisthana-chakra.service").reason()).contains("wanted by multi-user.target");
        assertThat(by.get("nginx.service").diff()).contains("+ExecStart=/run/current-system/sw/bin/nginx -c");
        // display-manager.service changed only its Description: nothing to do at run time
        assertThat(by).doesNotContainKey("display-manager.service");
        assertThat(by.get("sshd.service").sessionCritical()).contains("SSH");
        // restarting logind can end the graphical session; its alias is not a second unit to restart
        assertThat(by.get("systemd-logind.service").sessionCritical()).contains("graphical session");
        assertThat(by).doesNotContainKey("dbus-org.freedesktop.login1.service");
        assertThat(by.get("muladhara-chakra.service").sessionCritical()).isNull();
    }

    private static void assertExpectedPackages(Comparison c) throws Exception {
        assertThat(c.packages().added()).extracting(InspectResult.Package::name, InspectResult.Package::after)
                .containsExactly(tuple("newtool", List.of("0.5")),
                        tuple("unit-svadhisthana-chakra.service", List.of("")));
        assertThat(c.packages().removed()).extracting(InspectResult.Package::name, InspectResult.Package::before)
                .containsExactly(tuple("oldtool", List.of("1.0")), tuple("unit-old-daemon.service", List.of("")));
        assertThat(c.packages().changed()).extracting(InspectResult.Package::name, InspectResult.Package::change,
                InspectResult.Package::before, InspectResult.Package::after).containsExactly(
                tuple("hello", Change.UPGRADED, List.of("2.12"), List.of("2.13")),
                tuple("nixos-system-shaped", Change.UPGRADED, List.of("24.05.base"), List.of("24.05.update")),
                tuple("python3", Change.CHANGED, List.of("3.10.13", "3.11.6"), List.of("3.11.6", "3.12.1")));
        assertThat(c.closureFrom().paths()).isEqualTo(closurePaths(base));
        assertThat(c.closureTo().paths()).isEqualTo(closurePaths(update));
        assertThat(c.closureFrom().bytes()).isEqualTo(closureSize(base));
        assertThat(c.closureTo().bytes()).isEqualTo(closureSize(update));
        assertThat(c.bytesDelta()).isEqualTo(closureSize(update) - closureSize(base));
    }

    private static int closurePaths(String path) throws Exception {
        return (int) ShapedSystems.run(List.of("nix-store", "--query", "--requisites", path)).lines().count();
    }

    /** closureSize as nix itself computes it (-S), in either JSON layout (Nix 2.8 array, 2.19+ object). */
    private static long closureSize(String path) throws Exception {
        JsonNode n = Json.mapper().readTree(ShapedSystems.run(List.of("nix", "--extra-experimental-features",
                "nix-command", "path-info", "--json", "-S", path)));
        JsonNode info = n.isArray() ? n.get(0) : n.get(path);
        return info.get("closureSize").asLong();
    }

}
