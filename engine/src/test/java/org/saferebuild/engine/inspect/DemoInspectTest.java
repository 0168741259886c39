package org.saferebuild.engine.inspect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.demo.DemoSystem.Variant;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.build.BuiltSystems;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.InspectRequest;
import org.saferebuild.protocol.NixRequest;
import org.saferebuild.protocol.NixResult;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.InspectResult.Action;
import org.saferebuild.protocol.InspectResult.Change;
import org.saferebuild.protocol.InspectResult.Comparison;
import org.saferebuild.protocol.InspectResult.Inspection;
import org.saferebuild.protocol.InspectResult.Source;
import org.saferebuild.protocol.InspectResult.UnitAction;
import org.saferebuild.protocol.SystemRef;

/**
 * The acceptance for inspect and compare, on the demo system (docs/demo.md lists what
 * each variant changes): the real engine process, real nix, the demo's own profile and links.
 */
@Tag("root")
@Tag("nix")
class DemoInspectTest {
    private static DemoSystem demo;
    private static String update;
    private static String kernel;

    @BeforeAll
    static void install() throws Exception {
        demo = DemoSystem.install(EngineHarness.privateBase().resolve("demo"));
        update = built(Variant.UPDATE);
        kernel = built(Variant.KERNEL);
    }

    /** Builds a variant and roots it where the engine's build step roots what it built. */
    private static String built(Variant v) throws Exception {
        String path = demo.buildOnHost(v);
        // rooted where and how the engine's build step roots what it built (BuiltSystems)
        Path root = demo.buildRoots().resolve(Path.of(path).getFileName());
        ShapedSystems.run(List.of("nix-store", "--realise", "--add-root", root.toString(), path));
        return path;
    }

    private static EngineHarness engine() throws Exception {
        EngineHarness.Builder b = EngineHarness.builder();
        demo.settings().forEach(b::set);
        EngineHarness e = b.start();
        e.handshake();
        return e;
    }

    @Test
    void inspectFindsTheChakraServicesAndTheConfigurationWithFileAndLine() throws Exception {
        try (EngineHarness engine = engine()) {
            Inspection r = engine.call(id -> new InspectRequest.Inspect(id, SystemRef.current()), Inspection.class);
            assertThat(r.system().path()).isEqualTo(demo.generation1());
            assertThat(r.system().label()).isEqualTo("running system (generation 1)");
            assertThat(r.system().nixosVersion()).isEqualTo("23.11.20240115.b8dd8be");

            Map<String, InspectResult.Unit> units = r.units().stream()
                    .collect(Collectors.toMap(InspectResult.Unit::name, u -> u));
            assertThat(units.get("muladhara-chakra.service").wantedBy()).containsExactly("multi-user.target");
            assertThat(units.get("muladhara-chakra.service").execStart()).singleElement().asString()
                    .contains("-chakra-tools-0.9.1/bin/chakra-daemon --chakra muladhara");
            assertThat(units.get("field-translator.service").execStart()).singleElement().asString()
                    .contains("-field-translator-1.4.2/bin/field-translator --listen [::1]:7700 --mode direct");
            assertThat(units.get("field-chakra-audit.timer").wantedBy()).containsExactly("timers.target");
            assertThat(units.get("field-chakra-audit.service").wantedBy()).isEmpty();
            assertThat(units.get("display-manager.service").sessionCritical()).contains("closes every open window");
            assertThat(units.get("polkit.service").sessionCritical()).contains("password prompts");
            assertThat(units.get("muladhara-chakra.service").sessionCritical()).isNull();

            assertThat(r.watched()).extracting(InspectResult.WatchedService::glob, InspectResult.WatchedService::present,
                    InspectResult.WatchedService::units).containsExactly(
                    tuple("*-chakra.service", true, List.of("muladhara-chakra.service")),
                    tuple("field-translator.service", true, List.of("field-translator.service")));

            assertThat(r.configSearch().hits()).extracting(InspectResult.ConfigHit::file, InspectResult.ConfigHit::line)
                    .containsExactly(
                            tuple("etc/field/chakra.toml", 1),
                            tuple("etc/field/chakra.toml", 2),
                            tuple("etc/field/chakra.toml", 6),
                            tuple("etc/iNixos-Hive/translator.conf", 1),
                            tuple("etc/iNixos-Hive/translator.conf", 2),
                            tuple("etc/systemd/system/muladhara-chakra.service", 7));
            assertThat(r.configSearch().hits().get(1).text()).isEqualTo("[field.chakra]");
            assertThat(r.configSearch().hits().get(4).text()).isEqualTo("source = \"field.chakra\"");

            long paths = ShapedSystems.run(List.of("nix-store", "-qR", demo.generation1())).lines().count();
            assertThat(r.closure().paths()).isEqualTo(paths);
        }
    }

