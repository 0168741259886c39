package org.saferebuild.engine.inspect;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The pure parts of inspect: name splitting, version order, diffs, dry-activate and nix output parsing. */
class InspectPartsTest {

    @Test
    void storeNamesSplitAtTheFirstDashNotFollowedByALetterLikeNix() {
        assertThat(StoreName.parse("firefox-121.0")).isEqualTo(new StoreName("firefox", "121.0"));
        assertThat(StoreName.parse("nixos-system-BearsiMac-23.11.20240115.b8dd8be"))
                .isEqualTo(new StoreName("nixos-system-BearsiMac", "23.11.20240115.b8dd8be"));
        assertThat(StoreName.parse("python3.11-requests-2.31.0"))
                .isEqualTo(new StoreName("python3.11-requests", "2.31.0"));
        assertThat(StoreName.parse("unit-field-translator.service"))
                .isEqualTo(new StoreName("unit-field-translator.service", ""));
        assertThat(StoreName.parse("etc")).isEqualTo(new StoreName("etc", ""));
        // DrvName: any non-letter after the dash starts the version, not only a digit
        assertThat(StoreName.parse("foo--bar-1.0")).isEqualTo(new StoreName("foo", "-bar-1.0"));
        assertThat(StoreName.parse("weird-+plus-1.0")).isEqualTo(new StoreName("weird", "+plus-1.0"));
        assertThat(StoreName.parse("dot-.hidden-1.0")).isEqualTo(new StoreName("dot", ".hidden-1.0"));
        assertThat(StoreName.parse("trailing-")).isEqualTo(new StoreName("trailing-", ""));
        assertThat(StoreName.nameOf("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-2.12"))
                .isEqualTo("hello-2.12");
    }

    @Test
    void outputNamesComeOffByTheDerivationThatMadeThePathElseAsDiffClosuresGuesses() {
        // unknown origin: diff-closures' guess, a trailing lowercase word (or lib32/lib64)
        assertThat(StoreName.parse("systemd-254.6-man")).isEqualTo(new StoreName("systemd", "254.6"));
        assertThat(StoreName.parse("glibc-2.38-27-getent")).isEqualTo(new StoreName("glibc", "2.38-27"));
        assertThat(StoreName.parse("python3.11-numpy-1.26.2-dist")).isEqualTo(new StoreName("python3.11-numpy",
                "1.26.2"));
        assertThat(StoreName.parse("mydocs-dev")).isEqualTo(new StoreName("mydocs", ""));
        assertThat(StoreName.parse("gcc-13.2.0-lib64")).isEqualTo(new StoreName("gcc", "13.2.0"));
        assertThat(StoreName.parse("X-Restart-Triggers-dbus")).isEqualTo(new StoreName("X-Restart-Triggers", ""));
        // known origin: exactly the derivation's name
        assertThat(StoreName.parse("util-linux-2.39.2-login", "util-linux-2.39.2"))
                .isEqualTo(new StoreName("util-linux", "2.39.2"));
        assertThat(StoreName.parse("mydocs-man", "mydocs")).isEqualTo(new StoreName("mydocs", ""));
        assertThat(StoreName.parse("X-Restart-Triggers-dbus", "X-Restart-Triggers-dbus"))
                .isEqualTo(new StoreName("X-Restart-Triggers-dbus", ""));
        assertThat(StoreName.parse("foo-1.0-pre", "foo-1.0-pre")).isEqualTo(new StoreName("foo", "1.0-pre"));
        assertThat(StoreName.parse("linux-6.1.69-modules", "linux-6.1.69-modules"))
                .isEqualTo(new StoreName("linux", "6.1.69-modules"));
        // added directly (builtins.toFile, nix-store --add): never an output
        assertThat(StoreName.parse("notes-1.0-pre", StoreName.ADDED_DIRECTLY)).isEqualTo(new StoreName("notes",
                "1.0-pre"));
    }

