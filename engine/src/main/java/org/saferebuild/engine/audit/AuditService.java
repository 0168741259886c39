package org.saferebuild.engine.audit;

import java.io.IOException;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * The audit operations: the checklist sign-off and the acknowledgement of a broken trail (each
 * record is the operation, so it writes its own line and fails if it cannot), and reading and
 * verifying the trail.
 */
public final class AuditService {
    private final AuditTrail trail;

    public AuditService(AuditTrail trail) {
        this.trail = trail;
    }

    /**
     * Records the operator's checklist answers with their evidence, the name they typed and the
     * OS user the engine saw at the handshake (the two can differ: the line shows both).
     */
    public SystemResult.SignedOff signoff(SystemRequest.Signoff r, OpContext ctx) throws Problem {
        AuditRecord.Who who = ctx.operator() != null ? ctx.operator() : new AuditRecord.Who(0, null, "direct");
        long checked = r.answers().stream().filter(SystemRequest.Answer::checked).count();
        String osUser = (who.name() != null ? who.name() : "?") + " (uid " + who.uid() + ", via " + who.via() + ")";
        String message = "Checklist signed off by \"" + r.operatorName() + "\" as OS user " + osUser + ": " + checked
                + " of " + r.answers().size() + " items checked.";
        Integer generation = trail.generation();
        AuditLog.Appended line = trail.record(new AuditLog.Entry(who, "signoff", AuditTrail.args(r), generation,
                generation, "ok", null, message));
        return new SystemResult.SignedOff(line.line(), line.sha256(), osUser, message);
    }

    /**
     * The operator has looked at a broken trail and says so: recorded with who they are (the OS user
     * from the handshake) and their note; privileged operations are allowed again.
     */
    public SystemResult.Acknowledged acknowledge(SystemRequest.AuditAcknowledge r, OpContext ctx) throws Problem {
        AuditRecord.Who who = ctx.operator() != null ? ctx.operator() : new AuditRecord.Who(0, null, "direct");
        return trail.acknowledge(who, r.note());
    }

    public SystemResult.AuditLines read(SystemRequest.AuditRead r, OpContext ctx) throws Problem {
        try {
            return trail.log().read(r.from(), r.limit());
        } catch (IOException e) {
            throw new Problem(ProblemCode.AUDIT_BROKEN, "The audit trail " + trail.log().file() + " cannot be read: "
                    + e.getMessage(), "Check that the file exists and is readable by root.", e);
        }
    }

    public SystemResult.AuditVerdict verify(SystemRequest.AuditVerify r, OpContext ctx) throws Problem {
        try {
            return trail.verify();
        } catch (IOException e) {
            throw new Problem(ProblemCode.AUDIT_BROKEN, "The audit trail " + trail.log().file() + " cannot be read: "
                    + e.getMessage(), "Check that the file exists and is readable by root.", e);
        }
    }
}