    @Test
    void comparingTheRunningSystemWithUpdateGivesExactlyTheExpectedChanges() throws Exception {
        try (EngineHarness engine = engine()) {
            Comparison c = engine.call(id -> new InspectRequest.Compare(id, SystemRef.current(),
                    SystemRef.path(update)), Comparison.class);
            assertThat(c.from().path()).isEqualTo(demo.generation1());
            assertThat(c.to().path()).isEqualTo(update);

            assertThat(c.packages().added()).extracting(InspectResult.Package::name, InspectResult.Package::after)
                    .containsExactly(tuple("ripgrep", List.of("14.0.3")),
                            tuple("unit-svadhisthana-chakra.service", List.of("")));
            assertThat(c.packages().removed()).extracting(InspectResult.Package::name, InspectResult.Package::before)
                    .containsExactly(tuple("field-beacon", List.of("0.3.0")), tuple("nano", List.of("7.2")),
                            tuple("unit-field-beacon.service", List.of("")));
            assertThat(c.packages().changed()).extracting(InspectResult.Package::name, InspectResult.Package::change,
                    InspectResult.Package::before, InspectResult.Package::after)
                    .containsExactly(tuple("firefox", Change.UPGRADED, List.of("120.0.1"), List.of("121.0")));
            assertThat(c.bytesDelta()).isNegative().isEqualTo(c.closureTo().bytes() - c.closureFrom().bytes());

            // from the update system's own dry-activate (it recorded the call)
            assertThat(c.unitSource()).isEqualTo(Source.DRY_ACTIVATE);
            assertThat(Files.readString(demo.activationsLog()))
                    .contains("{\"action\":\"dry-activate\",\"system\":\"" + update + "\"");
            assertThat(c.units()).extracting(UnitAction::action, UnitAction::unit).containsExactly(
                    tuple(Action.STOP, "field-beacon.service"),
                    tuple(Action.RESTART, "field-translator.service"),
                    tuple(Action.RELOAD, "dbus.service"),
                    tuple(Action.START, "svadhisthana-chakra.service"));
            assertThat(c.units()).allSatisfy(u -> assertThat(u.source()).isEqualTo(Source.DRY_ACTIVATE));
            Map<String, UnitAction> by = c.units().stream().collect(Collectors.toMap(UnitAction::unit, u -> u));
            assertThat(by.get("field-translator.service").reason()).contains("X-StopIfChanged=false");
            assertThat(by.get("field-translator.service").diff())
                    .contains("--- " + demo.generation1() + "/etc/systemd/system/field-translator.service")
                    .contains("+++ " + update + "/etc/systemd/system/field-translator.service")
                    .containsPattern("\n-ExecStart=\\S+/bin/field-translator --listen \\[::1\\]:7700 --mode direct\n")
                    .containsPattern("\n\\+ExecStart=\\S+/bin/field-translator --listen \\[::1\\]:7700 --mode bridge\n");
            assertThat(by.get("dbus.service").diff()).containsPattern("\n-X-Reload-Triggers=\\S+-dbus-system.conf\n")
                    .containsPattern("\n\\+X-Reload-Triggers=\\S+-dbus-system.conf\n");
            assertThat(by.get("field-beacon.service").diff()).contains("+++ /dev/null").contains("-ExecStart=");
            assertThat(by.get("svadhisthana-chakra.service").diff()).contains("--- /dev/null")
                    .contains("+ExecStart=").contains("--chakra svadhisthana");
            assertThat(by.get("svadhisthana-chakra.service").reason()).contains("new; wanted by multi-user.target");
            // the message bus is what the desktop session talks through
            assertThat(by.get("dbus.service").sessionCritical()).contains("message bus");
            assertThat(by.get("field-translator.service").sessionCritical()).isNull();

            assertThat(c.reboot().advised()).isFalse();
            assertThat(c.reboot().comparedWith()).isEqualTo("the running system (generation 1)");
        }
    }

    @Test
    void withoutTheRunningSystemTheSameActionsAreComputedFromTheUnitFiles() throws Exception {
        int calls = Files.readAllLines(demo.activationsLog()).size();
        try (EngineHarness engine = engine()) {
            // the kernel variant has generation 1's units; it is not running, so no dry-activate
            Comparison c = engine.call(id -> new InspectRequest.Compare(id, SystemRef.path(kernel),
                    SystemRef.path(update)), Comparison.class);
            assertThat(c.unitSource()).isEqualTo(Source.UNIT_FILES);
            assertThat(c.unitMethod()).contains("the built system is not");
            assertThat(c.units()).extracting(UnitAction::action, UnitAction::unit, UnitAction::source).containsExactly(
                    tuple(Action.STOP, "field-beacon.service", Source.UNIT_FILES),
                    tuple(Action.RESTART, "field-translator.service", Source.UNIT_FILES),
                    tuple(Action.RELOAD, "dbus.service", Source.UNIT_FILES),
                    tuple(Action.START, "svadhisthana-chakra.service", Source.UNIT_FILES));
            // and going back from the kernel variant to the running kernel needs a reboot too
            assertThat(c.reboot().advised()).isTrue();
        }
        assertThat(Files.readAllLines(demo.activationsLog())).hasSize(calls);
    }