    @Test
    void versionsCompareInNixOrder() {
        assertThat(StoreName.compareVersions("2.13", "2.12")).isPositive();
        assertThat(StoreName.compareVersions("1.10", "1.9")).isPositive();
        assertThat(StoreName.compareVersions("1.0", "1.0")).isZero();
        assertThat(StoreName.compareVersions("1.0pre1", "1.0")).isNegative();
        assertThat(StoreName.compareVersions("2.3a", "2.3.1")).isNegative();
        assertThat(StoreName.compareVersions("2.3", "2.3.1")).isNegative();
        assertThat(StoreName.compareVersions("1.5.0-rc1", "1.5.0")).isPositive(); // as nix: "rc1" is a word after 0
        assertThat(StoreName.compareVersions("007", "7")).isZero();
        assertThat(StoreName.compareVersions("1.0-pre", "1.0")).isNegative();
        // a part that does not fit a C int is a word to Nix, and words are older than numbers
        assertThat(StoreName.compareVersions("2.0.3000000000", "2.0.4")).isNegative();
        assertThat(StoreName.compareVersions("2.0.2147483647", "2.0.4")).isPositive();
        assertThat(StoreName.compareVersions("2.0.2147483648", "2.0.2147483647")).isNegative();
    }

    @Test
    void unifiedDiffLooksLikeDiffU() {
        String a = "[Unit]\nDescription=x\n\n[Service]\nExecStart=/a\nRestart=always\nUser=x\nGroup=x\nNice=1\n";
        String b = "[Unit]\nDescription=x\n\n[Service]\nExecStart=/b\nRestart=always\nUser=x\nGroup=x\nNice=1\n";
        assertThat(UnifiedDiff.of("old/x.service", "new/x.service", a, b)).isEqualTo("""
                --- old/x.service
                +++ new/x.service
                @@ -2,7 +2,7 @@
                 Description=x
                \s
                 [Service]
                -ExecStart=/a
                +ExecStart=/b
                 Restart=always
                 User=x
                 Group=x
                """);
        assertThat(UnifiedDiff.of("o", "n", a, a)).isEmpty();
        assertThat(UnifiedDiff.of("o", "n", null, "one\ntwo\n")).isEqualTo("--- /dev/null\n+++ n\n@@ -0,0 +1,2 @@\n+one\n+two\n");
        assertThat(UnifiedDiff.of("o", "n", "one\n", null)).isEqualTo("--- o\n+++ /dev/null\n@@ -1 +0,0 @@\n-one\n");
    }

    @Test
    void dryActivateLinesAreReadIntoUnitLists() {
        Map<String, Set<String>> lists = ActivationPlan.parseDryActivate(List.of(
                "would stop the following units: field-beacon.service, sshd.service",
                "would NOT stop the following changed units: display-manager.service",
                "would activate the configuration...",
                "would restart systemd",
                "would reload the following units: dbus.service",
                "would restart the following units: field-translator.service",
                "would start the following units: svadhisthana-chakra.service"));
        assertThat(lists).containsOnlyKeys("stop", "NOT stop", "reload", "restart", "start");
        assertThat(lists.get("stop")).containsExactly("field-beacon.service", "sshd.service");
        assertThat(lists.get("NOT stop")).containsExactly("display-manager.service");
        assertThat(lists.get("start")).containsExactly("svadhisthana-chakra.service");
    }

    @Test
    void pathInfoOutputIsParsedIntoNamesAndSizes() throws Exception {
        ClosureQuery.Closure c = ClosureQuery.parse("/nix/store/x", """
                /nix/store/3ldy0z6gm2zvci78apy71viwfs3pbd84-benchlib0-2.0       \t        120
                /nix/store/i90f2nv94f1pybryavfgj6nzl4ndw6kl-hello-2.12\t176
                """);
        assertThat(c.names()).containsExactly("benchlib0-2.0", "hello-2.12");
        assertThat(c.origins()).containsExactly(null, null);
        assertThat(c.sizes()).containsExactly(120, 176);
        assertThat(c.totalBytes()).isEqualTo(296);
    }

    @Test
    void globsMatchUnitNamesLikeSystemctl() {
        assertThat(Globs.compile("*-chakra.service").matcher("muladhara-chakra.service").matches()).isTrue();
        assertThat(Globs.compile("*-chakra.service").matcher("chakra.service").matches()).isFalse();
        assertThat(Globs.compile("getty@tty[1-3].service").matcher("getty@tty2.service").matches()).isTrue();
        assertThat(Globs.compile("a.service").matcher("aXservice").matches()).isFalse();
        assertThat(SessionUnits.why("getty@tty1.service")).contains("console");
        assertThat(SessionUnits.why("muladhara-chakra.service")).isNull();
    }
}
