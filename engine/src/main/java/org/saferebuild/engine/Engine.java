package org.saferebuild.engine;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.List;
import java.nio.file.Path;
import org.saferebuild.engine.audit.AuditLog;
import org.saferebuild.engine.audit.AuditService;
import org.saferebuild.engine.audit.AuditTrail;
import org.saferebuild.engine.build.BuiltSystems;
import org.saferebuild.engine.inspect.InspectService;
import org.saferebuild.engine.build.NixService;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.preflight.PreflightService;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sandbox.SandboxManager;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.Posix;
import org.saferebuild.engine.system.AdoptService;
import org.saferebuild.engine.system.Activation;
import org.saferebuild.engine.system.ApplyService;
import org.saferebuild.engine.system.BaselineService;
import org.saferebuild.engine.system.Closures;
import org.saferebuild.engine.system.GenerationsService;
import org.saferebuild.engine.system.SystemProfile;
import org.saferebuild.engine.system.VerifyService;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.InspectRequest;
import org.saferebuild.protocol.NixRequest;
import org.saferebuild.protocol.Protocol;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SystemRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root: settings, tools, services, and the fixed operation table. One runbook
 * step per operation.
 */
public final class Engine {
    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

    private final EngineConfig config;
    private final Map<String, String> launchEnv;
    private final Tools tools;
    private final NixEnv nixEnv;
    private final SandboxManager sandboxes;
    private final PreflightService preflight;
    private final SystemProfile profile;
    private final AuditTrail audit;
    private final ApplyService apply;
    private final InspectService inspect;
    private final BuiltSystems builtSystems;
    private final NixService nix;
    private final Closures closures;
    private final Operations operations = new Operations();
    /** Work that must finish before the engine exits, even when the app is gone (an apply, a revert timer). */
    private final List<Runnable> beforeExit = new CopyOnWriteArrayList<>();

    /**
     * @param launchEnv the only inherited variables the engine reads: PKEXEC_UID, SUDO_UID and SSH_CONNECTION (only to say "ssh")
     */
    public Engine(EngineConfig config, Map<String, String> launchEnv) {
        this.config = config;
        this.launchEnv = Map.copyOf(launchEnv);
        this.tools = new Tools(config.toolDirs());
        this.nixEnv = new NixEnv(config);
        this.sandboxes = new SandboxManager(config, tools);
        this.preflight = new PreflightService(config, tools, nixEnv);
        this.builtSystems = new org.saferebuild.engine.build.BuiltSystems(config, tools, nixEnv);
        org.saferebuild.engine.build.BuildHistory buildHistory = new org.saferebuild.engine.build.BuildHistory(
                config.state());
        this.nix = new NixService(config, nixEnv, sandboxes, builtSystems, buildHistory);
        org.saferebuild.engine.preflight.ConfigCatalog catalog = new org.saferebuild.engine.preflight.ConfigCatalog(
                config, preflight, buildHistory);
        this.inspect = new InspectService(config, tools, nixEnv, builtSystems);

        this.profile = new SystemProfile(Path.of(config.systemProfile()), tools, nixEnv);
        this.audit = new AuditTrail(new AuditLog(Path.of(config.auditLog()), config.state()),
                () -> profile.current().orElse(null));
        this.closures = new Closures(config, tools, nixEnv);
        Activation activation = new Activation(config, tools);
        this.apply = new ApplyService(config, profile, closures, activation, builtSystems, audit, tools, nixEnv);
        BaselineService baselines = new BaselineService(config, profile, activation, tools);
        VerifyService verify = new VerifyService(config, profile, activation, baselines, apply, tools);
        GenerationsService generations = new GenerationsService(config, profile, closures, tools, nixEnv);
        AuditService audits = new AuditService(audit);
        AdoptService adopt = new AdoptService(tools, nixEnv,
                closures, activation, builtSystems);
        beforeExit(apply::awaitIdle);

        // register(): privileged, recorded in the audit trail by the dispatcher; query(): only reads.
        operations.query(Request.Preflight.class, preflight::run)
                .query(Request.Configs.class, catalog::list)
                .register(SandboxRequest.Open.class, sandboxes::open)
                .query(SandboxRequest.Mounts.class, (r, ctx) -> sandboxes.mounts(r))
                .registerFollowUp(SandboxRequest.Close.class, sandboxes::close)
                .register(NixRequest.Validate.class, nix::validate)
                // what the operator may apply next is hashed ahead, in the background (docs/apply.md)
                .register(NixRequest.Build.class, (r, ctx) -> checkAhead(nix.build(r, ctx),
                        b -> java.util.stream.Stream.ofNullable(b.storePath()).toList()))
                .register(SystemRequest.Baseline.class, baselines::take)
                // a system built elsewhere and copied here (nix copy), checked and kept (docs/remote.md)
                .register(SystemRequest.Adopt.class, adopt::adopt)
                .registerChecksFirst(SystemRequest.Apply.class, apply::apply)
                .registerFollowUp(SystemRequest.Confirm.class, apply::confirm)
                .registerFollowUp(SystemRequest.Revert.class, apply::revert)
                .query(SystemRequest.ApplyStatus.class, apply::status)
                .register(SystemRequest.Verify.class, verify::verify)
                .query(SystemRequest.Generations.class, (r, ctx) -> checkAhead(generations.list(r, ctx),
                        GenerationsService::likelyRollbackTargets))
                .register(SystemRequest.Pin.class, generations::pin)
                .register(SystemRequest.Unpin.class, generations::unpin)
                .registerChecksFirst(SystemRequest.Rollback.class, apply::rollback)
                .query(SystemRequest.Signoff.class, audits::signoff) // the sign-off writes its own line
                .query(SystemRequest.AuditRead.class, audits::read)
                .query(SystemRequest.AuditVerify.class, audits::verify)
                .query(SystemRequest.AuditAcknowledge.class, audits::acknowledge) // writes its own record
                .query(InspectRequest.Inspect.class, (r, ctx) -> checkAhead(inspect.inspect(r, ctx),
                        i -> List.of(i.system().path())))
                // compare runs the new system's switch-to-configuration dry-activate as root
                .register(InspectRequest.Compare.class, (r, ctx) -> checkAhead(inspect.compare(r, ctx),
                        c -> List.of(c.to().path())));
    }

