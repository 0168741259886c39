package org.saferebuild.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.regex.Pattern;

/**
 * One line of the audit trail (docs/apply.md "Audit format"). The engine writes it; the app reads
 * it back through {@code audit.read} and may parse it with {@link Json#decode}.
 *
 * @param seq              1 for the first line, then +1 per line; never reused, even for removed lines (the
 *                         head record remembers the highest number written)
 * @param when             when the line was written (an intent: when the action started), ISO-8601 UTC
 * @param who              the operator from the handshake (uid and name), and how the engine was started
 * @param what             the operation ("apply", "confirm", "revert", "signoff", "sandbox.open", …)
 * @param args             the request's validated arguments (without op and id)
 * @param generationBefore the system profile's generation before the action (null: no generation)
 * @param generationAfter  and after it
 * @param outcome          "started" (the intent, written before the action), then "ok", "failed", or
 *                         "interrupted" (the engine stopped before it could record the end)
 * @param code             the problem code when failed
 * @param message          what happened, in the words the operator saw
 * @param intent           on an outcome line: the number of the intent line it ends
 * @param engine           the engine that wrote the line: "pid@start time", so a later engine can tell
 *                         an intent whose engine died from one still running
 * @param prev             SHA-256 (hex) of the previous line's text; 64 zeros on the first line
 * @param mac              HMAC-SHA256 (hex), with the engine's root-only key, of the line's text without
 *                         this field (everything before {@code ,"mac":}, then "}")
 */
public record AuditRecord(long seq, String when, Who who, String what, JsonNode args, Integer generationBefore,
                          Integer generationAfter, String outcome, String code, String message, Long intent,
                          String engine, String prev, String mac) {

    public static final String GENESIS = "0".repeat(64);
    public static final String STARTED = "started";
    public static final String INTERRUPTED = "interrupted";
    /** The operator's acknowledgement of a broken trail: it re-anchors the chain after the break. */
    public static final String ACKNOWLEDGE = "audit.acknowledge";
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

    public AuditRecord {
        if (seq < 1) {
            throw new IllegalArgumentException("seq starts at 1");
        }
        Values.require(when, "when");
        if (who == null) {
            throw new IllegalArgumentException("who is required");
        }
        Values.require(what, "what");
        if (!"ok".equals(outcome) && !"failed".equals(outcome) && !STARTED.equals(outcome)
                && !INTERRUPTED.equals(outcome)) {
            throw new IllegalArgumentException("outcome is \"started\", \"ok\", \"failed\" or \"interrupted\"");
        }
        if (prev == null || !SHA256_HEX.matcher(prev).matches()) {
            throw new IllegalArgumentException("prev must be a SHA-256 in lower-case hex");
        }
        if (mac != null && !SHA256_HEX.matcher(mac).matches()) {
            throw new IllegalArgumentException("mac must be an HMAC-SHA256 in lower-case hex");
        }
    }

    /**
     * The person behind an action: the uid from PKEXEC_UID/SUDO_UID (or the engine's own uid when
     * started directly), its login name where known, and "pkexec", "sudo", "direct" or "engine"
     * (the engine acting on its own, e.g. the confirm-or-revert timer, for the operator named).
     */
    public record Who(int uid, String name, String via) {
        public Who {
            Values.require(via, "via");
        }
    }
}