    @Test
    void theKernelVariantGetsTheRebootAdvice() throws Exception {
        try (EngineHarness engine = engine()) {
            Comparison c = engine.call(id -> new InspectRequest.Compare(id, SystemRef.current(),
                    SystemRef.path(kernel)), Comparison.class);
            assertThat(c.reboot().advised()).isTrue();
            assertThat(c.reboot().items()).extracting(InspectResult.RebootItem::item, InspectResult.RebootItem::before,
                    InspectResult.RebootItem::after).satisfiesExactly(
                    k -> assertThat(k.toList()).satisfiesExactly(i -> assertThat(i).isEqualTo("kernel"),
                            b -> assertThat((String) b).endsWith("-linux-6.1.69/bzImage"),
                            a -> assertThat((String) a).endsWith("-linux-6.6.8/bzImage")),
                    i -> assertThat(i.toList().get(0)).isEqualTo("initrd"),
                    m -> assertThat(m.toList().get(0)).isEqualTo("kernel-modules"));
            assertThat(c.reboot().advice()).startsWith("Reboot after switching: the kernel, initrd, kernel-modules differ");
            assertThat(c.units()).isEmpty();
            assertThat(c.packages().added()).isEmpty();
            assertThat(c.packages().removed()).isEmpty();
            assertThat(c.packages().changed()).extracting(InspectResult.Package::name, InspectResult.Package::before,
                    InspectResult.Package::after).containsExactly(
                    tuple("initrd-linux", List.of("6.1.69"), List.of("6.6.8")),
                    tuple("linux", List.of("6.1.69", "6.1.69-modules"), List.of("6.6.8", "6.6.8-modules")));
        }
    }

    @Test
    void whatTheBuildStepBuiltInItsSandboxIsInspectedAndCompared() throws Exception {
        try (EngineHarness engine = engine()) {
            SandboxResult.Opened s = engine.call(id -> new SandboxRequest.Open(id,
                    demo.configDir(Variant.UPDATE).toString(), "debian-test", SandboxRequest.Network.ISOLATED),
                    SandboxResult.Opened.class);
            NixResult.Built built = engine.call(id -> new NixRequest.Build(id, s.sandbox(), "BearsiMac"),
                    NixResult.Built.class, Duration.ofMinutes(5));
            engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), false), SandboxResult.Closed.class);
            assertThat(built.storePath()).isEqualTo(update);

            Inspection i = engine.call(id -> new InspectRequest.Inspect(id, SystemRef.path(built.storePath())),
                    Inspection.class);
            assertThat(i.system().label()).isEqualTo("built system");
            assertThat(i.watched()).extracting(InspectResult.WatchedService::units).containsExactly(
                    List.of("muladhara-chakra.service", "svadhisthana-chakra.service"),
                    List.of("field-translator.service"));
            Comparison c = engine.call(id -> new InspectRequest.Compare(id, SystemRef.current(),
                    SystemRef.path(built.storePath())), Comparison.class);
            assertThat(c.units()).extracting(UnitAction::unit).containsExactly("field-beacon.service",
                    "field-translator.service", "dbus.service", "svadhisthana-chakra.service");
        }
    }

    @Test
    void otherEngineCodeComparesThroughTheJavaApi() throws Exception {
        EngineConfig config = EngineConfig.load(demo.settingsFile());
        Tools tools = new Tools(config.toolDirs());
        NixEnv nixEnv = new NixEnv(config);
        InspectService inspect = new InspectService(config, tools, nixEnv, new BuiltSystems(config, tools, nixEnv));
        // a rollback preview: from the running system to a generation (here: itself, so nothing changes)
        Comparison same = inspect.compare(SystemRef.current(), SystemRef.generation(1), OpContext.detached());
        assertThat(same.units()).isEmpty();
        assertThat(same.packages().changed()).isEmpty();
        assertThat(same.bytesDelta()).isZero();
        assertThat(same.reboot().advised()).isFalse();
        Comparison c = inspect.compare(SystemRef.current(), SystemRef.path(update), null);
        assertThat(c.unitsWith(Action.RESTART)).extracting(UnitAction::unit).containsExactly("field-translator.service");
    }
}
