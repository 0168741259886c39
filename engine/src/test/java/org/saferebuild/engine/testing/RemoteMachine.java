package org.saferebuild.engine.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.protocol.Json;

/**
 * A second machine on this one, reached over a real network link with real OpenSSH (DESIGN.md,
 * "sshd (remote targets)"; docs/remote.md): a holder process in its own network namespace and
 * mount namespace, where a private directory is bound over /nix (its own Nix store, made with
 * nix-store --init) and a tmpfs over /run; a veth pair from this machine to it with a /30 of
 * 10.231.0.0/16; Debian's sshd listening only on its address inside, with a host key and an
 * operator key the test made; and a demo system installed into its store from inside. Its engine
 * is the real wrapper (packaging/safe-rebuild-engine.in) over this test run's class path.
 *
 * <p>A fleet: every machine of a test run has its demo at the same path ({@link #FLEET}, an empty
 * directory on this machine), each bound from a private directory of its own, as every NixOS
 * machine has its /run/current-system. So one configuration (and one build of it) fits them all,
 * and activating it on one changes that one only. {@link #onHost} says where its files are seen
 * from this machine.
 *
 * <p>Nothing of it is visible on this machine's mount table; {@link #close()} stops sshd and the
 * holder (the namespaces and the veth pair go with it) and removes the directory only when no
 * mount table shows anything below it.
 */
public final class RemoteMachine implements AutoCloseable {
    /** The ssh alias its ssh config gives the first machine. */
    public static final String ALIAS = "target1";
    /** Where every machine's demo system is, inside it (an empty directory on this machine). */
    public static final Path FLEET = fleetMount();

    private final Path base;
    private final String alias;
    private final Process holder;
    private final long pid;
    private final String hostIf;
    private final String address;
    /** ssh's files: keys, known_hosts, sshd_config and the client's config ({@link #sshDirectory()}). */
    private final Path ssh;
    private Process sshd;
    private DemoSystem demo;

    private RemoteMachine(Path base, String alias, Process holder, long pid, String hostIf, String address)
            throws IOException {
        this.base = base;
        this.alias = alias;
        this.holder = holder;
        this.pid = pid;
        this.hostIf = hostIf;
        this.address = address;
        this.ssh = sshDirectory();
    }

