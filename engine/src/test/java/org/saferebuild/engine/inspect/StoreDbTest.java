package org.saferebuild.engine.inspect;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Nix;

/**
 * Reading the Nix store's database: it never holds Nix up, and wherever it cannot answer (another
 * shape, no file, a path it does not hold) the closure comes from nix, the same.
 */
@Tag("root")
@Tag("nix")
class StoreDbTest {
    private Path base;
    private String top;
    private ClosureQuery.Closure fromNix;
    private Tools tools;
    private NixEnv nixEnv;

    @BeforeEach
    void setUp() throws Exception {
        base = EngineHarness.privateBase();
        Path dir = Files.createDirectories(base.resolve("top"));
        Files.writeString(dir.resolve("salt"), java.util.UUID.randomUUID() + "\n");
        top = Nix.run("/usr/bin/nix-store", "--add", dir.toString());
        added.add(top);
        EngineConfig config = new EngineConfig(List.of(base.toString()), null, base.resolve("state").toString(),
                null, null, null, null, null, null, null, null, null, null, null, null, null);
        Files.createDirectories(config.state().resolve("home"));
        tools = new Tools(config.toolDirs());
        nixEnv = new NixEnv(config);
        fromNix = new ClosureQuery(tools, nixEnv, null, null).source(ClosureQuery.Source.NIX).list(List.of(top))
                .get(top);
    }

    private final List<String> added = new java.util.ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (String p : added) {
            Nix.deleteForReal(p);
        }
        EngineHarness.removeTree(base);
    }

    @Test
    void anOpenReadLeavesNixFreeToWriteAndSeesItsOwnSnapshot() throws Exception {
        StoreDb db = new StoreDb(StoreDb.DEFAULT, base.resolve("native"));
        try (Connection c = db.openReadOnly()) {
            c.setAutoCommit(false);
            long before = count(c);
            // nix registers a new path while the engine's read transaction is open
            Path another = Files.createDirectories(base.resolve("another"));
            Files.writeString(another.resolve("salt"), java.util.UUID.randomUUID() + "\n");
            CompletableFuture<String> add = CompletableFuture.supplyAsync(() -> {
                try {
                    return Nix.run("/usr/bin/nix-store", "--add", another.toString());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            String newPath = add.get(60, TimeUnit.SECONDS);
            assertThat(newPath).startsWith("/nix/store/");
            added.add(newPath);
            assertThat(count(c)).as("the open read keeps its snapshot").isEqualTo(before);
            c.rollback();
            assertThat(count(c)).as("a new read sees what nix wrote").isEqualTo(before + 1);
            // the connection cannot write
            try (Statement s = c.createStatement()) {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.execute("DELETE FROM Refs WHERE 0"))
                        .hasMessageContaining("readonly");
            }
        }
        assertThat(db.closures(List.of(top))).hasValueSatisfying(m -> assertThat(rows(m.get(top)))
                .isEqualTo(rows(fromNix)));
    }

    @Test
    void aDatabaseOfAnotherShapeOrNoneOrWithoutThePathLeavesTheAnswerToNix() throws Exception {
        // another Nix's schema: no narSize column
        Path odd = base.resolve("odd.sqlite");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + odd); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE ValidPaths (id integer primary key, path text unique not null, deriver text)");
            s.execute("CREATE TABLE Refs (referrer integer not null, reference integer not null)");
            s.execute("INSERT INTO ValidPaths (id, path) VALUES (1, '" + top + "')");
        }
        StoreDb oddDb = new StoreDb(odd, base.resolve("native"));
        assertThat(oddDb.closures(List.of(top))).isEmpty();
        Map<String, ClosureQuery.Closure> viaFallback = new ClosureQuery(tools, nixEnv, null, oddDb).list(List.of(top));
        assertThat(rows(viaFallback.get(top))).isEqualTo(rows(fromNix));

        StoreDb none = new StoreDb(base.resolve("no-such.sqlite"), base.resolve("native"));
        assertThat(none.closures(List.of(top))).isEmpty();
        assertThat(rows(new ClosureQuery(tools, nixEnv, null, none).list(List.of(top)).get(top)))
                .isEqualTo(rows(fromNix));

        // the right shape, but the path is not in it (another store)
        Path empty = base.resolve("empty.sqlite");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + empty); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE ValidPaths (id integer primary key, path text unique not null, hash text,"
                    + " registrationTime integer, deriver text, narSize integer, ultimate integer, sigs text, ca text)");
            s.execute("CREATE TABLE Refs (referrer integer not null, reference integer not null)");
        }
        assertThat(new StoreDb(empty, base.resolve("native")).closures(List.of(top))).isEmpty();
    }

    private static long count(Connection c) throws Exception {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM ValidPaths")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static Map<String, Long> rows(ClosureQuery.Closure c) {
        Map<String, Long> m = new java.util.TreeMap<>();
        for (int i = 0; i < c.size(); i++) {
            m.put(c.names()[i], c.sizes()[i]);
        }
        return m;
    }
}
