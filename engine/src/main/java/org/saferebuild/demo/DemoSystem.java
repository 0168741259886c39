package org.saferebuild.demo;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.Posix;
import org.saferebuild.protocol.Json;

/**
 * The demo system (DESIGN.md, "The demo system"): a NixOS-shaped system built with real Nix but
 * without nixpkgs and without network, with its own system profile, run links, logs and engine
 * state, all under one root directory. A machine without NixOS runs the real flow against it.
 *
 * <p>{@link #install(Path)} creates, under a fresh root-owned 0700 {@code root}:
 * <pre>
 * engine.json                 engine settings for the demo (pass with --config)
 * configs/&lt;variant&gt;/          the configurations ({@link Variant}); flakes declare nixosConfigurations.BearsiMac
 * channels/nixpkgs-23.11-demo  source of the fake &lt;nixpkgs&gt; (its store copy is nixPath's nixpkgs)
 * profiles/system             the demo's system profile; generation 1 = BearsiMac, built at install
 * run/current-system, run/booted-system   what the demo's switch-to-configuration maintains
 * log/iNixos-Hive/*.log       the watched logs (activation appends "FIELD Chakra Ecosystem" lines)
 * log/safe-rebuild/           the audit trail's directory (audit.jsonl)
 * demo-state/activations.jsonl   one line per switch-to-configuration call: {"action","system","time"}
 * demo-state/boot-default     link to the system the boot loader would start (switch, boot)
 * state/                      the engine's state dir (gcroots/builds/, gcroots/pinned/)
 * </pre>
 * The demo root is baked into each configuration ({@code mini-nixos/site.nix}) and so into
 * each built system's {@code bin/switch-to-configuration}: every installation is
 * self-contained, and its derivations carry an installation salt so that a fresh demo really
 * builds. What the variants change is listed in docs/demo.md.
 *
 * <p>The engine core never uses this class; tests and script/demo do.
 */
public final class DemoSystem {
    public static final String HOST = "BearsiMac";
    private static final String RES = "/org/saferebuild/demo/";
    private static final Pattern SAFE_ROOT = Pattern.compile("/[A-Za-z0-9._+/-]*");
    private static final String CHANNEL = "nixpkgs-23.11-demo";
    /**
     * Nix settings only the demo needs, in its engine settings (nixOptions) and on the command line
     * of its own installer's nix calls; the machine's nix.conf is never touched. The demo's
     * builders run the host's /bin/sh, which Debian's nix leaves out of its build sandbox; and they
     * run as root rather than as build users, because before each build nix kills every process
     * of the build user it picks, and a second Nix store on the same machine (a test overlay, a
     * container sharing the uids) picks the same uids without knowing of our locks.
     */
    public static final Map<String, String> NIX_OPTIONS = Map.of("sandbox", "false", "build-users-group", "");

    /** The configurations an operator can pick, each a directory under {@code configs/}. */
    public enum Variant {
        /** Generation 1: the running system. */
        BEARSIMAC("BearsiMac", true),
        /** Adds a unit, changes units, bumps a package, removes packages (see docs/demo.md). */
        UPDATE("update", true),
        /** A different kernel, initrd and kernel modules: reboot advised. */
        KERNEL("kernel", true),
        /** Does not evaluate: undefined variable in modules/chakra-tuning.nix, line 13. */
        EVAL_ERROR("eval-error", true),
        /** Evaluates; field-translator-1.5.0-rc1 fails to build (its patch does not apply). */
        BUILD_FAIL("build-fail", true),
        /** Evaluates; field-translator-1.5.0-rc1's build fails with "No space left on device" (it writes to /dev/full). */
        DISK_FULL("disk-full", true),
        /** Builds; its switch-to-configuration fails (field-translator.service), exit code 4. */
        ACTIVATION_FAIL("activation-fail", true),
        /** Needs a download at build time (field-firmware-2.0.1.tar.gz): fails with the network isolated. */
        NEEDS_NETWORK("needs-network", true),
        /** The base system as a classic configuration.nix, built through the fake &lt;nixpkgs/nixos&gt;. */
        CLASSIC("classic", false);

        private final String dirName;
        private final boolean flake;

        Variant(String dirName, boolean flake) {
            this.dirName = dirName;
            this.flake = flake;
        }

        public String dirName() {
            return dirName;
        }

        public boolean flake() {
            return flake;
        }
    }

    private final Path root;
    private final String nixpkgs;
    private final String generation1;

    private DemoSystem(Path root, String nixpkgs, String generation1) {
        this.root = root;
        this.nixpkgs = nixpkgs;
        this.generation1 = generation1;
    }