    /**
     * A fresh 0700 directory for ssh's files (keys, known_hosts, configs) under /dev/shm, removed with
     * {@link EngineHarness#removeTree}. Why not the test's own directory: nix running as root saves its
     * mount namespace at start and the ssh it starts for {@code nix copy --to ssh://…} enters it
     * again, which puts that ssh at the namespace's root. Where the tests run in a chroot (as in
     * {@code ../shared/tools/fresh-machine}) that root is the host's real one, where the test's /tmp
     * is not; /dev/shm is the same directory there and in the chroot. On a machine that is not a
     * chroot it changes nothing.
     */
    public static Path sshDirectory() throws IOException {
        return Files.createTempDirectory(Path.of("/dev/shm"), "safe-rebuild-ssh-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    private static Path fleetMount() {
        try {
            return EngineHarness.privateBase();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Starts the machine {@value #ALIAS}. */
    public static RemoteMachine start() throws Exception {
        return start(ALIAS);
    }

    /** Starts a machine, its sshd and installs its demo system (about 15 s); {@code alias} names it in its ssh config. */
    public static RemoteMachine start(String alias) throws Exception {
        Path base = EngineHarness.privateBase();
        Path nix = Files.createDirectory(base.resolve("nix"));
        Path own = Files.createDirectory(base.resolve("fleet"));
        // The holder: its own network and mount namespaces; /nix, /run and the fleet path are its own inside.
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/unshare", "--net", "--mount", "--propagation", "private",
                "--fork", "--", "/bin/sh", "-c", "mount --bind \"$0\" /nix && mount --bind \"$1\" \"$2\""
                + " && mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd && echo ready"
                + " && exec sleep infinity", nix.toString(), own.toString(), FLEET.toString());
        pb.redirectError(base.resolve("holder.log").toFile());
        Process holder = pb.start();
        String ready = new String(holder.getInputStream().readNBytes(6), StandardCharsets.UTF_8);
        if (!ready.equals("ready\n")) {
            holder.destroyForcibly();
            throw new IOException("the remote machine's namespaces could not be made: "
                    + Files.readString(base.resolve("holder.log")));
        }
        long child = holder.toHandle().children().findFirst().orElseThrow().pid();
        int net = ThreadLocalRandom.current().nextInt(1, 16000);
        String prefix = "10.231." + (net / 64) + "." + (net % 64) * 4;
        String hostAddr = prefix.substring(0, prefix.lastIndexOf('.') + 1) + ((net % 64) * 4 + 1);
        String address = prefix.substring(0, prefix.lastIndexOf('.') + 1) + ((net % 64) * 4 + 2);
        String suffix = Integer.toString(net, 36);
        String hostIf = "clih" + suffix;
        RemoteMachine m = new RemoteMachine(base, alias, holder, child, hostIf, address);
        try {
            run("/usr/sbin/ip", "link", "add", hostIf, "type", "veth", "peer", "name", "clir" + suffix, "netns",
                    Long.toString(child));
            run("/usr/sbin/ip", "addr", "add", hostAddr + "/30", "dev", hostIf);
            run("/usr/sbin/ip", "link", "set", hostIf, "up");
            m.inside("/usr/sbin/ip", "link", "set", "lo", "up");
            m.inside("/usr/sbin/ip", "addr", "add", address + "/30", "dev", "clir" + suffix);
            m.inside("/usr/sbin/ip", "link", "set", "clir" + suffix, "up");
            m.inside("/usr/bin/nix-store", "--init");
            m.keysAndConfig();
            m.startSshd();
            m.installDemo();
            m.writeEngine();
        } catch (Exception | AssertionError e) {
            m.close();
            throw e;
        }
        return m;
    }

    public Path base() {
        return base;
    }

    /** Its ssh host key as nix's machine list wants it (base64 of the public key line). */
    public String hostKeyBase64() throws IOException {
        return java.util.Base64.getEncoder().encodeToString(Files.readString(ssh.resolve("host_ed25519.pub"))
                .strip().getBytes(StandardCharsets.UTF_8));
    }

    /** The operator's private key that its root accepts. */
    public Path operatorKey() {
        return ssh.resolve("id_ed25519");
    }

    /** Its address on the veth pair. */
    public String address() {
        return address;
    }

    /** The demo system installed into its own store, with its paths as they are inside it ({@link #onHost}). */
    public DemoSystem demo() {
        return demo;
    }

    /** Its ssh alias. */
    public String alias() {
        return alias;
    }

    /** Where a path of its demo system is seen from this machine. */
    public Path onHost(Path inside) {
        return inside.startsWith(FLEET) ? base.resolve("fleet").resolve(FLEET.relativize(inside)) : inside;
    }

    /** The operator's ssh config: the alias {@value #ALIAS}, the test's key, its host key pinned. */
    public Path sshConfig() {
        return ssh.resolve("config");
    }

    /** The engine wrapper on it (made from packaging/safe-rebuild-engine.in). */
    public String engine() {
        return base.resolve("safe-rebuild-engine").toString();
    }

    /** Its engine's settings: the demo's. */
    public String engineSettings() {
        return demo.settingsFile().toString();
    }

    /** Its engine's settings with some changed (confirmSeconds, …), as another root-only file on it. */
    public String engineSettings(Map<String, Object> changes) throws IOException {
        Map<String, Object> s = new java.util.LinkedHashMap<>(demo.settings());
        s.putAll(changes);
        Path f = base.resolve("engine-" + Integer.toHexString(changes.hashCode()) + ".json");
        Files.writeString(f, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(s));
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        return f.toString();
    }

    /**
     * Settings for an engine on this machine that builds the target's configurations (its config
     * dirs, as seen from here; they fit every machine of the fleet).
     */
    public Path buildMachineSettings(Path dir) throws IOException {
        Map<String, Object> s = new java.util.LinkedHashMap<>();
        s.put("configDirs", demo.configDirs().stream().map(p -> onHost(p).toString()).toList());
        s.put("plans", List.of("debian-test"));
        s.put("stateDir", dir.resolve("state").toString());
        s.put("systemProfile", dir.resolve("profiles/system").toString());
        s.put("currentSystem", dir.resolve("run/current-system").toString());
        s.put("bootedSystem", dir.resolve("run/booted-system").toString());
        s.put("auditLog", dir.resolve("log/audit.jsonl").toString());
        s.put("minFreeBytes", 64L * 1024 * 1024);
        s.put("nixOptions", DemoSystem.NIX_OPTIONS);
        Files.createDirectories(dir);
        Path f = dir.resolve("build-machine.json");
        Files.writeString(f, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(s));
        return f;
    }

    /**
     * Runs a command inside the machine (its mount and network namespaces, its root and working
     * directory) and returns its stdout. {@code --root --wd}: where the tests run in a chroot (as in
     * {@code ../shared/tools/fresh-machine}), entering the mount namespace alone would land at that
     * namespace's own root — the host's real one — outside the machine.
     */
    public String inside(String... argv) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/nsenter", "-t", Long.toString(pid), "-m", "-n",
                "--root", "--wd", "--"));
        cmd.addAll(List.of(argv));
        return run(cmd.toArray(String[]::new));
    }