    /**
     * The result as it is; the systems it names get their closures hashed ahead, in the background
     * (Closures.checkInBackground), so that applying one of them later only walks its files.
     */
    private <T> T checkAhead(T result, java.util.function.Function<T, List<String>> systems) {
        systems.apply(result).forEach(closures::checkInBackground);
        return result;
    }

    /** Creates the state directory and removes what a killed engine left behind. */
    public void start() throws Problem, IOException {
        WorkDirs.ensurePrivateDir(config.state());
        WorkDirs.ensurePrivateDir(nixEnv.home());
        // Never follow a link on the engine's own paths (issue 6): GC roots and the audit log's directory too.
        // The audit directory is checked here only if it exists; the first record creates it the same
        // way (AuditLog), so starting an engine never creates /var/log/safe-rebuild by itself.
        WorkDirs.ensurePrivateDir(config.state().resolve("gcroots"));
        Path auditDir = Path.of(config.auditLog()).getParent();
        if (java.nio.file.Files.exists(auditDir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            WorkDirs.ensurePrivateDir(auditDir);
        }
        sandboxes.sweepStale();
        // The trail is checked before anything is done: a broken one refuses privileged operations
        // (the handshake says so) until an operator acknowledges the break (issue 11).
        audit.check();
        apply.resume();
        inspect.prepareInBackground();
        closures.prepareInBackground();
    }

    public EngineConfig config() {
        return config;
    }

    public Tools tools() {
        return tools;
    }

    public NixEnv nixEnv() {
        return nixEnv;
    }

    public SandboxManager sandboxes() {
        return sandboxes;
    }

    /** Inspect and compare systems; apply and rollback use {@link InspectService#compare}. */
    public InspectService inspect() {
        return inspect;
    }

    /** The systems this engine built (GC roots); apply accepts only these or profile generations. */
    public org.saferebuild.engine.build.BuiltSystems builtSystems() {
        return builtSystems;
    }

    public Operations operations() {
        return operations;
    }

    public AuditTrail audit() {
        return audit;
    }

    /** The app is connected: unsolicited notices (the confirm-or-revert countdown) go to it. */
    void attach(EventSink sink) {
        apply.attach(sink);
    }

    /** Who the audit trail names for a connection: the handshake's operator, or the engine's own user. */
    static AuditRecord.Who operator(Event.Welcome w) {
        int uid = w.operatorUid() != null ? w.operatorUid() : Posix.realUid();
        return new AuditRecord.Who(uid, w.operatorName(), w.launchedVia());
    }

    /** Registers work the engine must wait for before it exits. */
    public void beforeExit(Runnable waitForIt) {
        beforeExit.add(waitForIt);
    }

    Event.Welcome welcome(long id) {
        Integer operatorUid = null;
        String via = "direct";
        for (String var : new String[] {"PKEXEC_UID", "SUDO_UID"}) {
            String v = launchEnv.get(var);
            if (v != null && v.matches("\\d{1,10}")) {
                operatorUid = Integer.valueOf(v);
                via = var.equals("PKEXEC_UID") ? "pkexec" : "sudo";
                break;
            }
        }
        if (operatorUid == null && sshClient(launchEnv.get("SSH_CONNECTION")) != null) {
            via = "ssh";
        }
        int euid = Posix.effectiveUid();
        int nameUid = operatorUid != null ? operatorUid : Posix.realUid();
        String name = Posix.userName(nameUid).orElse(null);
        return new Event.Welcome(id, version(), Protocol.VERSION, euid, operatorUid, name, via,
                operations.names(), audit.status());
    }

    /**
     * The client's address from sshd's {@code SSH_CONNECTION} ("client-ip client-port server-ip
     * server-port"), or null when it is absent or not of that shape.
     */
    static String sshClient(String sshConnection) {
        if (sshConnection == null
                || !sshConnection.matches("[0-9A-Fa-f.:%]{2,64} [0-9]{1,5} [0-9A-Fa-f.:%]{2,64} [0-9]{1,5}")) {
            return null;
        }
        return sshConnection.substring(0, sshConnection.indexOf(' '));
    }

    /** The app went away: stop everything it started that must not outlive it. */
    void connectionEnded() {
        sandboxes.closeAll();
        apply.appDisconnected();
    }

    /** Blocks until the work registered with {@link #beforeExit} is done. */
    void awaitCriticalWork() {
        for (Runnable r : beforeExit) {
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.error("waiting for critical work failed", e);
            }
        }
    }

    /** The engine is stopping (signal or end of main): leave nothing mounted. */
    void shutdown() {
        sandboxes.closeAll();
    }

    public static String version() {
        try (InputStream in = Engine.class.getResourceAsStream("/org/saferebuild/engine/version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "dev");
        } catch (IOException e) {
            return "dev";
        }
    }
}
