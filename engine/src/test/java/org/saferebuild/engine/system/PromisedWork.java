package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.audit.AuditLog;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.SystemRequest.Mode;

/**
 * For script/bench apply (not a test): the work an apply + confirm promises besides nix-env and the
 * activation, done in the benchmark's own process with the engine's classes, without the engine,
 * its protocol or its threads. What it costs is the least any engine keeping the same promises
 * could add to the peer's two steps:
 * <ul>
 *   <li>before: the audit intent and then pending.json on another thread, while the closure is
 *       read from the store's database and its contents are walked on this one (as ApplyService);</li>
 *   <li>after: pending.json with the deadline, the apply's outcome; the confirm's intent, pending.json
 *       removed for good, its outcome (five durable writes, one after the other).</li>
 * </ul>
 * {@link #afterWithTwoWrites} is not a promise the engine keeps: the outcome alone (as if it carried
 * the deadline) and the confirm as one record, pending.json unlinked unsynced. It shows what
 * relaxing issue 11's "intent before, outcome after, every privileged action" for the confirm
 * would be worth.
 */
public final class PromisedWork implements AutoCloseable {
    private final Closures closures;
    private final AuditLog log;
    private final PendingApplyStore store;
    private final SystemProfile profile;
    private final ExecutorService alongside = Executors.newSingleThreadExecutor();
    private final AuditRecord.Who who = new AuditRecord.Who(0, "root", "bench");
    private PendingApply pending;

    /** {@code config}: an engine's settings with a state directory and audit trail of its own. */
    public PromisedWork(Path config) throws Problem, IOException {
        EngineConfig c = EngineConfig.load(config);
        Tools tools = new Tools(c.toolDirs());
        NixEnv nixEnv = new NixEnv(c);
        this.closures = new Closures(c, tools, nixEnv);
        this.log = new AuditLog(Path.of(c.auditLog()), c.state());
        Path applyDir = c.state().resolve("apply");
        Files.createDirectories(applyDir);
        this.store = new PendingApplyStore(applyDir.resolve("pending.json"));
        this.profile = new SystemProfile(Path.of(c.systemProfile()), tools, nixEnv);
    }

    /** Before nix-env: intent, then pending.json, alongside the closure's and its contents' check; ns. */
    public long before(String target) throws Exception {
        long t = System.nanoTime();
        Future<?> written = alongside.submit(() -> {
            log.append(entry("apply", "started"));
            pending = new PendingApply(1, Mode.SWITCH, target, 1, target, target, null, false,
                    PendingApply.Phase.ACTIVATING, null, null, who, ProcessHandle.current().pid(), null,
                    profile.numbers(), PendingApply.APPLY, false);
            store.save(pending);
            return null;
        });
        List<String> paths = closures.requireComplete(target, target);
        if (closures.contentsChanged(paths).isPresent()) {
            throw new IllegalStateException("the closure of " + target + " was changed");
        }
        written.get();
        return System.nanoTime() - t;
    }

    /**
     * After the activation, as the engine promises: five durable writes; [the first one (it commits
     * what nix-env and the activation wrote too), all five] in ns.
     */
    public long[] after() throws Exception {
        long t = System.nanoTime();
        store.save(pending.awaiting(Instant.now().plusSeconds(120), 120));
        long first = System.nanoTime() - t;
        log.append(entry("apply", "ok"));
        log.append(entry("confirm", "started"));
        store.clear();
        log.append(entry("confirm", "ok"));
        return new long[] {first, System.nanoTime() - t};
    }

    /** After the activation with two durable writes (not what the engine promises; see above). */
    public void afterWithTwoWrites() throws Exception {
        log.append(entry("apply", "ok"));
        log.append(entry("confirm", "ok"));
        Files.delete(store.file());
    }

    private AuditLog.Entry entry(String what, String outcome) {
        return new AuditLog.Entry(who, what, Json.mapper().createObjectNode().put("mode", "SWITCH"), 1, 2, outcome,
                null, outcome.equals("started") ? null : "Activated generation 2.");
    }

    @Override
    public void close() {
        alongside.shutdownNow();
    }
}
