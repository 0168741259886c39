package org.saferebuild.engine.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Map;
import java.util.function.Supplier;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.sys.StateProblems;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.ResultBody;
import org.saferebuild.protocol.SystemResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records privileged operations around their dispatch, so no handler has to remember to (issues 4
 * and 11). Before an operation runs, its intent is a record: if that cannot be written (a full disk,
 * a removed directory) or the trail is broken and nobody has acknowledged it, the operation is
 * refused and nothing is done. When it has ended, a second record says how, with the system
 * generation before and after; the space for it was reserved with the intent.
 */
public final class AuditTrail {
    private static final Logger LOG = LoggerFactory.getLogger(AuditTrail.class);
    /** Who the engine's own records name when no operator is known. */
    public static final AuditRecord.Who ENGINE = new AuditRecord.Who(0, "root", "engine");

    private final AuditLog log;
    private final Supplier<Integer> currentGeneration;
    /** The trail as last checked (engine start, audit.verify, a refused append, an acknowledgement). */
    private volatile SystemResult.AuditVerdict status;

    /** An operation whose intent is recorded; its outcome is recorded when it ends. */
    public record Pending(AuditRecord.Who who, String what, JsonNode args, Integer generationBefore, long intent) {
    }

    public AuditTrail(AuditLog log, Supplier<Integer> currentGeneration) {
        this.log = log;
        this.currentGeneration = currentGeneration;
    }

    public AuditLog log() {
        return log;
    }

    /**
     * At engine start: walks the whole trail and its head. Intents whose engine stopped before
     * recording their end (killed, power cut) get an "interrupted" record, unless the trail is broken.
     */
    public SystemResult.AuditVerdict check() {
        AuditLog.Scan scan;
        try {
            log.repairTail();
            scan = log.scan();
        } catch (IOException e) {
            LOG.error("cannot read the audit trail {}: {}", log.file(), e.toString());
            status = new SystemResult.AuditVerdict(log.file().toString(), false, 0, 1L, "the trail cannot be read: "
                    + e.getMessage(), null, true, null);
            return status;
        }
        status = scan.verdict();
        if (status.needsAcknowledgement()) {
            LOG.warn("the audit trail {} is broken at line {}: {}; privileged operations are refused until an"
                    + " operator acknowledges it", log.file(), status.firstBadLine(), status.reason());
            return status;
        }
        for (Map.Entry<Long, AuditRecord> e : scan.unfinished().entrySet()) {
            AuditRecord intent = e.getValue();
            if (intent.engine() != null && !alive(intent.engine())) {
                try {
                    log.append(new AuditLog.Entry(intent.who(), intent.what(), intent.args(),
                            intent.generationBefore(), generation(), AuditRecord.INTERRUPTED, null,
                            "The engine (" + intent.engine() + ") stopped before it recorded how this ended;"
                                    + " what it changed is what the records after this one show.", e.getKey()));
                } catch (IOException ex) {
                    LOG.error("cannot close the interrupted record {}: {}", e.getKey(), ex.toString());
                }
            }
        }
        return status;
    }

    /** The trail as last checked. */
    public SystemResult.AuditVerdict status() {
        return status;
    }

    /** Walks the trail again (audit.verify) and remembers the verdict. */
    public SystemResult.AuditVerdict verify() throws IOException {
        status = log.verify();
        return status;
    }

