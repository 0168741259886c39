package org.saferebuild.engine.system;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.function.Consumer;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.audit.AuditLog;
import org.saferebuild.engine.audit.AuditTrail;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reverting an unconfirmed apply, whoever asked: the operator (here or through another engine),
 * the deadline, or an engine start that found one a killed engine left. It tells the app,
 * {@linkplain PutBack puts the system back} and removes pending.json; the caller releases the lock.
 */
final class Reverter {
    private static final Logger LOG = LoggerFactory.getLogger(Reverter.class);

    private final PutBack putBack;
    private final PendingApplyStore pending;
    private final ApplyNotices notices;
    private final AuditTrail audit;

    Reverter(PutBack putBack, PendingApplyStore pending, ApplyNotices notices, AuditTrail audit) {
        this.putBack = putBack;
        this.pending = pending;
        this.notices = notices;
        this.audit = audit;
    }

    /** Puts the system back; the caller sends the final notice ({@link ApplyNotices#reverted}). */
    PutBack.Recovery revert(PendingApply p, String reason, Consumer<String> lines) {
        LOG.info("reverting {}: {}", p.applied(), reason);
        notices.reverting(p, reason);
        PutBack.Recovery rec;
        try {
            rec = putBack.undo(p, true, lines);
        } finally {
            pending.clear();
        }
        return rec;
    }

    /**
     * A revert the engine does on its own: no request records it, so it writes its own audit line.
     * The caller releases the lock after this returns (an engine whose app is gone exits as soon as
     * it is free, so the line is written first).
     */
    void revertAndRecord(PendingApply p, String reason) {
        try {
            Integer before = audit.generation();
            PutBack.Recovery rec = revert(p, reason, line -> LOG.info("revert: {}", line));
            ObjectNode args = Json.mapper().createObjectNode();
            args.put("reason", reason);
            args.put("mode", p.mode().name());
            args.put("storePath", p.storePath());
            args.put("toGeneration", p.generationBefore());
            AuditRecord.Who who = p.who() == null ? new AuditRecord.Who(0, "root", "engine")
                    : new AuditRecord.Who(p.who().uid(), p.who().name(), "engine");
            try {
                audit.record(new AuditLog.Entry(who, "revert", args, before, audit.generation(),
                        rec.complete() ? "ok" : "failed", rec.complete() ? null : ProblemCode.ACTIVATION_FAILED.name(),
                        "Reverted because " + reason + ". " + rec.state()));
            } catch (Problem e) {
                LOG.error("the revert could not be recorded in the audit trail: {}", e.getMessage());
            }
            notices.reverted(p, reason, rec);
        } catch (RuntimeException e) {
            LOG.error("reverting failed unexpectedly", e);
        }
    }

    /** After a restart: if the old engine's switch-to-configuration is still running, let it finish first. */
    static void awaitEarlierActivation(PendingApply p) {
        if (p.activationPid() == null) {
            return;
        }
        ProcessHandle.of(p.activationPid()).ifPresent(h -> {
            String cmd = h.info().commandLine().orElse("");
            if (cmd.contains("switch-to-configuration")) {
                LOG.info("waiting for the activation the previous engine started (pid {})", h.pid());
                h.onExit().join();
            }
        });
    }
}
