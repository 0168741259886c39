package org.saferebuild.engine.inspect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteOpenMode;

/**
 * Closures read from the Nix store's own database ({@code /nix/var/nix/db/db.sqlite}), read-only:
 * the same tables Nix reads for {@code nix path-info -r} (ValidPaths, Refs), without starting a
 * process and without Nix's per-path lookups. Both sides of a comparison come from one read
 * transaction, so they are one consistent snapshot.
 *
 * <p>Reading it is made harmless to Nix: the file is opened read-only ({@code mode=ro},
 * SQLITE_OPEN_READONLY, {@code PRAGMA query_only}); Nix keeps the database in WAL mode, where a
 * reader takes no lock that blocks a writer (it only marks the snapshot it reads in the -shm
 * index, for the few milliseconds of the query). {@code immutable=1} is not used: it would skip
 * the WAL and miss what Nix wrote last (a system just built). A database that is busy, has
 * another shape (another Nix version's schema: the columns are checked first), is not there, or
 * lacks one of the top paths, is not used: the caller then asks nix, which says what is wrong.
 */
public final class StoreDb {
    private static final Logger LOG = LoggerFactory.getLogger(StoreDb.class);
    public static final Path DEFAULT = Path.of("/nix/var/nix/db/db.sqlite");
    private static final String STORE = StoreFiles.STORE;
    private static final int BUSY_MILLIS = 1000;

    private final Path db;
    /** Where sqlite-jdbc unpacks its native library: a private directory, never a shared /tmp. */
    private final Path nativeDir;
    /** The result of the schema check, once made (null: not checked yet). */
    private volatile Boolean usable;
    /** Whether ValidPaths has the ca column (Nix 2.0 and later). */
    private volatile boolean hasCa;
    /** How long {@link #requisites} keeps its connection open without use. */
    private static final long KEEP_IDLE_NANOS = 300_000_000_000L;
    private Connection kept;
    private PreparedStatement keptQuery;
    private Object keptIdentity;
    private long lastUse;
    private java.util.concurrent.ScheduledExecutorService idleCloser;

    StoreDb(Path db, Path nativeDir) {
        this.db = db;
        this.nativeDir = nativeDir;
    }

    /** The store's own database ({@link #DEFAULT}); sqlite's native library goes into {@code nativeDir}. */
    public StoreDb(Path nativeDir) {
        this(DEFAULT, nativeDir);
    }

    /**
     * A path the database holds as valid: its row (a path deleted and added again gets a new one),
     * the NAR hash nix recorded for its contents ({@code sha256:…}) and its NAR size.
     */
    public record Valid(String path, long id, String narHash, long narSize) {
    }

