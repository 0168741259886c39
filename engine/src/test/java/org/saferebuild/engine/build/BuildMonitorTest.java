package org.saferebuild.engine.build;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.saferebuild.protocol.NixEvent;

/** Following nix's output, on what Nix 2.8 really printed for the demo's variants. */
class BuildMonitorTest {
    private static final String TRANSLATOR =
            "/nix/store/va1cm9799qzd9aky6f7v0vyrijp7w6g2-field-translator-1.5.0-rc1.drv";
    private static final String FIRMWARE =
            "/nix/store/i3gv42w1nw33ish5lwgx7zqxqa8jfhs7-field-firmware-2.0.1.tar.gz.drv";

    private final List<String> lines = new ArrayList<>();

    private BuildMonitor feed(String resource, int planned) throws IOException {
        BuildMonitor m = new BuildMonitor(planned, lines::add);
        try (InputStream in = getClass().getResourceAsStream(resource)) {
            new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().forEach(m::accept);
        }
        return m;
    }

    @Test
    void aFailedBuildInInternalJsonNamesTheDerivationAndKeepsItsLastLines() throws Exception {
        BuildMonitor m = feed("nix-2.8-build-fail.log", 4);
        assertThat(m.firstFailure()).hasValueSatisfying(f -> {
            assertThat(f.getKey()).isEqualTo(TRANSLATOR);
            assertThat(f.getValue()).isEqualTo(1);
        });
        assertThat(m.tail(TRANSLATOR)).endsWith("patching file src/translator.c", "Hunk #1 FAILED at 142.",
                "1 out of 1 hunk FAILED -- saving rejects to file src/translator.c.rej");
        assertThat(lines).contains("building '" + TRANSLATOR + "'...",
                "field-translator-1.5.0-rc1> Hunk #1 FAILED at 142.",
                "error: builder for '" + TRANSLATOR + "' failed with exit code 1")
                .noneMatch(l -> l.contains("\u001b[")) // colours stripped
                .noneMatch(l -> l.startsWith("@nix"));
        NixEvent.BuildProgress p = m.snapshot(7);
        assertThat(p.id()).isEqualTo(7);
        assertThat(p.failed()).isEqualTo(1);
        assertThat(p.running()).isZero();
        assertThat(p.active()).isEmpty();
        assertThat(p.planned()).isGreaterThanOrEqualTo(4);
        assertThat(m.built()).isZero();
    }

    @Test
    void aFailedDownloadIsSeenAsATransferAndAFailedFixedOutputDerivation() throws Exception {
        BuildMonitor m = feed("nix-2.8-download-fail.log", 4);
        assertThat(m.firstFailure()).hasValueSatisfying(f -> assertThat(f.getKey()).isEqualTo(FIRMWARE));
        assertThat(lines).contains("downloading 'https://releases.field-chakra.invalid/firmware/field-firmware-2.0.1"
                + ".tar.gz'...", "field-firmware-2.0.1.tar.gz> error: unable to download"
                + " 'https://releases.field-chakra.invalid/firmware/field-firmware-2.0.1.tar.gz': Couldn't resolve host"
                + " name (6)");
        assertThat(String.join("\n", m.errors())).contains("failed with exit code 1");
    }

    @Test
    void plainOutputStillGivesLinesBuildsAndTheFailure() throws Exception {
        BuildMonitor m = feed("nix-2.8-build-fail-plain.log", 4);
        assertThat(m.firstFailure()).hasValueSatisfying(f -> {
            assertThat(f.getKey()).isEqualTo(TRANSLATOR);
            assertThat(f.getValue()).isEqualTo(1);
        });
        assertThat(lines).contains("building '" + TRANSLATOR + "'...")
                .anyMatch(l -> l.strip().equals("> Hunk #1 FAILED at 142."));
        NixEvent.BuildProgress p = m.snapshot(1);
        assertThat(p.failed()).isEqualTo(1);
        assertThat(p.planned()).isEqualTo(4);
    }

