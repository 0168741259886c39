package org.saferebuild.engine.inspect;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.testing.DiffClosures;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Nix;
import org.saferebuild.protocol.InspectResult.Change;
import org.saferebuild.protocol.InspectResult.Package;
import org.saferebuild.protocol.InspectResult.Packages;

/**
 * The engine's package comparison against Nix itself, on two closures built with real nix from
 * {@code names.nix} (tricky names, multiple-output derivations, paths added directly, 34 version
 * forms): against {@code nix store diff-closures} on every package it reports, and against
 * {@code builtins.parseDrvName}, diff-closures' output-name pattern ({@code builtins.match}) and
 * {@code builtins.compareVersions} on every name and every pair of versions present. Nothing is
 * sampled: each check covers everything in the two closures.
 *
 * <p>Where diff-closures is known to be wrong (docs/inspect.md, "Where the engine differs from
 * diff-closures"), both answers are written out here, so the test also says when a Nix release
 * changes its own.
 */
@Tag("root")
@Tag("nix")
class NixNamesDifferentialTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path base;
    private static String a;
    private static String b;
    private static ClosureQuery query;
    private static NixEnv nixEnv;

    @BeforeAll
    static void build() throws Exception {
        base = EngineHarness.privateBase();
        Path nixFile = base.resolve("names.nix");
        try (InputStream in = NixNamesDifferentialTest.class.getResourceAsStream("names.nix")) {
            Files.write(nixFile, in.readAllBytes());
        }
        a = nixBuild(nixFile, "a");
        b = nixBuild(nixFile, "b");
        EngineConfig config = new EngineConfig(List.of(base.toString()), null, base.resolve("state").toString(),
                null, null, null, null, null, null, null, null, null, null, null, null, null);
        Files.createDirectories(config.state().resolve("home"));
        nixEnv = new NixEnv(config);
        query = new ClosureQuery(new Tools(config.toolDirs()), nixEnv, null,
                new StoreDb(StoreDb.DEFAULT, config.state().resolve("native")));
    }

    @AfterAll
    static void cleanUp() throws Exception {
        if (base != null) {
            EngineHarness.removeTree(base);
        }
    }

    @Test
    void theStoreDatabaseNixJsonAndNixTextListTheSameClosures() throws Exception {
        Optional<Map<String, ClosureQuery.Closure>> db = new StoreDb(StoreDb.DEFAULT, base.resolve("native2"))
                .closures(List.of(a, b));
        assertThat(db).as("the store database answers").isPresent();
        Map<String, ClosureQuery.Closure> json = query.source(ClosureQuery.Source.NIX).list(List.of(a, b));
        query.source(ClosureQuery.Source.STORE);
        for (String top : List.of(a, b)) {
            String text = Nix.run("/usr/bin/nix", "path-info", "--extra-experimental-features", "nix-command",
                    "--recursive", "--size", top);
            ClosureQuery.Closure plain = ClosureQuery.parse(top, text);
            assertThat(rows(db.get().get(top))).as("database vs nix path-info -r -s, " + top)
                    .isEqualTo(rows(plain));
            assertThat(rows(json.get(top))).as("nix path-info --json vs -s, " + top).isEqualTo(rows(plain));
            assertThat(origins(db.get().get(top))).as("origins, database vs json").isEqualTo(origins(json.get(top)));
        }
        // origins as the store records them: a derivation's outputs, paths added directly
        Map<String, String> o = origins(db.get().get(b));
        assertThat(o).containsEntry("util-linux-2.39.3-login", "d:util-linux-2.39.3")
                .containsEntry("mydocs-man", "d:mydocs").containsEntry("X-Restart-Triggers", "d:X-Restart-Triggers")
                .containsEntry("notes-1.0-pre", "a").containsEntry("readme-dev", "a");
    }

    @Test
    void everyPackageLineAgreesWithDiffClosuresExceptWhereDiffClosuresGuessesWrong() throws Exception {
        Packages p = diff();
        Map<String, DiffClosures.Line> ours = lines(p);
        Map<String, DiffClosures.Line> theirs = DiffClosures.parse(Nix.run("/usr/bin/nix", "store", "diff-closures",
                "--extra-experimental-features", "nix-command", a, b));
        assertThat(theirs).as("diff-closures reports something").hasSizeGreaterThan(60);

        // Where a trailing lowercase word is not an output (the store knows who made the path):
        Map<String, DiffClosures.Line> oursThere = Map.of(
                "X-Restart-Triggers-dbus", line(List.of(""), List.of()), // its own derivation, removed
                "pretest", line(List.of("1.0"), List.of("1.0-pre")), // "-pre" is part of the version
                "snap", line(List.of("0.9"), List.of("1.0-unstable")),
                "linux", line(List.of("6.1.69", "6.1.69-modules"), List.of("6.6.8", "6.6.8-modules")),
                "notes", line(List.of("1.0"), List.of("1.0-pre"))); // builtins.toFile: never an output
        Map<String, DiffClosures.Line> theirsThere = Map.of(
                "snap", line(List.of("0.9"), List.of("1.0")),
                "linux", line(List.of("6.1.69"), List.of("6.6.8")));
        for (String name : oursThere.keySet()) {
            assertThat(ours.get(name)).as("engine, " + name).isEqualTo(oursThere.get(name));
            assertThat(theirs.get(name)).as("diff-closures, " + name).isEqualTo(theirsThere.get(name));
        }
        // Everywhere else: the same lines, versions and sizes, name for name.
        TreeSet<String> names = new TreeSet<>(ours.keySet());
        names.addAll(theirs.keySet());
        names.removeAll(oursThere.keySet());
        List<String> different = new ArrayList<>();
        for (String name : names) {
            if (!java.util.Objects.equals(ours.get(name), theirs.get(name))) {
                different.add(name + ": engine " + ours.get(name) + ", diff-closures " + theirs.get(name));
            }
        }
        assertThat(different).as("names compared: " + names.size()).isEmpty();
        assertThat(names).hasSizeGreaterThan(60);

        // The cases the issue names, as the operator reads them:
        assertThat(find(p, "util-linux")).extracting(Package::change, Package::before, Package::after)
                .containsExactly(Change.UPGRADED, List.of("2.39.2"), List.of("2.39.3"));
        assertThat(find(p, "glibc").change()).isEqualTo(Change.UPGRADED);
        assertThat(find(p, "python3.11-numpy").change()).isEqualTo(Change.UPGRADED);
        assertThat(find(p, "foo")).extracting(Package::before, Package::after)
                .containsExactly(List.of("-bar-1.0"), List.of("-bar-1.1"));
        assertThat(find(p, "form8")).extracting(Package::change, Package::before, Package::after)
                .containsExactly(Change.DOWNGRADED, List.of("2.0.4"), List.of("2.0.3000000000"));
        assertThat(find(p, "pretest").change()).isEqualTo(Change.DOWNGRADED);
        assertThat(find(p, "mydocs")).extracting(Package::change, Package::before, Package::after)
                .containsExactly(Change.RESIZED, List.of(""), List.of(""));
        assertThat(find(p, "firefox")).extracting(Package::change, p2 -> p2.bytesAfter() - p2.bytesBefore())
                .containsExactly(Change.RESIZED, 20L * 1024);
        assertThat(p.resized()).extracting(Package::name).doesNotContain("small", "etc", "X-Restart-Triggers");
    }

    @Test
    void everyNameSplitsAsParseDrvNameAndEveryOutputGuessMatchesDiffClosuresPattern() throws Exception {
        Map<String, String> originOf = new TreeMap<>();
        for (ClosureQuery.Closure c : query.list(List.of(a, b)).values()) {
            for (int i = 0; i < c.size(); i++) {
                originOf.put(c.names()[i], c.origins()[i]);
            }
        }
        // every raw name, and every name with its output taken off (by origin and by guess)
        TreeSet<String> toSplit = new TreeSet<>(originOf.keySet());
        originOf.forEach((n, o) -> {
            toSplit.add(StoreName.withoutOutput(n, o));
            toSplit.add(StoreName.guessWithoutOutput(n));
        });
        List<String> splitNames = new ArrayList<>(toSplit);
        JsonNode parsed = nixEval(splitNames, "map builtins.parseDrvName names");
        List<String> wrong = new ArrayList<>();
        for (int i = 0; i < splitNames.size(); i++) {
            StoreName ours = StoreName.split(splitNames.get(i));
            StoreName nix = new StoreName(parsed.get(i).get("name").asText(), parsed.get(i).get("version").asText());
            if (!ours.equals(nix)) {
                wrong.add(splitNames.get(i) + ": engine " + ours + ", parseDrvName " + nix);
            }
        }
        assertThat(wrong).as(splitNames.size() + " names split").isEmpty();
        assertThat(splitNames).hasSizeGreaterThan(150);

        // diff-closures' std::regex_match(name, "(.*)-([a-z]+|lib32|lib64)"), here as builtins.match
        List<String> raw = new ArrayList<>(originOf.keySet());
        JsonNode matched = nixEval(raw, "map (n: builtins.match \"(.*)-([a-z]+|lib32|lib64)\" n) names");
        for (int i = 0; i < raw.size(); i++) {
            String nix = matched.get(i).isNull() ? raw.get(i) : matched.get(i).get(0).asText();
            assertThat(StoreName.guessWithoutOutput(raw.get(i))).as(raw.get(i)).isEqualTo(nix);
        }
    }

    @Test
    void everyPairOfVersionsPresentOrdersAsCompareVersions() throws Exception {
        TreeSet<String> versions = new TreeSet<>();
        for (ClosureQuery.Closure c : query.list(List.of(a, b)).values()) {
            for (int i = 0; i < c.size(); i++) {
                versions.add(StoreName.parse(c.names()[i], c.origins()[i]).version());
                versions.add(StoreName.parse(c.names()[i]).version());
            }
        }
        List<String> vs = new ArrayList<>(versions);
        JsonNode matrix = nixEval(vs, "map (x: map (y: builtins.compareVersions x y) names) names");
        List<String> wrong = new ArrayList<>();
        for (int i = 0; i < vs.size(); i++) {
            for (int j = 0; j < vs.size(); j++) {
                int ours = Integer.signum(StoreName.compareVersions(vs.get(i), vs.get(j)));
                int nix = matrix.get(i).get(j).asInt();
                if (ours != nix) {
                    wrong.add(vs.get(i) + " vs " + vs.get(j) + ": engine " + ours + ", compareVersions " + nix);
                }
            }
        }
        assertThat(wrong).as(vs.size() * vs.size() + " pairs").isEmpty();
        assertThat(vs).hasSizeGreaterThan(80).contains("2.0.3000000000", "2.0.2147483648", "99999999999");

        // and every upgrade/downgrade the engine reports has compareVersions' direction
        for (Package p : diff().changed()) {
            if (p.before().size() == 1 && p.after().size() == 1) {
                int nix = matrix.get(vs.indexOf(p.after().get(0))).get(vs.indexOf(p.before().get(0))).asInt();
                assertThat(p.change()).as(p.name()).isEqualTo(nix > 0 ? Change.UPGRADED
                        : nix < 0 ? Change.DOWNGRADED : Change.CHANGED);
            }
        }
    }

    // Helpers

    private static Packages diff() throws Exception {
        Map<String, ClosureQuery.Closure> c = query.list(List.of(a, b));
        return PackageDiff.diff(c.get(a), c.get(b));
    }

    /** The engine's answer as diff-closures lines: version differences and the size change it would print. */
    private static Map<String, DiffClosures.Line> lines(Packages p) {
        Map<String, DiffClosures.Line> out = new TreeMap<>();
        for (List<Package> list : List.of(p.added(), p.removed(), p.changed(), p.resized())) {
            for (Package pkg : list) {
                List<String> gone = new ArrayList<>(pkg.before());
                gone.removeAll(pkg.after());
                List<String> come = new ArrayList<>(pkg.after());
                come.removeAll(pkg.before());
                gone.sort(null); // diff-closures prints a std::set: bytewise order
                come.sort(null);
                out.put(pkg.name(), new DiffClosures.Line(gone, come,
                        DiffClosures.size(pkg.bytesAfter() - pkg.bytesBefore())));
            }
        }
        return out;
    }

    private static DiffClosures.Line line(List<String> gone, List<String> come) {
        return new DiffClosures.Line(gone, come, null);
    }

    private static Package find(Packages p, String name) {
        for (List<Package> list : List.of(p.added(), p.removed(), p.changed(), p.resized())) {
            for (Package pkg : list) {
                if (pkg.name().equals(name)) {
                    return pkg;
                }
            }
        }
        throw new AssertionError("no package " + name);
    }

    private static Map<String, String> rows(ClosureQuery.Closure c) {
        Map<String, String> m = new TreeMap<>();
        for (int i = 0; i < c.size(); i++) {
            m.put(c.names()[i], Long.toString(c.sizes()[i]));
        }
        assertThat(m).hasSize(c.size());
        return m;
    }

    private static Map<String, String> origins(ClosureQuery.Closure c) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < c.size(); i++) {
            String o = c.origins()[i];
            m.put(c.names()[i], o == null ? "?" : o.isEmpty() ? "a" : "d:" + o);
        }
        return new TreeMap<>(m);
    }

    /** Evaluates {@code expr} with {@code names} bound to the list, with real nix; its JSON value. */
    private static JsonNode nixEval(List<String> names, String expr) throws Exception {
        Path file = Files.createTempFile(base, "names", ".json");
        Files.writeString(file, JSON.writeValueAsString(names));
        String out = Nix.run("/usr/bin/nix", "eval", "--extra-experimental-features", "nix-command", "--impure",
                "--json", "--expr", "let names = builtins.fromJSON (builtins.readFile " + file + "); in " + expr);
        JsonNode node = JSON.readTree(out);
        assertThat(node.size()).isEqualTo(names.size());
        return node;
    }

    private static String nixBuild(Path nixFile, String variant) throws Exception {
        List<String> argv = new ArrayList<>(List.of("/usr/bin/nix-build", nixFile.toString(), "--argstr", "variant",
                variant, "-o", base.resolve("result-" + variant).toString()));
        argv.addAll(Nix.DEMO_OPTIONS);
        return Nix.run(argv.toArray(new String[0]));
    }
}
