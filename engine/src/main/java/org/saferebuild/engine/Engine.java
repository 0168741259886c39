package org.saferebuild.engine;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.List;
import org.saferebuild.engine.build.BuiltSystems;
import org.saferebuild.engine.build.NixService;
import org.saferebuild.engine.inspect.InspectService;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.preflight.PreflightService;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.sandbox.SandboxManager;
import org.saferebuild.engine.sandbox.WorkDirs;
import org.saferebuild.engine.sys.Posix;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.InspectRequest;
import org.saferebuild.protocol.NixRequest;
import org.saferebuild.protocol.Protocol;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.SandboxRequest;
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
    private final BuiltSystems builtSystems;
    private final NixService nix;
    private final InspectService inspect;
    private final Operations operations = new Operations();
    /** Work that must finish before the engine exits, even when the app is gone (an apply, a revert timer). */
    private final List<Runnable> beforeExit = new CopyOnWriteArrayList<>();

    /**
     * @param launchEnv the only inherited variables the engine reads: PKEXEC_UID and SUDO_UID
     */
    public Engine(EngineConfig config, Map<String, String> launchEnv) {
        this.config = config;
        this.launchEnv = Map.copyOf(launchEnv);
        this.tools = new Tools(config.toolDirs());
        this.nixEnv = new NixEnv(config);
        this.sandboxes = new SandboxManager(config, tools);
        this.preflight = new PreflightService(config, tools, nixEnv);
        this.builtSystems = new BuiltSystems(config, tools, nixEnv);
        this.nix = new NixService(config, nixEnv, sandboxes, builtSystems);
        this.inspect = new InspectService(config, tools, nixEnv, builtSystems);

        operations.register(Request.Preflight.class, preflight::run)
                .register(SandboxRequest.Open.class, sandboxes::open)
                .register(SandboxRequest.Mounts.class, (r, ctx) -> sandboxes.mounts(r))
                .register(SandboxRequest.Close.class, sandboxes::close)
                .register(NixRequest.Validate.class, nix::validate)
                .register(NixRequest.Build.class, nix::build)
                .register(InspectRequest.Inspect.class, inspect::inspect)
                .register(InspectRequest.Compare.class, inspect::compare);
    }

    /** Creates the state directory and removes what a killed engine left behind. */
    public void start() throws Problem, IOException {
        WorkDirs.ensurePrivateDir(config.state());
        WorkDirs.ensurePrivateDir(nixEnv.home());
        // Never follow a link on the engine's own paths (issue 6): GC roots and the audit log's directory too.
        WorkDirs.ensurePrivateDir(config.state().resolve("gcroots"));
        WorkDirs.ensurePrivateDir(java.nio.file.Path.of(config.auditLog()).getParent());
        sandboxes.sweepStale();
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

    /** The systems this engine built (GC roots); apply accepts only these or profile generations. */
    public BuiltSystems builtSystems() {
        return builtSystems;
    }

    /** Inspect and compare systems; apply and rollback use {@link InspectService#compare}. */
    public InspectService inspect() {
        return inspect;
    }

    public Operations operations() {
        return operations;
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
        int euid = Posix.effectiveUid();
        int nameUid = operatorUid != null ? operatorUid : Posix.statusIds("Uid:")[0];
        String name = Posix.userName(nameUid).orElse(null);
        return new Event.Welcome(id, version(), Protocol.VERSION, euid, operatorUid, name, via,
                operations.names());
    }

    /** The app went away: stop everything it started that must not outlive it. */
    void connectionEnded() {
        sandboxes.closeAll();
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