    /**
     * The closure of {@code top} as {@code nix-store --query --requisites} lists it (the same
     * tables), with what nix recorded for each path; empty if the database cannot answer (not
     * there, busy, another shape, {@code top} not valid in it): the caller then asks nix, which also
     * says what is wrong.
     */
    public synchronized Optional<List<Valid>> requisites(String top) {
        if (Boolean.FALSE.equals(usable) || !top.startsWith(STORE) || top.indexOf('/', STORE.length()) >= 0) {
            return Optional.empty();
        }
        try {
            PreparedStatement ps = keptQuery();
            if (ps == null) {
                return Optional.empty();
            }
            List<Valid> out = new ArrayList<>();
            ps.setString(1, top);
            // One statement in autocommit: its read transaction ends when the result set is closed.
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Valid(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getLong(4)));
                }
            }
            lastUse = System.nanoTime();
            return out.isEmpty() ? Optional.empty() : Optional.of(out);
        } catch (SQLException | IOException | Problem | RuntimeException | LinkageError e) {
            LOG.info("the Nix database {} could not be read ({}); closures come from nix", db, e.toString());
            closeKept();
            return Optional.empty();
        }
    }

    /**
     * The connection {@link #requisites} keeps between calls, with its statement prepared: opening
     * the database costs about as much as the query. It holds no transaction between calls (so it
     * keeps no writer or checkpoint of Nix's waiting), is closed after {@link #KEEP_IDLE_NANOS}
     * without use, and is opened again when the database file is another one (replaced).
     */
    private PreparedStatement keptQuery() throws SQLException, IOException, Problem {
        Object identity;
        try {
            identity = Files.readAttributes(db, java.nio.file.attribute.BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (java.nio.file.NoSuchFileException e) {
            closeKept();
            return null;
        }
        if (kept != null && (!identity.equals(keptIdentity) || System.nanoTime() - lastUse > KEEP_IDLE_NANOS)) {
            closeKept();
        }
        if (kept == null) {
            Connection c = openReadOnly();
            try {
                if (usable == null) {
                    usable = schemaFits(c);
                }
                if (!usable) {
                    LOG.info("the Nix database {} has a shape this engine does not read; closures come from nix", db);
                    c.close();
                    return null;
                }
                keptQuery = c.prepareStatement("WITH RECURSIVE closure(id) AS (SELECT id FROM ValidPaths WHERE path = ?"
                        + " UNION SELECT r.reference FROM Refs r JOIN closure ON r.referrer = closure.id)"
                        + " SELECT v.path, v.id, v.hash, v.narSize FROM closure JOIN ValidPaths v ON v.id = closure.id");
            } catch (SQLException | RuntimeException e) {
                c.close();
                throw e;
            }
            kept = c;
            keptIdentity = identity;
            scheduleIdleClose();
        }
        return keptQuery;
    }

    private synchronized void closeKept() {
        if (kept != null) {
            try {
                kept.close(); // closes its statement too
            } catch (SQLException e) {
                LOG.debug("closing the Nix database: {}", e.toString());
            }
        }
        kept = null;
        keptQuery = null;
        keptIdentity = null;
    }

    private void scheduleIdleClose() {
        if (idleCloser == null) {
            idleCloser = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                    org.saferebuild.engine.sys.DaemonThreads.named("store-db-idle"));
        }
        idleCloser.schedule(this::closeIfIdle, KEEP_IDLE_NANOS + 1_000_000_000L,
                java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    private synchronized void closeIfIdle() {
        if (kept != null) {
            if (System.nanoTime() - lastUse >= KEEP_IDLE_NANOS) {
                closeKept();
            } else {
                scheduleIdleClose();
            }
        }
    }

    /**
     * The closures of the given top paths, or empty if the database cannot answer (not there,
     * busy, another shape, a top path it does not know). Never throws for those: the caller falls
     * back on nix.
     */
    Optional<Map<String, ClosureQuery.Closure>> closures(List<String> tops) {
        if (Boolean.FALSE.equals(usable) || !Files.isRegularFile(db, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        for (String top : tops) {
            if (!top.startsWith(STORE) || top.indexOf('/', STORE.length()) >= 0) {
                return Optional.empty();
            }
        }
        try (Connection c = openReadOnly()) {
            if (usable == null) {
                usable = schemaFits(c);
                if (!usable) {
                    LOG.info("the Nix database {} has a shape this engine does not read; closures come from nix", db);
                    return Optional.empty();
                }
            }
            Map<String, ClosureQuery.Closure> out = new LinkedHashMap<>();
            c.setAutoCommit(false); // one read transaction: one snapshot for every side
            try {
                for (String top : tops) {
                    Optional<ClosureQuery.Closure> closure = closure(c, top);
                    if (closure.isEmpty()) {
                        LOG.debug("{} is not in the Nix database; asking nix", top);
                        return Optional.empty();
                    }
                    out.put(top, closure.get());
                }
            } finally {
                c.rollback();
            }
            return Optional.of(out);
        } catch (SQLException | IOException | Problem | RuntimeException | LinkageError e) {
            // LinkageError: sqlite-jdbc has no native library for this machine.
            LOG.info("the Nix database {} could not be read ({}); closures come from nix", db, e.toString());
            return Optional.empty();
        }
    }

    /**
     * Opens the database once: loads sqlite-jdbc's native library (about 150 ms, once per engine)
     * and checks the schema, so that the first comparison does not pay for it.
     */
    public void prepare() {
        if (usable != null || !Files.isRegularFile(db, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Connection c = openReadOnly()) {
            usable = schemaFits(c);
        } catch (SQLException | IOException | Problem | RuntimeException | LinkageError e) {
            LOG.info("the Nix database {} could not be read ({}); closures come from nix", db, e.toString());
        }
    }

    Connection openReadOnly() throws SQLException, IOException, Problem {
        NativeDir.prepare(nativeDir);
        SQLiteConfig cfg = new SQLiteConfig();
        cfg.setReadOnly(true);
        cfg.setOpenMode(SQLiteOpenMode.READONLY);
        cfg.setBusyTimeout(BUSY_MILLIS);
        Connection c = cfg.createConnection("jdbc:sqlite:file:" + db + "?mode=ro");
        try (Statement s = c.createStatement()) {
            s.execute("PRAGMA query_only = 1");
        }
        return c;
    }

    /** ValidPaths(id, path, hash, narSize, deriver[, ca]) and Refs(referrer, reference), as Nix 1.x to today keep them. */
    private boolean schemaFits(Connection c) throws SQLException {
        Set<String> paths = columns(c, "ValidPaths");
        Set<String> refs = columns(c, "Refs");
        hasCa = paths.contains("ca");
        return paths.containsAll(List.of("id", "path", "hash", "narsize", "deriver"))
                && refs.containsAll(List.of("referrer", "reference"));
    }

    private static Set<String> columns(Connection c, String table) throws SQLException {
        Set<String> out = new HashSet<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("PRAGMA table_info(" + table + ")")) {
            while (rs.next()) {
                out.add(rs.getString("name").toLowerCase(java.util.Locale.ROOT));
            }
        }
        return out;
    }

    private Optional<ClosureQuery.Closure> closure(Connection c, String top) throws SQLException {
        String sql = "WITH RECURSIVE closure(id) AS (SELECT id FROM ValidPaths WHERE path = ?"
                + " UNION SELECT r.reference FROM Refs r JOIN closure ON r.referrer = closure.id)"
                + " SELECT v.path, v.narSize, v.deriver, " + (hasCa ? "v.ca" : "NULL")
                + " FROM closure JOIN ValidPaths v ON v.id = closure.id";
        List<String> names = new ArrayList<>(8192);
        List<String> origins = new ArrayList<>(8192);
        long[] sizes = new long[8192];
        long total = 0;
        int n = 0;
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, top);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String path = rs.getString(1);
                    long size = rs.getLong(2); // NULL (paths registered before Nix recorded sizes) is 0, as in nix
                    if (n == sizes.length) {
                        sizes = java.util.Arrays.copyOf(sizes, n * 2);
                    }
                    names.add(StoreName.nameOf(path));
                    origins.add(ClosureQuery.origin(rs.getString(3), rs.getString(4) != null));
                    sizes[n++] = size;
                    total += size;
                }
            }
        }
        if (n == 0) {
            return Optional.empty();
        }
        return Optional.of(new ClosureQuery.Closure(top, names.toArray(new String[0]),
                java.util.Arrays.copyOf(sizes, n), origins.toArray(new String[0]), total));
    }

    /** sqlite-jdbc's native library is unpacked once per engine, into a directory only root can write. */
    private static final class NativeDir {
        private static boolean done;

        static synchronized void prepare(Path dir) throws IOException, Problem {
            if (done) {
                return;
            }
            if (System.getProperty("org.sqlite.tmpdir") == null) {
                WorkDirs.ensurePrivateDir(dir);
                System.setProperty("org.sqlite.tmpdir", dir.toString());
            }
            done = true;
        }
    }
}