    /** Whether a store path is in the machine's own store. */
    public boolean storeHas(String storePath) throws IOException, InterruptedException {
        return inside("/bin/sh", "-c", "if nix-store --check-validity \"$0\" 2>/dev/null; then echo valid; fi",
                storePath).strip().equals("valid");
    }

    /** The store path its running-system link points at. */
    public String running() {
        return DemoSystem.target(onHost(demo.currentSystem())).orElse(null);
    }

    /** sshd ends every connection it serves (its per-connection processes are killed), as a restart of sshd or a crash of the session would. */
    public int killSessions() throws IOException, InterruptedException {
        List<ProcessHandle> sessions = sshd.toHandle().children().toList();
        for (ProcessHandle h : sessions) {
            h.destroyForcibly();
        }
        return sessions.size();
    }

    /** The link goes down: no packet passes any more, nothing is closed cleanly. */
    public void cutLink() throws IOException, InterruptedException {
        run("/usr/sbin/ip", "link", "set", hostIf, "down");
    }

    public void restoreLink() throws IOException, InterruptedException {
        run("/usr/sbin/ip", "link", "set", hostIf, "up");
    }

    /** Waits (generously) until the machine's running system is {@code storePath}. */
    public void awaitRunning(String storePath, Duration within) throws InterruptedException {
        Instant end = Instant.now().plus(within);
        while (Instant.now().isBefore(end)) {
            if (storePath.equals(running())) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the target's running system is still " + running() + ", not " + storePath
                + " after " + within);
    }

