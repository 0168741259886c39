package org.saferebuild.app.changes;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.InspectResult.Change;

/** nvd's grouping of the engine's package diff: every package, the non-packages apart. */
class PackageChangesTest {
    private static InspectResult.Package p(String name, Change c, List<String> before, List<String> after, long b,
                                           long a) {
        return new InspectResult.Package(name, c, before, after, b, a);
    }

    @Test
    void everyPackageIsListedWithUnitFilesKeptApart() {
        List<InspectResult.Package> changed = new java.util.ArrayList<>();
        for (int i = 0; i < 12; i++) {
            changed.add(p("lib" + i, Change.UPGRADED, List.of("1." + i), List.of("2." + i), 1000, 1200));
        }
        InspectResult.Packages diff = new InspectResult.Packages(
                List.of(p("ripgrep", Change.ADDED, List.of(), List.of("14.0.3"), 0, 2_000_000),
                        p("unit-svadhisthana-chakra.service", Change.ADDED, List.of(), List.of(""), 0, 800)),
                List.of(p("nano", Change.REMOVED, List.of("7.2"), List.of(), 3_000_000, 0),
                        p("unit-field-beacon.service", Change.REMOVED, List.of(""), List.of(), 700, 0)),
                changed, List.of(p("glibc", Change.RESIZED, List.of("2.38-27"), List.of("2.38-27"), 30_000_000,
                        30_100_000)));
        PackageChanges c = PackageChanges.of(diff);
        assertThat(c.changed()).hasSize(12).as("not only the first eight");
        assertThat(c.added()).extracting(InspectResult.Package::name).containsExactly("ripgrep");
        assertThat(c.removed()).extracting(InspectResult.Package::name).containsExactly("nano");
        assertThat(c.other()).extracting(InspectResult.Package::name)
                .containsExactly("unit-field-beacon.service", "unit-svadhisthana-chakra.service");
        assertThat(c.resized()).extracting(InspectResult.Package::name).containsExactly("glibc");
        assertThat(c.summary()).isEqualTo("12 version changes, 1 added, 1 removed, 1 rebuilt; 2 other paths (units,"
                + " generated files)");
        assertThat(PackageChanges.size(c.changed().get(0))).isEqualTo("1000 B → 1.2 KiB (+200 B)");
        // A rebuild whose size moved by a few bytes: one size and the difference, not "514.2 KiB → 514.2 KiB".
        assertThat(PackageChanges.size(new InspectResult.Package("firefox", Change.UPGRADED, List.of("120.0.1"),
                List.of("121.0"), 526_540, 526_552))).isEqualTo("514.2 KiB (+12 B)");
        assertThat(PackageChanges.size(c.added().get(0))).isEqualTo("+1.9 MiB");
        assertThat(PackageChanges.versions(List.of())).isEqualTo("—");
        assertThat(c.groups()).extracting(PackageChanges.Group::title).containsExactly("Version changes (12)",
                "Added (1)", "Removed (1)", "Rebuilt, same version, other size (1)",
                "Units and generated files (2)");
    }
}