    @Test
    void phasesProgressAndTheEndOfASuccessfulBuild() {
        BuildMonitor m = new BuildMonitor(2, lines::add);
        String drv = "/nix/store/vsrqnpgfa8rcxld6bba09prinzjlzwjy-firefox-121.0.drv";
        m.accept("@nix {\"action\":\"start\",\"id\":10,\"level\":0,\"text\":\"\",\"type\":104}");
        m.accept("@nix {\"action\":\"result\",\"fields\":[0,2,0,0],\"id\":10,\"type\":105}");
        m.accept("@nix {\"action\":\"start\",\"fields\":[\"" + drv + "\",\"\",1,1],\"id\":11,\"level\":3,"
                + "\"text\":\"building '" + drv + "'\",\"type\":105}");
        m.accept("@nix {\"action\":\"result\",\"fields\":[0,2,1,0],\"id\":10,\"type\":105}");
        m.accept("@nix {\"action\":\"result\",\"fields\":[\"buildPhase\"],\"id\":11,\"type\":104}");
        m.accept("@nix {\"action\":\"result\",\"fields\":[\"  CC       dom/base/nsFrame1.c\"],\"id\":11,\"type\":101}");
        NixEvent.BuildProgress during = m.changed(3);
        assertThat(during).isNotNull();
        assertThat(during.running()).isEqualTo(1);
        assertThat(during.active()).singleElement().satisfies(a -> {
            assertThat(a.name()).isEqualTo("firefox-121.0");
            assertThat(a.phase()).isEqualTo("buildPhase");
        });
        assertThat(m.changed(3)).as("nothing new").isNull();
        m.accept("@nix {\"action\":\"stop\",\"id\":11}");
        m.accept("@nix {\"action\":\"result\",\"fields\":[1,2,0,0],\"id\":10,\"type\":105}");
        m.accept("this line is not JSON: kept as it is");
        NixEvent.BuildProgress after = m.changed(3);
        assertThat(after.done()).isEqualTo(1);
        assertThat(after.active()).isEmpty();
        assertThat(lines).containsExactly("building '" + drv + "'...", "firefox-121.0>   CC       dom/base/nsFrame1.c",
                "this line is not JSON: kept as it is");
        assertThat(m.tail(drv)).containsExactly("  CC       dom/base/nsFrame1.c");
    }

    @Test
    void eachDerivationIsWaitingThenBuildingWithItsPhaseThenDoneWithItsTime() {
        long[] now = {1_000};
        BuildMonitor m = new BuildMonitor(2, lines::add, () -> now[0]);
        String firefox = "/nix/store/vsrqnpgfa8rcxld6bba09prinzjlzwjy-firefox-121.0.drv";
        String etc = "/nix/store/jskbaanqrjwfd1b2qlwcpd5sgz5hx7is-etc.drv";
        m.plan(List.of(firefox, etc), List.of());
        assertThat(m.changedDerivations(3)).as("planned ones come with the plan, not as changes").isNull();
        m.accept("@nix {\"action\":\"start\",\"fields\":[\"" + firefox + "\",\"\",1,1],\"id\":11,\"level\":3,"
                + "\"text\":\"building '" + firefox + "'\",\"type\":105}");
        m.accept("@nix {\"action\":\"result\",\"fields\":[\"buildPhase\"],\"id\":11,\"type\":104}");
        NixEvent.Derivations building = m.changedDerivations(3);
        assertThat(building.changed()).singleElement().satisfies(d -> {
            assertThat(d.path()).isEqualTo(firefox);
            assertThat(d.name()).isEqualTo("firefox-121.0");
            assertThat(d.state()).isEqualTo(NixEvent.State.BUILDING);
            assertThat(d.phase()).isEqualTo("buildPhase");
            assertThat(d.startedAt()).isEqualTo(1_000);
            assertThat(d.millis()).isNull();
        });
        now[0] = 4_500;
        m.accept("@nix {\"action\":\"stop\",\"id\":11}");
        assertThat(m.changedDerivations(3).changed()).singleElement().satisfies(d -> {
            assertThat(d.state()).isEqualTo(NixEvent.State.DONE);
            assertThat(d.millis()).isEqualTo(3_500);
        });
        m.succeeded();
        assertThat(m.changedDerivations(3).changed()).singleElement().satisfies(d -> {
            assertThat(d.path()).isEqualTo(etc);
            assertThat(d.state()).as("the rest of a successful build is done too").isEqualTo(NixEvent.State.DONE);
        });
    }

    @Test
    void aFailedDerivationComesWithItsExitCodeAndTheLastLinesOfItsLog() throws Exception {
        BuildMonitor m = new BuildMonitor(4, lines::add);
        m.plan(List.of(TRANSLATOR), List.of());
        try (InputStream in = getClass().getResourceAsStream("nix-2.8-build-fail.log")) {
            new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().forEach(m::accept);
        }
        assertThat(m.changedDerivations(1).changed()).filteredOn(d -> d.path().equals(TRANSLATOR)).singleElement()
                .satisfies(d -> {
                    assertThat(d.state()).isEqualTo(NixEvent.State.FAILED);
                    assertThat(d.exitCode()).isEqualTo(1);
                    assertThat(d.tail()).endsWith("Hunk #1 FAILED at 142.",
                            "1 out of 1 hunk FAILED -- saving rejects to file src/translator.c.rej");
                });
    }

    @Test
    void overlongLinesAreCutForTheEventsButMarked() {
        BuildMonitor m = new BuildMonitor(0, lines::add);
        m.accept("x".repeat(BuildMonitor.MAX_LINE + 100));
        assertThat(lines).singleElement().asString().hasSize(BuildMonitor.MAX_LINE + 4).endsWith(" […]");
    }
}
