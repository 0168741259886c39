package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.List;

/**
 * A message from the engine to the app. {@code id} is the request it belongs to; 0 means the
 * connection as a whole (a protocol error before any request could be read, or an unsolicited
 * notice).
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "event")
@JsonSubTypes({
        @JsonSubTypes.Type(value = Event.Welcome.class, name = "welcome"),
        @JsonSubTypes.Type(value = Event.Progress.class, name = "progress"),
        @JsonSubTypes.Type(value = Event.Log.class, name = "log"),
        @JsonSubTypes.Type(value = Event.Result.class, name = "result"),
        @JsonSubTypes.Type(value = Event.Failure.class, name = "error"),
        @JsonSubTypes.Type(value = Event.Notice.class, name = "notice"),
        @JsonSubTypes.Type(NixEvent.class),
})
public sealed interface Event permits Event.Welcome, Event.Progress, Event.Log, Event.Result, Event.Failure,
        Event.Notice, NixEvent {

    long id();

    /** Whether this event ends its request (no more events for that id follow). */
    default boolean terminal() {
        return false;
    }

    /**
     * The handshake answer.
     *
     * @param euid          the engine's effective uid (0 when it may do anything at all)
     * @param operatorUid   the uid of the person who launched it, from PKEXEC_UID or SUDO_UID;
     *                      null when launched directly
     * @param operatorName  that user's login name where it could be resolved
     * @param launchedVia   "pkexec", "sudo", "ssh" (started by sshd for a remote client) or "direct"
     * @param capabilities  the operation names this engine accepts
     * @param auditTrail    the audit trail as the engine found it at its start (issue 11): when it
     *                      needs an acknowledgement, privileged operations are refused until an
     *                      operator acknowledges the break ({@code audit.acknowledge})
     */
    record Welcome(long id, String engineVersion, int protocol, int euid, Integer operatorUid,
                   String operatorName, String launchedVia, List<String> capabilities,
                   SystemResult.AuditVerdict auditTrail) implements Event {
        public Welcome {
            Values.require(engineVersion, "engineVersion");
            Values.require(launchedVia, "launchedVia");
            capabilities = List.copyOf(capabilities == null ? List.of() : capabilities);
        }

        @Override
        public boolean terminal() {
            return true;
        }
    }

    /**
     * Progress of a long operation. {@code done}/{@code total} are counts in the phase's own unit
     * (mounts made, derivations built, ...) and may be null when unknown.
     */
    record Progress(long id, String phase, String message, Long done, Long total) implements Event {
        public Progress {
            Values.require(phase, "phase");
        }
    }

    /** Output lines, batched. {@code stream} names where they came from ("nix", "activation", …). */
    record Log(long id, String stream, List<String> lines) implements Event {
        public Log {
            Values.require(stream, "stream");
            lines = List.copyOf(lines == null ? List.of() : lines);
        }
    }

    /** The request finished; {@code body} says what it found or did. */
    record Result(long id, ResultBody body) implements Event {
        public Result {
            if (body == null) {
                throw new IllegalArgumentException("result body is required");
            }
        }

        @Override
        public boolean terminal() {
            return true;
        }
    }

    /**
     * The request failed. {@code message} says what happened; {@code fix} says what the operator
     * can do about it. After a {@link ProblemCode#PROTOCOL} failure the engine closes the
     * connection.
     */
    record Failure(long id, ProblemCode code, String message, String fix) implements Event {
        public Failure {
            if (code == null) {
                throw new IllegalArgumentException("code is required");
            }
            Values.require(message, "message");
            Values.require(fix, "fix");
        }

        @Override
        public boolean terminal() {
            return true;
        }
    }

    /**
     * Something the engine did on its own, not as the answer to a request: the confirm-or-revert
     * countdown, and its end (confirmed, reverting, reverted, revert failed). {@code id} is 0;
     * {@code apply} is the id of the apply request the notice is about (0 when the engine resumed
     * a pending apply after a restart). Never terminal.
     *
     * @param generation  the generation the notice is about (the applied one, or the one reverted to)
     * @param secondsLeft for COUNTDOWN: seconds until the engine reverts
     * @param deadline    for COUNTDOWN: when it reverts, ISO-8601 UTC
     */
    record Notice(long id, long apply, Topic topic, String message, Integer generation, Long secondsLeft,
                  String deadline) implements Event {
        public enum Topic { COUNTDOWN, CONFIRMED, REVERTING, REVERTED, REVERT_FAILED }

        public Notice {
            if (id != 0) {
                throw new IllegalArgumentException("a notice belongs to the connection: id 0");
            }
            if (topic == null) {
                throw new IllegalArgumentException("topic is required");
            }
            Values.require(message, "message");
        }
    }
}
