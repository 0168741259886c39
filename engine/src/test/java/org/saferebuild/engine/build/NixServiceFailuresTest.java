package org.saferebuild.engine.build;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.Problem;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.ProblemCode;

/** "No space left on device" says what is true: the space is short here, or it filled up elsewhere. */
class NixServiceFailuresTest {
    private static final List<String> LINES = List.of("writing objects", "head: error writing 'standard output':"
            + " No space left on device");
    private static final String LOG = "/var/lib/safe-rebuild/logs/build.log";

    @Test
    void withTheStoreShortOfSpaceItSaysHowMuchIsFreeAndWhatToFree() {
        Problem p = NixService.outOfSpace("firefox-121.0", LINES, LOG,
                new PreflightReport.Disk("Nix store", "/nix/store", 10L << 20, 100L << 30, 64L << 20),
                new PreflightReport.Disk("work directory", "/var/lib/safe-rebuild", 10L << 20, 100L << 30, 64L << 20));
        assertThat(p.code()).isEqualTo(ProblemCode.NO_SPACE);
        assertThat(p.getMessage()).startsWith("The build of firefox-121.0 ran out of disk space")
                .contains("Free now: 10.0 MiB on the Nix store (/nix/store)");
        assertThat(p.fix()).contains("nix-collect-garbage");
    }

    @Test
    void withSpaceOnBothDisksItDoesNotAskForAGarbageCollection() {
        Problem p = NixService.outOfSpace("firefox-121.0", LINES, LOG,
                new PreflightReport.Disk("Nix store", "/nix/store", 80L << 30, 100L << 30, 64L << 20),
                new PreflightReport.Disk("work directory", "/var/lib/safe-rebuild", 80L << 30, 100L << 30, 64L << 20));
        assertThat(p.code()).isEqualTo(ProblemCode.NO_SPACE);
        assertThat(p.getMessage()).contains("but 80.0 GiB are free on the Nix store (/nix/store)")
                .contains("No space left on device").doesNotContain("ran out of disk space");
        assertThat(p.fix()).contains("nothing needs to be freed in the Nix store").doesNotContain("garbage");
    }
}
