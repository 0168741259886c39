package org.saferebuild.engine.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.demo.DemoSystem.Variant;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemRequest.Mode;
import org.saferebuild.protocol.SystemResult;
import org.saferebuild.protocol.SystemResult.CheckStatus;

/**
 * The baseline before an apply and verification after it (runbook step 7), on the demo system.
 * This machine has no systemd: the checks that need it must say they did not run, and the
 * verdict must never be PASS.
 */
@Tag("root")
@Tag("nix")
class VerifyTest {
    private DemoFixture fx;
    private EngineHarness engine;

    @BeforeEach
    void install() throws Exception {
        fx = DemoFixture.install();
    }

    @AfterEach
    void stop() throws Exception {
        fx.close();
    }

    private static String sha256(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }

    private Map<String, CheckStatus> statuses(SystemResult.VerifyReport r) {
        return r.checks().stream().collect(Collectors.toMap(SystemResult.Check::name, SystemResult.Check::status));
    }

    @Test
    void theBaselineRecordsWhatItSawNamesWhatItCouldNotAndBacksUpTheConfiguration() throws Exception {
        engine = fx.start();
        SystemResult.Baseline b = engine.call(id -> new SystemRequest.Baseline(id, null), SystemResult.Baseline.class);
        assertThat(b.generation()).isEqualTo(1);
        assertThat(b.generationPath()).isEqualTo(fx.demo.generation1());
        assertThat(b.currentSystem()).isEqualTo(fx.demo.generation1());
        assertThat(b.bootedSystem()).isEqualTo(fx.demo.generation1());
        assertThat(b.failedUnits()).isNull();
        assertThat(b.services()).isNull();
        assertThat(b.journalCursor()).isNull();
        assertThat(b.notObserved()).anyMatch(s -> s.startsWith("failed units: systemd is not running here"))
                .anyMatch(s -> s.startsWith("watched services:")).anyMatch(s -> s.startsWith("journal cursor:"));
        assertThat(b.logSizes()).containsKey(fx.demo.watchedLogDir().resolve("translator.log").toString());

        Path config = fx.demo.configDir(Variant.BEARSIMAC);
        SystemResult.Backup backup = b.backup();
        assertThat(backup.configDir()).isEqualTo(config.toString());
        assertThat(backup.gitCommit()).isNull();
        JsonNode manifest = Json.mapper().readTree(Path.of(backup.manifest()).toFile());
        long regular = 0;
        for (JsonNode f : manifest.get("files")) {
            Path original = config.resolve(f.get("path").asText());
            if (f.hasNonNull("sha256")) {
                regular++;
                assertThat(f.get("sha256").asText()).as(f.get("path").asText()).isEqualTo(sha256(original));
                assertThat(Files.readAllBytes(Path.of(backup.dir(), f.get("path").asText())))
                        .isEqualTo(Files.readAllBytes(original));
            } else {
                assertThat(f.get("link").asText()).isEqualTo(Files.readSymbolicLink(original).toString());
            }
        }
        assertThat(regular).isEqualTo(backup.files() - manifest.get("files").findValues("link").size());
        assertThat(manifest.get("files").findValuesAsText("path")).contains("flake.nix", "configuration.nix",
                "mini-nixos/site.nix");
        assertThat(Path.of(backup.dir())).startsWith(fx.demo.stateDir());
        assertThat(fx.audit().get(0).what()).isEqualTo("baseline");
    }

    @Test
    void afterASwitchWhatCanBeSeenPassesAndTheRestIsSaidNotToHaveRun() throws Exception {
        String update = fx.built(Variant.UPDATE);
        engine = fx.start();
        engine.call(id -> new SystemRequest.Baseline(id, null), SystemResult.Baseline.class);
        engine.call(id -> new SystemRequest.Apply(id, update, null, Mode.SWITCH, 120), SystemResult.Applied.class);
        engine.call(id -> new SystemRequest.Confirm(id), SystemResult.Confirmed.class);

        SystemResult.VerifyReport r = engine.call(id -> new SystemRequest.Verify(id), SystemResult.VerifyReport.class);
        Map<String, CheckStatus> s = statuses(r);
        assertThat(s).containsEntry("running system", CheckStatus.PASS)
                .containsEntry("watched services", CheckStatus.NOT_RUN)
                .containsEntry("failed units", CheckStatus.NOT_RUN)
                .containsEntry("journal", CheckStatus.NOT_RUN)
                .containsEntry("watched logs", CheckStatus.INFO)
                .containsEntry("activation in logs", CheckStatus.PASS);
        assertThat(r.verdict()).isEqualTo(SystemResult.Verdict.INCOMPLETE);
        assertThat(r.summary()).contains("Could not run here: watched services, failed units, journal");
        assertThat(r.services()).isNull();
        assertThat(r.journalMatches()).isNull();
        SystemResult.LogTail chakra = r.logs().stream()
                .filter(l -> l.file().endsWith("chakra-svadhisthana.log")).findFirst().orElseThrow();
        assertThat(chakra.newLines()).anyMatch(l -> l.contains("FIELD Chakra Ecosystem: svadhisthana-chakra.service"
                + " active"));
        assertThat(r.checks().stream().filter(c -> c.status() == CheckStatus.NOT_RUN))
                .allSatisfy(c -> assertThat(c.detail()).contains("not running here"));
    }

