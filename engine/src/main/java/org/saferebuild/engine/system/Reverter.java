package org.saferebuild.engine.system;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.function.Consumer;
import org.saferebuild.engine.Problem;
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
     * A revert the engine does on its own (the deadline passed, or an engine start found what a killed
     * engine left): no request records it, so it records its intent before it starts and its outcome
     * after, itself. The intent uses the space the apply reserved, and is written even on a broken
     * trail (the break stays visible): going back to the confirmed system must not wait for an
     * operator. Should even that write fail (the log's disk gone read-only), the revert still runs,
     * because leaving an unconfirmed system running is the worse outcome, and the engine log says so.
     * The caller releases the lock after this returns (an engine whose app is gone exits as soon as it
     * is free, so the records are written first).
     */
    void revertAndRecord(PendingApply p, String reason) {
        try {
            ObjectNode args = Json.mapper().createObjectNode();
            args.put("reason", reason);
            args.put("kind", p.kind());
            args.put("mode", p.mode().name());
            args.put("storePath", p.storePath());
            args.put("toGeneration", p.generationBefore());
            AuditRecord.Who who = p.who() == null ? AuditTrail.ENGINE
                    : new AuditRecord.Who(p.who().uid(), p.who().name(), "engine");
            AuditTrail.Pending intent = null;
            try {
                intent = audit.beginOwn(who, "revert", args);
            } catch (Problem e) {
                LOG.error("the revert's intent could not be recorded in the audit trail ({}); reverting anyway,"
                        + " since an unconfirmed system must not stay", e.getMessage());
            }
            PutBack.Recovery rec = revert(p, reason, line -> LOG.info("revert: {}", line));
            if (intent != null) {
                audit.endOwn(intent, rec.complete(), rec.complete() ? null : ProblemCode.ACTIVATION_FAILED.name(),
                        "Reverted because " + reason + ". " + rec.state());
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
