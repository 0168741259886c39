package org.saferebuild.engine.preflight;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.saferebuild.engine.ConfigDirs;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sys.DiskSpace;
import org.saferebuild.engine.sys.Posix;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.PreflightReport.Check;
import org.saferebuild.protocol.PreflightReport.ConfigKind;
import org.saferebuild.protocol.PreflightReport.Status;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.Values;

/**
 * What must be true before anything runs, and the runbook's "Common Issues" as checks that say
 * what to do: root, namespaces, tools, free space, /run/systemd, the configuration directory.
 */
public final class PreflightService {
    /** Tools without which no sandbox can open or nothing can be built. */
    static final List<String> REQUIRED_TOOLS = List.of("unshare", "nsenter", "chroot", "mount", "umount", "cat", "env",
            "nix", "nix-store", "nix-env");
    private static final Pattern NIX_VERSION = Pattern.compile("(\\d+)\\.(\\d+)(?:\\.(\\d+))?");
    private static final Path NIX_STORE = Path.of("/nix/store");
    private static final Path NIX_DB = Path.of("/nix/var/nix/db");
    private static final Path NIX_CONF = Path.of("/etc/nix/nix.conf");
    private static final Path USERNS_SYSCTL = Path.of("/proc/sys/kernel/unprivileged_userns_clone");

    private final EngineConfig config;
    private final Tools tools;
    private final NixEnv nixEnv;

    public PreflightService(EngineConfig config, Tools tools, NixEnv nixEnv) {
        this.config = config;
        this.tools = tools;
        this.nixEnv = nixEnv;
    }

    public PreflightReport run(Request.Preflight request, OpContext ctx) throws Problem {
        String dir = request.configDir() == null ? config.defaultConfigDir() : request.configDir();
        ConfigDirs.check(config, dir); // the one rule for configuration directories (issue 11)
        List<Check> checks = new ArrayList<>();
        int euid = Posix.effectiveUid();
        checks.add(euid == 0
                ? new Check("root", Status.PASS, "The engine runs as root (uid 0).", null)
                : new Check("root", Status.FAIL, "Permission denied: the engine runs as uid " + euid + ", not root.",
                        "Start the engine through pkexec (the app does this) or with sudo."));

        ctx.progress("preflight", "Checking tools", null, null);
        List<PreflightReport.Tool> toolReport = new ArrayList<>();
        for (String name : Tools.KNOWN) {
            Optional<Path> p = tools.find(name);
            toolReport.add(new PreflightReport.Tool(name, p.map(Path::toString).orElse(null), tools.candidates(name)));
        }
        List<String> missing = toolReport.stream()
                .filter(t -> t.path() == null && REQUIRED_TOOLS.contains(t.name()))
                .map(PreflightReport.Tool::name).toList();
        checks.add(missing.isEmpty()
                ? new Check("tools", Status.PASS, "unshare, nsenter, chroot, mount and nix were found.", null)
                : new Check("tools", Status.FAIL, "Missing: " + String.join(", ", missing) + ".",
                        "Install them (util-linux, coreutils, nix); the engine looked in "
                                + String.join(", ", tools.dirs()) + "."));

        ctx.progress("preflight", "Checking namespaces", null, null);
        PreflightReport.Namespaces ns = namespaces();
        checks.add(ns.unshareWorks()
                ? new Check("namespaces", Status.PASS, "Mount, PID and network namespaces can be created.", null)
                : new Check("namespaces", Status.FAIL, "Permission denied creating namespaces: " + ns.detail(),
                        "Run the engine as root. Check the kernel: cat /proc/sys/kernel/unprivileged_userns_clone"
                                + " (should be 1 where it exists) and that /proc/self/ns lists mnt, pid and net."));

        String nixVersion = nixVersion();
        checks.add(nixCheck(nixVersion));
        if (nixVersion != null) {
            ctx.progress("preflight", "Checking how Nix is set up", null, null);
            checks.addAll(nixSetup());
        }

        ctx.progress("preflight", "Checking free space", null, null);
        List<PreflightReport.Disk> disks = new ArrayList<>();
        disks.add(DiskSpace.measure("Nix store", Path.of("/nix/store"), config.minFreeBytes()));
        disks.add(DiskSpace.measure("work directory", config.state(), config.minFreeBytes()));
        for (PreflightReport.Disk d : disks) {
            checks.add(d.ok()
                    ? new Check("space:" + d.label(), Status.PASS, "Free on " + d.label() + " (" + d.path() + "): "
                            + DiskSpace.human(d.freeBytes()) + " of " + DiskSpace.human(d.totalBytes()) + "; needed "
                            + DiskSpace.human(d.thresholdBytes()) + ".", null)
                    : new Check("space:" + d.label(), Status.FAIL, DiskSpace.shortage(d), DiskSpace.FIX));
        }

        boolean runSystemd = Files.isDirectory(Path.of("/run/systemd"));
        checks.add(runSystemd
                ? new Check("/run/systemd", Status.PASS, "/run/systemd exists and is bound into the sandbox.", null)
                : new Check("/run/systemd", Status.WARN, "/run/systemd is missing: systemd is not running here.",
                        "Builds that talk to systemd will fail inside the sandbox; services cannot be verified"
                                + " after apply. On NixOS this means the system did not boot with systemd."));

        ctx.progress("preflight", "Reading the configuration", null, null);
        PreflightReport.ConfigDir cfg = configDir(dir);
        checks.add(switch (cfg.kind()) {
            case FLAKE -> cfg.error() == null
                    ? new Check("configuration", Status.PASS, dir + " is a flake declaring "
                            + (cfg.hosts().isEmpty() ? "no hosts" : String.join(", ", cfg.hosts())) + ".", null)
                    : new Check("configuration", Status.FAIL, dir + " is a flake, but its hosts could not be listed: "
                            + cfg.error(), "Fix the evaluation error; nix eval " + dir
                            + "#nixosConfigurations shows it in full.");
            case CLASSIC -> new Check("configuration", Status.PASS, dir + " has a classic configuration.nix.", null);
            case NONE -> new Check("configuration", Status.FAIL, cfg.present()
                    ? dir + " has neither flake.nix nor configuration.nix."
                    : dir + " does not exist.", "Point the engine at your NixOS configuration directory.");
        });
        return new PreflightReport(euid, ns, toolReport, nixVersion, disks, cfg, checks);
    }