    private void keysAndConfig() throws IOException, InterruptedException {
        run("/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", alias + "-host", "-f",
                ssh.resolve("host_ed25519").toString());
        run("/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "operator", "-f",
                ssh.resolve("id_ed25519").toString());
        Files.copy(ssh.resolve("id_ed25519.pub"), ssh.resolve("authorized_keys"));
        String hostKey = Files.readString(ssh.resolve("host_ed25519.pub")).strip();
        Files.writeString(ssh.resolve("known_hosts"), address + " " + hostKey.substring(0, hostKey.lastIndexOf(' '))
                + "\n");
        Files.writeString(ssh.resolve("sshd_config"), String.join("\n",
                "ListenAddress " + address + ":22",
                "HostKey " + ssh.resolve("host_ed25519"),
                "AuthorizedKeysFile " + ssh.resolve("authorized_keys"),
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                // The test's files live under /tmp (1777); the keys themselves are root's 0600.
                "StrictModes no",
                "PidFile " + base.resolve("sshd.pid"),
                "PrintMotd no",
                "AllowUsers root",
                // What its nix does when another machine hands it a build (nix-store --serve, as a
                // remote builder): the demo's settings, from a file of its own (the machine has no
                // nix.conf, and this one's must not be written).
                "SetEnv NIX_USER_CONF_FILES=" + base.resolve("nix.conf"),
                ""));
        Files.writeString(base.resolve("nix.conf"), new java.util.TreeMap<>(DemoSystem.NIX_OPTIONS).entrySet().stream()
                .map(e -> e.getKey() + " = " + e.getValue() + "\n").collect(java.util.stream.Collectors.joining()));
        Files.writeString(ssh.resolve("config"), String.join("\n",
                "Host " + alias,
                "  HostName " + address,
                "  User root",
                "  IdentityFile " + ssh.resolve("id_ed25519"),
                "  IdentitiesOnly yes",
                "  UserKnownHostsFile " + ssh.resolve("known_hosts"),
                "  GlobalKnownHostsFile /dev/null",
                "  StrictHostKeyChecking yes",
                "  ConnectTimeout 10",
                ""));
    }

    private void startSshd() throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/nsenter", "-t", Long.toString(pid), "-m", "-n", "--root",
                "--wd", "--",
                "/usr/sbin/sshd", "-D", "-f", ssh.resolve("sshd_config").toString(), "-E",
                base.resolve("sshd.log").toString());
        pb.redirectErrorStream(true);
        pb.redirectOutput(base.resolve("sshd.out").toFile());
        sshd = pb.start();
        // sshd -D replaces nsenter (exec): the process we hold is sshd. Wait until it listens.
        Instant end = Instant.now().plusSeconds(20);
        while (Instant.now().isBefore(end)) {
            if (inside("/bin/sh", "-c", "cat /proc/net/tcp").contains(":0016 ")) {
                return;
            }
            if (!sshd.isAlive()) {
                break;
            }
            Thread.sleep(100);
        }
        throw new IOException("sshd did not start: " + readQuietly(base.resolve("sshd.log"))
                + readQuietly(base.resolve("sshd.out")));
    }

    private void installDemo() throws IOException, InterruptedException {
        Path root = FLEET.resolve("demo");
        inside(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), "org.saferebuild.demo.DemoSystem", "install", root.toString());
        demo = DemoSystem.open(root, onHost(root));
    }

    /** The installed wrapper, made from the same template as the packages, over this run's class path. */
    private void writeEngine() throws IOException {
        Path template = Path.of("..", "packaging", "safe-rebuild-engine.in");
        String text = Files.readString(template)
                .replace("@BASH@", "/bin/bash").replace("@ENV@", "/usr/bin/env")
                .replace("@JAVA@", Path.of(System.getProperty("java.home"), "bin", "java").toString())
                .replace("@CLASSPATH@", System.getProperty("java.class.path"));
        Path engine = base.resolve("safe-rebuild-engine");
        Files.writeString(engine, text);
        Files.setPosixFilePermissions(engine, PosixFilePermissions.fromString("r-xr-xr-x"));
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }

    private static String run(String... argv) throws IOException, InterruptedException {
        return Nix.run(argv);
    }

    @Override
    public void close() throws Exception {
        if (sshd != null) {
            sshd.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            sshd.destroy();
            sshd.waitFor(10, TimeUnit.SECONDS);
        }
        holder.toHandle().descendants().forEach(ProcessHandle::destroy);
        holder.destroy();
        if (!holder.waitFor(10, TimeUnit.SECONDS)) {
            holder.destroyForcibly();
        }
        // The veth pair went with the namespace; the host end is gone too.
        try {
            run("/usr/sbin/ip", "link", "del", hostIf);
        } catch (AssertionError e) {
            // already gone, as it should be
        }
        EngineHarness.removeTree(base);
        EngineHarness.removeTree(ssh);
    }
}