    /**
     * Called before a privileged operation runs: records its intent, or refuses it (nothing is done)
     * when that cannot be written or the trail is broken and not acknowledged.
     */
    public Pending begin(AuditRecord.Who who, String what, Request request, boolean followUp) throws Problem {
        refuseIfBroken();
        JsonNode args = args(request);
        Integer before = generation();
        AuditLog.Entry intent = new AuditLog.Entry(who, what, args, before, null, AuditRecord.STARTED, null, null);
        AuditLog.Appended a = followUp ? write(() -> log.appendFollowUp(intent)) : write(() -> log.append(intent));
        return new Pending(who, what, args, before, a.line());
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
                    code, message, p.intent()));
        } catch (IOException | RuntimeException e) {
            LOG.error("could not record the end of {} (intent line {}) in the audit trail {}: {}", p.what(),
                    p.intent(), log.file(), e.toString());
        }
    }

    /**
     * The intent of something the engine does on its own for safety (reverting an unconfirmed apply):
     * recorded before it starts, also on a broken trail (the break stays visible), because waiting
     * for an acknowledgement would leave an unconfirmed system running.
     */
    public Pending beginOwn(AuditRecord.Who who, String what, JsonNode args) throws Problem {
        return beginOwn(who, what, args, generation());
    }

    /**
     * As {@link #beginOwn(AuditRecord.Who, String, JsonNode)}, for what was done from generation
     * {@code before} while no engine could record its intent first (systemd's revert timer with every
     * engine stopped): the engine that finds it records intent and end together.
     */
    public Pending beginOwn(AuditRecord.Who who, String what, JsonNode args, Integer before) throws Problem {
        AuditLog.Entry intent = new AuditLog.Entry(who, what, args, before, null, AuditRecord.STARTED, null, null);
        AuditLog.Appended a = write(() -> log.appendAfterBreak(intent));
        return new Pending(who, what, args, before, a.line());
    }

    /** The end of {@link #beginOwn}. */
    public void endOwn(Pending p, boolean ok, String code, String message) {
        try {
            log.appendAfterBreak(new AuditLog.Entry(p.who(), p.what(), p.args(), p.generationBefore(), generation(),
                    ok ? "ok" : "failed", code, message, p.intent()));
        } catch (IOException | RuntimeException e) {
            LOG.error("could not record the end of {} (intent line {}) in the audit trail {}: {}", p.what(),
                    p.intent(), log.file(), e.toString());
        }
    }

    /** A record that is itself the action (the sign-off): refused on a broken trail, like any action. */
    public AuditLog.Appended record(AuditLog.Entry entry) throws Problem {
        refuseIfBroken();
        return write(() -> log.append(entry));
    }

    /** Records the operator's acknowledgement of a break; privileged operations are allowed again. */
    public SystemResult.Acknowledged acknowledge(AuditRecord.Who who, String note) throws Problem {
        SystemResult.AuditVerdict before;
        try {
            before = verify();
        } catch (IOException e) {
            throw unwritable(e);
        }
        if (!before.needsAcknowledgement()) {
            throw new Problem(ProblemCode.INVALID_ARGUMENT, "The audit trail " + log.file() + " has no break to"
                    + " acknowledge" + (before.intact() ? ": it is intact." : ": " + before.reason() + "."),
                    "Nothing needs to be done.");
        }
        try {
            AuditLog.Appended a = log.acknowledge(who, note, generation());
            status = log.verify();
            long line = status.acknowledgedAt() != null ? status.acknowledgedAt() : a.line();
            return new SystemResult.Acknowledged(line, a.sha256(), before.firstBadLine(), before.reason(),
                    "Recorded at line " + line + ": " + a.record().message() + " Privileged operations are"
                            + " allowed again.");
        } catch (IOException e) {
            throw unwritable(e);
        }
    }

    private void refuseIfBroken() throws Problem {
        SystemResult.AuditVerdict s = status;
        if (s != null && s.needsAcknowledgement()) {
            throw brokenProblem(s);
        }
    }

    private interface Append {
        AuditLog.Appended run() throws IOException;
    }

    private AuditLog.Appended write(Append append) throws Problem {
        try {
            return append.run();
        } catch (AuditLog.Broken e) {
            try {
                status = log.verify();
            } catch (IOException ex) {
                LOG.warn("cannot walk the audit trail: {}", ex.toString());
            }
            SystemResult.AuditVerdict s = status;
            throw brokenProblem(s != null && s.needsAcknowledgement() ? s
                    : new SystemResult.AuditVerdict(log.file().toString(), false, 0, 1L, e.getMessage(), null, true,
                            null));
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

    /** The result's "message", read from the record (not through a JSON tree of the whole result). */
    static String messageOf(ResultBody body) {
        if (body instanceof Record) {
            for (java.lang.reflect.RecordComponent c : body.getClass().getRecordComponents()) {
                if (c.getName().equals("message") && c.getType() == String.class) {
                    try {
                        return (String) c.getAccessor().invoke(body);
                    } catch (ReflectiveOperationException e) {
                        return null;
                    }
                }
            }
        }
        return null;
    }

    /** Whether the engine "pid@start" still runs (the same process: pid and start time). */
    static boolean alive(String engine) {
        int at = engine.indexOf('@');
        if (at < 1) {
            return false;
        }
        try {
            long pid = Long.parseLong(engine.substring(0, at));
            String start = engine.substring(at + 1);
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .flatMap(h -> h.info().startInstant()).map(i -> i.toString().equals(start)).orElse(false);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private Problem brokenProblem(SystemResult.AuditVerdict s) {
        return new Problem(ProblemCode.AUDIT_BROKEN, "The audit trail " + log.file() + " is broken at line "
                + s.firstBadLine() + ": " + s.reason() + ". Privileged operations are refused until an operator has"
                + " looked at it and acknowledged the break; nothing was done.",
                "Look at the trail (History in the app, or audit.read), find out what happened, then acknowledge the"
                        + " break in the app (\"Acknowledge the broken trail\", or the audit.acknowledge request)."
                        + " The acknowledgement is recorded with your name and note.");
    }

    private Problem unwritable(IOException e) {
        if (StateProblems.noSpace(e)) {
            Problem p = StateProblems.noSpace("The audit trail " + log.file() + " cannot be written", log.file(),
                    AuditLog.RESERVE, e);
            return new Problem(ProblemCode.NO_SPACE, p.getMessage() + " Nothing was done, because every privileged"
                    + " action must be recorded first.", p.fix(), e);
        }
        return new Problem(ProblemCode.AUDIT_BROKEN, "The audit trail " + log.file() + " cannot be written: "
                + e.getMessage() + ". Nothing was done, because every privileged action must be recorded first.",
                "This typically happens when the disk is full or the log directory was removed. To fix this, free"
                        + " space or recreate " + log.file().getParent() + " (owned by root), then try again.", e);
    }
}