    private PreflightReport.Namespaces namespaces() {
        Integer sysctl = null;
        if (Files.exists(USERNS_SYSCTL)) {
            try {
                sysctl = Integer.parseInt(Files.readString(USERNS_SYSCTL).strip());
            } catch (IOException | NumberFormatException e) {
                sysctl = null;
            }
        }
        List<String> available;
        try (var s = Files.list(Path.of("/proc/self/ns"))) {
            available = s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            available = List.of();
        }
        Optional<Path> unshare = tools.find("unshare");
        Optional<Path> truePath = tools.find("true");
        if (unshare.isEmpty() || truePath.isEmpty()) {
            return new PreflightReport.Namespaces(sysctl, available, false, "unshare was not found");
        }
        try {
            Exec.Outcome o = Exec.run(Command.of(unshare.get(), "--mount", "--pid", "--net", "--fork",
                    "--propagation", "private", "--", truePath.get().toString()).timeout(Duration.ofSeconds(10)).build());
            return new PreflightReport.Namespaces(sysctl, available, o.ok(),
                    o.ok() ? "unshare --mount --pid --net --fork works" : o.stderr().strip());
        } catch (IOException e) {
            return new PreflightReport.Namespaces(sysctl, available, false, e.getMessage());
        }
    }

    private String nixVersion() {
        Optional<Path> nix = tools.find("nix");
        if (nix.isEmpty()) {
            return null;
        }
        try {
            Exec.Outcome o = Exec.run(Command.of(nix.get(), "--version").env(nixEnv.hostEnv())
                    .timeout(Duration.ofSeconds(20)).build());
            return o.ok() ? o.stdout().strip() : null;
        } catch (IOException e) {
            return null;
        }
    }

    static Check nixCheck(String version) {
        if (version == null) {
            return new Check("nix", Status.FAIL, "nix did not report a version.",
                    "Install Nix 2.8 or newer (on Debian: apt-get install nix-bin).");
        }
        Matcher m = NIX_VERSION.matcher(version);
        if (m.find()) {
            int major = Integer.parseInt(m.group(1));
            int minor = Integer.parseInt(m.group(2));
            if (major > 2 || (major == 2 && minor >= 8)) {
                return new Check("nix", Status.PASS, version + ".", null);
            }
        }
        return new Check("nix", Status.FAIL, version + " is older than Nix 2.8.", "Upgrade Nix to 2.8 or newer.");
    }

    /**
     * How Nix is set up on this machine, the runbook's "Common Issues" for a machine where Nix was
     * installed as a package but never set up: its store, its nix.conf, its build users.
     */
    private List<Check> nixSetup() {
        List<Check> out = new ArrayList<>();
        out.add(Files.isDirectory(NIX_STORE) && Files.isDirectory(NIX_DB)
                ? new Check("nix store", Status.PASS, "The Nix store " + NIX_STORE + " and its database " + NIX_DB
                        + " exist.", null)
                : new Check("nix store", Status.FAIL, "The Nix store is missing (" + (Files.isDirectory(NIX_STORE)
                        ? NIX_DB : NIX_STORE) + " does not exist): Nix was installed but never set up on this machine.",
                        "Set Nix up as its multi-user installer does: create the nixbld group and its build users,"
                                + " then run nix-store --init as root (on a test machine script/test and script/demo"
                                + " do both). On NixOS the store always exists; this host is not NixOS."));
        String passed = config.nixOptions().isEmpty() ? ""
                : " The engine passes its own settings to nix on the command line: " + nixEnv.describeOptions() + ".";
        out.add(Files.isRegularFile(NIX_CONF)
                ? new Check("nix configuration", Status.PASS, "nix reads " + NIX_CONF
                        + "; Safe Rebuild never changes it." + passed, null)
                : new Check("nix configuration", Status.WARN, "There is no " + NIX_CONF
                        + ": nix runs with its built-in defaults (build sandbox on, build users from the group nixbld)."
                        + passed, "On a Debian test machine this is normal (nix-bin installs no nix.conf). On NixOS,"
                        + " /etc/nix/nix.conf comes from nix.settings: a NixOS host without it did not finish"
                        + " activating; boot the previous generation and rebuild."));
        out.add(buildUsers());
        return out;
    }

