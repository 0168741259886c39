package org.saferebuild.engine.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.function.Supplier;
import org.saferebuild.engine.Problem;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.ResultBody;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records privileged operations around their dispatch, so no handler has to remember to: before
 * the operation the trail must be writable (otherwise nothing is done), after it one line says
 * who did what, the system generation before and after, and how it ended.
 */
public final class AuditTrail {
    private static final Logger LOG = LoggerFactory.getLogger(AuditTrail.class);

    private final AuditLog log;
    private final Supplier<Integer> currentGeneration;

    /** An operation that has started and will be recorded when it ends. */
    public record Pending(AuditRecord.Who who, String what, JsonNode args, Integer generationBefore) {
    }

    public AuditTrail(AuditLog log, Supplier<Integer> currentGeneration) {
        this.log = log;
        this.currentGeneration = currentGeneration;
    }

    public AuditLog log() {
        return log;
    }

    /** Called before a privileged operation runs: refuses it if it could not be recorded. */
    public Pending begin(AuditRecord.Who who, String what, Request request) throws Problem {
        try {
            log.checkWritable();
        } catch (IOException e) {
            throw unwritable(e);
        }
        return new Pending(who, what, args(request), generation());
    }

    /** Called when the operation has ended, with its terminal event. Never throws: the operation is over. */
    public void end(Pending p, Event terminal) {
        String outcome;
        String code = null;
        String message;
        if (terminal instanceof Event.Failure f) {
            outcome = "failed";
            code = f.code().name();
            message = f.message();
        } else if (terminal instanceof Event.Result r) {
            outcome = "ok";
            message = messageOf(r.body());
        } else {
            outcome = "ok";
            message = null;
        }
        try {
            log.append(new AuditLog.Entry(p.who(), p.what(), p.args(), p.generationBefore(), generation(), outcome,
                    code, message));
        } catch (IOException | RuntimeException e) {
            LOG.error("could not record {} in the audit trail {}: {}", p.what(), log.file(), e.toString());
        }
    }

    /** Records something the engine did on its own (the confirm-or-revert timer, a sign-off). */
    public AuditLog.Appended record(AuditLog.Entry entry) throws Problem {
        try {
            return log.append(entry);
        } catch (IOException e) {
            throw unwritable(e);
        }
    }

    public Integer generation() {
        try {
            return currentGeneration.get();
        } catch (RuntimeException e) {
            LOG.warn("cannot read the current generation for the audit trail: {}", e.toString());
            return null;
        }
    }

    /** The request's validated arguments, without op and id (they are the line's "what" and irrelevant). */
    public static JsonNode args(Request request) {
        JsonNode tree = Json.mapper().valueToTree(request);
        if (tree instanceof ObjectNode o) {
            o.remove("op");
            o.remove("id");
        }
        return tree;
    }

    private static String messageOf(ResultBody body) {
        JsonNode m = Json.mapper().valueToTree(body).get("message");
        return m != null && m.isTextual() ? m.asText() : null;
    }

    private Problem unwritable(IOException e) {
        return new Problem(ProblemCode.AUDIT_BROKEN, "The audit trail " + log.file() + " cannot be written: "
                + e.getMessage() + ". Nothing was done, because every privileged action must be recorded.",
                "This typically happens when the disk is full or the log directory was removed. To fix this, free"
                        + " space or recreate " + log.file().getParent() + " (owned by root), then try again.", e);
    }
}