    /**
     * Installs a demo system under {@code root}, which must not exist yet or be an empty
     * directory. Needs root (the engine settings must be root's) and nix on the host; builds
     * generation 1 with real nix (a few seconds).
     */
    public static DemoSystem install(Path root) throws IOException {
        if (!root.isAbsolute() || !root.normalize().equals(root) || !SAFE_ROOT.matcher(root.toString()).matches()) {
            throw new IOException("The demo root must be an absolute, normalised path of letters, digits and . _ + -"
                    + " (it is written into shell scripts and Nix strings): " + root);
        }
        if (Posix.effectiveUid() != 0) {
            throw new IOException("Installing the demo system needs root: its engine settings must be root's and"
                    + " nix-env writes its profile. Run it with sudo.");
        }
        if (Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            if (Files.isSymbolicLink(root) || !Files.isDirectory(root)) {
                throw new IOException(root + " exists and is not a directory; choose a new directory for the demo.");
            }
            try (Stream<Path> s = Files.list(root)) {
                if (s.findAny().isPresent()) {
                    throw new IOException(root + " is not empty; choose a new directory for the demo.");
                }
            }
        } else {
            Files.createDirectories(root.getParent());
            Files.createDirectory(root);
        }
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx------"));
        if (Posix.ownerUid(root, LinkOption.NOFOLLOW_LINKS) != 0) {
            throw new IOException(root + " is not owned by root; choose a directory root creates.");
        }

        Tools tools = new Tools(Tools.DEFAULT_DIRS);
        Installer in = new Installer(root, tools);
        String site = "{\n  root = \"" + root + "\";\n  system = \"" + nixSystem() + "\";\n  instance = \""
                + WorkDirs.randomSuffix(10) + "\";\n}\n";
        for (Variant v : Variant.values()) {
            in.writeConfig(v, site);
        }
        String nixpkgs = in.addChannel(site);
        in.makeRuntimeDirs();
        in.writeSettings(nixpkgs);
        String system = in.buildBase();
        in.setGeneration1(system);
        return new DemoSystem(root, nixpkgs, system);
    }

    /** An installed demo system (reads its engine.json). */
    public static DemoSystem open(Path root) throws IOException {
        JsonNode s = Json.mapper().readTree(root.resolve("engine.json").toFile());
        String nixpkgs = s.path("nixPath").path("nixpkgs").asText();
        Path profile = Path.of(s.path("systemProfile").asText());
        Path gen1 = profile.resolveSibling(profile.getFileName() + "-1-link");
        return new DemoSystem(root, nixpkgs, Files.readSymbolicLink(gen1).toString());
    }

    /**
     * An installed demo system that lives at {@code root} inside another mount namespace (a test's
     * second machine), read from this one at {@code hostView}, where the same files are.
     */
    public static DemoSystem open(Path root, Path hostView) throws IOException {
        JsonNode s = Json.mapper().readTree(hostView.resolve("engine.json").toFile());
        String nixpkgs = s.path("nixPath").path("nixpkgs").asText();
        Path profile = Path.of(s.path("systemProfile").asText());
        Path gen1 = hostView.resolve(root.relativize(profile.resolveSibling(profile.getFileName() + "-1-link")));
        return new DemoSystem(root, nixpkgs, Files.readSymbolicLink(gen1).toString());
    }

    // Paths

    public Path root() {
        return root;
    }

    /** The engine settings file: {@code safe-rebuild-engine --config <this>}. */
    public Path settingsFile() {
        return root.resolve("engine.json");
    }

    public Path configDir(Variant v) {
        return root.resolve("configs").resolve(v.dirName());
    }

    /** Every configuration directory, the default (BearsiMac) first: the settings' configDirs. */
    public List<Path> configDirs() {
        return Stream.of(Variant.values()).map(this::configDir).toList();
    }

    public String host() {
        return HOST;
    }

    public Path systemProfile() {
        return root.resolve("profiles/system");
    }

    public Path currentSystem() {
        return root.resolve("run/current-system");
    }

    public Path bootedSystem() {
        return root.resolve("run/booted-system");
    }

    public Path stateDir() {
        return root.resolve("state");
    }

    /** Where the engine registers the systems it built as GC roots. */
    public Path buildRoots() {
        return stateDir().resolve("gcroots/builds");
    }

    /** Where pinned generations are GC roots. */
    public Path pinnedRoots() {
        return stateDir().resolve("gcroots/pinned");
    }

    public Path auditLog() {
        return root.resolve("log/safe-rebuild/audit.jsonl");
    }

    public Path watchedLogDir() {
        return root.resolve("log/iNixos-Hive");
    }

    /** The watched-logs glob of the settings. */
    public String watchedLogs() {
        return watchedLogDir().resolve("*.log").toString();
    }

    /** One JSON line per switch-to-configuration call: {"action","system","time"}. */
    public Path activationsLog() {
        return root.resolve("demo-state/activations.jsonl");
    }