    /** The build users group nix will use (its settings with the engine's options) must exist and have members. */
    private Check buildUsers() {
        String group;
        try {
            Exec.Outcome o = Exec.run(Command.of(tools.require("nix")).args(nixEnv.flakeArgs())
                    .args("show-config", "--json").env(nixEnv.hostEnv()).timeout(Duration.ofSeconds(20)).build());
            if (!o.ok()) {
                return new Check("nix build users", Status.WARN, "nix did not show its settings: "
                        + NixEnv.firstError(o.stderr()), "Run nix show-config as root to see what is wrong.");
            }
            com.fasterxml.jackson.databind.JsonNode n = Json.mapper().readTree(o.stdout()).path("build-users-group");
            group = (n.isObject() ? n.path("value") : n).asText("");
        } catch (IOException | Problem e) {
            return new Check("nix build users", Status.WARN, "nix did not show its settings: " + e.getMessage(),
                    "Run nix show-config as root to see what is wrong.");
        }
        if (group.isEmpty()) {
            return new Check("nix build users", Status.PASS, "nix builds as root (build-users-group is empty).", null);
        }
        Optional<List<String>> members = Posix.groupMembers(group);
        String fix = "Create the build users as Nix's multi-user installer does: groupadd --system nixbld, then for"
                + " n in 1..32: useradd --system --no-create-home --home-dir /var/empty --shell /usr/sbin/nologin"
                + " --gid nixbld --groups nixbld nixbld$n (on a test machine script/test and script/demo do this).";
        if (members.isEmpty()) {
            return new Check("nix build users", Status.FAIL, "the group '" + group + "' specified in"
                    + " 'build-users-group' does not exist: every build would fail.", fix);
        }
        if (members.get().isEmpty()) {
            return new Check("nix build users", Status.FAIL, "the group '" + group + "' specified in"
                    + " 'build-users-group' has no members: every build would fail.", fix);
        }
        return new Check("nix build users", Status.PASS, "Builds run as the " + members.get().size()
                + " build users of the group " + group + ".", null);
    }

    private PreflightReport.ConfigDir configDir(String dir) {
        Path p = Path.of(dir);
        if (!Files.isDirectory(p)) {
            return new PreflightReport.ConfigDir(dir, false, ConfigKind.NONE, List.of(), null);
        }
        if (Files.isRegularFile(p.resolve("flake.nix"))) {
            try {
                return new PreflightReport.ConfigDir(dir, true, ConfigKind.FLAKE, flakeHosts(dir), null);
            } catch (Problem e) {
                return new PreflightReport.ConfigDir(dir, true, ConfigKind.FLAKE, List.of(), e.getMessage());
            }
        }
        if (Files.isRegularFile(p.resolve("configuration.nix"))) {
            return new PreflightReport.ConfigDir(dir, true, ConfigKind.CLASSIC, List.of(), null);
        }
        return new PreflightReport.ConfigDir(dir, true, ConfigKind.NONE, List.of(), null);
    }

    /** Host names under nixosConfigurations, by evaluating only the attribute names (nothing is built). */
    public List<String> flakeHosts(String dir) throws Problem {
        Path nix = tools.require("nix");
        try {
            Exec.Outcome o = Exec.run(Command.of(nix).args(nixEnv.flakeArgs())
                    .args("eval").args(NixEnv.lockArgs())
                    .args("--json", "path:" + dir + "#nixosConfigurations", "--apply", "builtins.attrNames")
                    .env(nixEnv.hostEnv()).timeout(Duration.ofMinutes(2)).build());
            if (!o.ok()) {
                throw new Problem(org.saferebuild.protocol.ProblemCode.EVALUATION_FAILED,
                        NixEnv.firstError(o.stderr()), "Fix the flake so that nixosConfigurations evaluates.");
            }
            String[] names = Json.mapper().readValue(o.stdout(), String[].class);
            return List.of(names).stream().filter(Values::isHostName).sorted().toList();
        } catch (IOException e) {
            throw Problem.internal("could not run nix eval: " + e.getMessage(), e);
        }
    }
}