    @Test
    void afterABootApplyTheOldSystemStillRunningIsSaidToWaitForTheReboot() throws Exception {
        String kernel = fx.built(Variant.KERNEL);
        engine = fx.start();
        engine.call(id -> new SystemRequest.Baseline(id, null), SystemResult.Baseline.class);
        // boot: the profile moves to generation 2, the running system stays generation 1.
        engine.call(id -> new SystemRequest.Apply(id, kernel, null, Mode.BOOT, null), SystemResult.Applied.class);
        SystemResult.VerifyReport r = engine.call(id -> new SystemRequest.Verify(id), SystemResult.VerifyReport.class);
        assertThat(r.verdict()).isEqualTo(SystemResult.Verdict.INCOMPLETE);
        SystemResult.Check running = r.checks().get(0);
        assertThat(running.status()).isEqualTo(CheckStatus.WARN);
        assertThat(running.detail()).contains("still the previous one (" + fx.demo.generation1() + ")")
                .contains("generation 2 becomes active at the next boot");
        assertThat(running.fix()).startsWith("Reboot, then verify again");
        assertThat(statuses(r)).containsEntry("activation in logs", CheckStatus.WARN);
        assertThat(fx.audit()).extracting(a -> a.what() + " " + a.outcome())
                .containsExactly("baseline ok", "apply ok", "verify ok");
    }

    @Test
    void aConfirmedTestKeepsPassingUntilTheProfileMoves() throws Exception {
        String update = fx.built(Variant.UPDATE);
        engine = fx.start();
        engine.call(id -> new SystemRequest.Baseline(id, null), SystemResult.Baseline.class);
        engine.call(id -> new SystemRequest.Apply(id, update, null, Mode.TEST, 120), SystemResult.Applied.class);
        engine.call(id -> new SystemRequest.Confirm(id), SystemResult.Confirmed.class);
        SystemResult.VerifyReport r = engine.call(id -> new SystemRequest.Verify(id), SystemResult.VerifyReport.class);
        SystemResult.Check running = r.checks().get(0);
        assertThat(running.status()).as(running.detail()).isEqualTo(CheckStatus.PASS);
        assertThat(running.detail()).contains("the tested system, kept until the next boot (" + update + ")")
                .contains("the profile still boots generation 1");
        assertThat(statuses(r)).containsEntry("activation in logs", CheckStatus.PASS);
    }

    @Test
    void aRunningSystemThatNothingAccountsForFailsVerification() throws Exception {
        String kernel = fx.built(Variant.KERNEL);
        engine = fx.start();
        // Someone activated a system by hand behind the engine's back.
        Path link = fx.demo.currentSystem();
        Files.delete(link);
        Files.createSymbolicLink(link, Path.of(kernel));
        SystemResult.VerifyReport r = engine.call(id -> new SystemRequest.Verify(id), SystemResult.VerifyReport.class);
        assertThat(r.verdict()).isEqualTo(SystemResult.Verdict.FAIL);
        SystemResult.Check running = r.checks().get(0);
        assertThat(running.status()).isEqualTo(CheckStatus.FAIL);
        assertThat(running.detail()).contains("The running system is " + kernel + ", not generation 1");
    }

    @Test
    void withoutABaselineNewLinesCannotBeToldFromOld() throws Exception {
        engine = fx.start();
        SystemResult.VerifyReport r = engine.call(id -> new SystemRequest.Verify(id), SystemResult.VerifyReport.class);
        assertThat(r.baselineId()).isNull();
        assertThat(statuses(r)).containsEntry("activation in logs", CheckStatus.NOT_RUN)
                .containsEntry("running system", CheckStatus.PASS);
        assertThat(r.verdict()).isEqualTo(SystemResult.Verdict.INCOMPLETE);
    }
}