    /** Link to the system the boot loader would start; switch and boot repoint it. */
    public Path bootDefault() {
        return root.resolve("demo-state/boot-default");
    }

    /** The fake nixpkgs in the store (the settings' nixPath nixpkgs), for classic builds. */
    public String nixpkgs() {
        return nixpkgs;
    }

    /** The store path of generation 1 (BearsiMac, built at install). */
    public String generation1() {
        return generation1;
    }

    /** The flake installable (or, for classic, the attribute of &lt;nixpkgs/nixos&gt;) of a variant's system. */
    public String installable(Variant v) {
        return v.flake() ? "path:" + configDir(v) + "#nixosConfigurations." + HOST + ".config.system.build.toplevel"
                : "system";
    }

    /**
     * Builds a variant on the host with real nix, as the machine's installer would (no sandbox,
     * no engine), and returns its store path. Not a GC root: callers that keep it register one.
     * Fails with nix's own error for the variants that are meant to fail.
     */
    public String buildOnHost(Variant v) throws IOException {
        Installer in = new Installer(root, new Tools(Tools.DEFAULT_DIRS));
        return in.build(v, nixpkgs);
    }

    /** The settings an engine for this demo uses, as in engine.json. */
    public Map<String, Object> settings() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("configDirs", configDirs().stream().map(Path::toString).toList());
        s.put("plans", List.of("debian-test"));
        s.put("stateDir", stateDir().toString());
        s.put("systemProfile", systemProfile().toString());
        s.put("currentSystem", currentSystem().toString());
        s.put("bootedSystem", bootedSystem().toString());
        s.put("auditLog", auditLog().toString());
        s.put("watchedLogs", List.of(watchedLogs()));
        s.put("nixPath", Map.of("nixpkgs", nixpkgs));
        s.put("minFreeBytes", 64L * 1024 * 1024);
        s.put("nixOptions", NIX_OPTIONS);
        return s;
    }

    /** {@code java -cp … org.saferebuild.demo.DemoSystem install <dir>}: prints the settings file. */
    public static void main(String[] args) {
        if (args.length != 2 || !args[0].equals("install")) {
            System.err.println("Usage: DemoSystem install <dir>   (a new directory; prints the engine settings file)");
            System.exit(64);
        }
        try {
            DemoSystem demo = install(Path.of(args[1]).toAbsolutePath().normalize());
            System.out.println(demo.settingsFile());
        } catch (IOException | RuntimeException e) {
            System.err.println("demo install failed: " + e.getMessage());
            System.exit(1);
        }
    }

    static String nixSystem() {
        String arch = System.getProperty("os.arch");
        return switch (arch) {
            case "amd64", "x86_64" -> "x86_64-linux";
            case "aarch64", "arm64" -> "aarch64-linux";
            default -> arch + "-linux";
        };
    }

    /** The files under the fixtures directory (index.txt lists them: a jar cannot be listed). */
    static List<String> resources() {
        try (InputStream in = DemoSystem.class.getResourceAsStream(RES + "index.txt")) {
            if (in == null) {
                throw new IllegalStateException("demo fixtures are missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .map(String::strip).filter(l -> !l.isEmpty()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The steps of an installation. */
    private static final class Installer {
        private final Path root;
        private final Tools tools;
        private final Map<String, String> env = new LinkedHashMap<>();

        Installer(Path root, Tools tools) {
            this.root = root;
            this.tools = tools;
            env.put("HOME", root.resolve("demo-state/home").toString());
            env.put("PATH", String.join(":", Tools.DEFAULT_DIRS));
        }

        /** A variant: its own files, the shared ones, and (flakes) a copy of mini-nixos with the site. */
        void writeConfig(Variant v, String site) throws IOException {
            Path dir = root.resolve("configs").resolve(v.dirName());
            copyTree("configs/" + v.dirName() + "/", dir);
            copy("shared/hardware-configuration.nix", dir.resolve("hardware-configuration.nix"));
            if (v.flake()) {
                copy("shared/flake.nix", dir.resolve("flake.nix"));
                copy("shared/flake.lock", dir.resolve("flake.lock"));
                copyTree("mini-nixos/", dir.resolve("mini-nixos"));
                Files.writeString(dir.resolve("mini-nixos/site.nix"), site);
            }
        }

        /** The fake nixpkgs: nixpkgs/ and mini-nixos/ added to the store, kept by a GC root. */
        String addChannel(String site) throws IOException {
            Path dir = root.resolve("channels").resolve(CHANNEL);
            copyTree("nixpkgs/", dir);
            copyTree("mini-nixos/", dir.resolve("mini-nixos"));
            Files.writeString(dir.resolve("mini-nixos/site.nix"), site);
            String path = run(Command.of(tool("nix-store"), "--add", dir.toString()).args(options())).strip();
            Path gcroots = root.resolve("demo-state/gcroots");
            Files.createDirectories(gcroots);
            run(Command.of(tool("nix-store"), "--add-root", gcroots.resolve("nixpkgs").toString(), "--realise", path)
                    .args(options()));
            return path;
        }

        void makeRuntimeDirs() throws IOException {
            for (String d : List.of("profiles", "run", "log/iNixos-Hive", "log/safe-rebuild", "demo-state")) {
                Files.createDirectories(root.resolve(d));
            }
            for (String d : List.of("state", "state/gcroots", "state/gcroots/builds", "state/gcroots/pinned")) {
                Path p = root.resolve(d);
                Files.createDirectories(p);
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
            }
            Files.writeString(root.resolve("demo-state/activations.jsonl"), "");
            String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
            Files.writeString(root.resolve("log/iNixos-Hive/chakra-muladhara.log"),
                    now + " " + HOST + " FIELD Chakra Ecosystem: muladhara-chakra.service active (installed)\n");
            Files.writeString(root.resolve("log/iNixos-Hive/translator.log"),
                    now + " " + HOST + " FIELD Chakra Ecosystem: field-translator.service active (installed)\n");
        }

        void writeSettings(String nixpkgs) throws IOException {
            DemoSystem d = new DemoSystem(root, nixpkgs, null);
            Path file = root.resolve("engine.json");
            Files.writeString(file, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(d.settings()));
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        }

        /** Generation 1 is built on the host, as the installer of a real machine would have. */
        String buildBase() throws IOException {
            return build(Variant.BEARSIMAC, null);
        }

        String build(Variant v, String nixpkgs) throws IOException {
            DemoSystem d = new DemoSystem(root, nixpkgs, null);
            Command.Builder b = Command.of(tool("nix"), "--extra-experimental-features", "nix-command flakes")
                    .args(options()).args("build", "--json", "--no-link", "--offline", "--option", "substituters", "");
            if (v.flake()) {
                b.args(d.installable(v));
            } else {
                b.args("-f", "<nixpkgs/nixos>", "system", "-I",
                        "nixos-config=" + d.configDir(v).resolve("configuration.nix"))
                        .env("NIX_PATH", "nixpkgs=" + nixpkgs);
            }
            String out = run(b.timeout(Duration.ofMinutes(10)));
            JsonNode built = Json.mapper().readTree(out);
            return built.path(0).path("outputs").path("out").asText();
        }

        void setGeneration1(String system) throws IOException {
            run(Command.of(tool("nix-env"), "-p", root.resolve("profiles/system").toString(), "--set", system));
            for (String link : List.of("run/current-system", "run/booted-system", "demo-state/boot-default")) {
                Files.createSymbolicLink(root.resolve(link), Path.of(system));
            }
        }

        /** {@code --option NAME VALUE} for the demo's nix settings. */
        private static List<String> options() {
            List<String> args = new ArrayList<>();
            new java.util.TreeMap<>(NIX_OPTIONS).forEach((k, v) -> args.addAll(List.of("--option", k, v)));
            return args;
        }

        private String run(Command.Builder b) throws IOException {
            Map<String, String> e = new LinkedHashMap<>(env);
            e.putAll(b.build().env());
            Command c = b.env(e).build();
            Exec.Outcome o = Exec.run(c);
            if (!o.ok()) {
                throw new IOException(String.join(" ", c.argv()) + " failed (exit " + o.exitCode() + "): "
                        + o.stderr().strip());
            }
            return o.stdout();
        }

        private Path tool(String name) throws IOException {
            try {
                return tools.require(name);
            } catch (Problem p) {
                throw new IOException(p.getMessage() + " " + p.fix());
            }
        }

        private void copyTree(String prefix, Path target) throws IOException {
            List<String> files = new ArrayList<>();
            for (String r : resources()) {
                if (r.startsWith(prefix)) {
                    files.add(r);
                }
            }
            if (files.isEmpty()) {
                throw new IllegalStateException("no demo fixtures under " + prefix);
            }
            for (String r : files) {
                copy(r, target.resolve(r.substring(prefix.length())));
            }
        }

        private void copy(String resource, Path target) throws IOException {
            Files.createDirectories(target.getParent());
            try (InputStream in = DemoSystem.class.getResourceAsStream(RES + resource)) {
                if (in == null) {
                    throw new IllegalStateException("demo fixture missing: " + resource);
                }
                Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    /** The store path a link (profile generation, run/current-system) points to, if any. */
    public static Optional<String> target(Path link) {
        try {
            return Optional.of(Files.readSymbolicLink(link).toString());
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
