package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/**
 * A message from the app to the engine. Every request carries an id (positive, unique among
 * the requests in flight) that the engine's events for it repeat. Requests are grouped by
 * area; each area's sealed interface lists its own operations, so each record is validated
 * in its compact constructor and an invalid request never exists past {@link Json}.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "op")
@JsonSubTypes({
        @JsonSubTypes.Type(value = Request.Hello.class, name = "hello"),
        @JsonSubTypes.Type(value = Request.Cancel.class, name = "cancel"),
        @JsonSubTypes.Type(value = Request.Preflight.class, name = "preflight"),
        @JsonSubTypes.Type(value = Request.Configs.class, name = "configs"),
        @JsonSubTypes.Type(SandboxRequest.class),
        @JsonSubTypes.Type(SystemRequest.class),
        @JsonSubTypes.Type(InspectRequest.class),
        @JsonSubTypes.Type(NixRequest.class),
})
public sealed interface Request permits Request.Hello, Request.Cancel, Request.Preflight, Request.Configs,
        SandboxRequest,
        SystemRequest, InspectRequest, NixRequest {

    long id();

    /** Must be the first frame. The engine answers with {@link Event.Welcome}. */
    record Hello(long id, int protocol, String client) implements Request {
        public Hello {
            Values.positiveId(id);
            if (protocol <= 0) {
                throw new IllegalArgumentException("protocol must be a positive version number");
            }
            Values.text(client, "client", 200);
        }
    }

    /** Cancels the request {@code target} if it is still running. */
    record Cancel(long id, long target) implements Request {
        public Cancel {
            Values.positiveId(id);
            Values.positiveId(target);
        }
    }

    /**
     * Checks what the checklist and the runbook's "Common Issues" need before anything runs.
     * {@code configDir} is optional; the engine's default configuration directory otherwise.
     */
    record Preflight(long id, String configDir) implements Request {
        public Preflight {
            Values.positiveId(id);
            if (configDir != null) {
                Values.absolutePath(configDir, "configDir");
            }
        }
    }

    /**
     * Lists the configuration directories the engine is set up for: kind, hosts, description and
     * its last build of each. Reads only.
     */
    record Configs(long id) implements Request {
        public Configs {
            Values.positiveId(id);
        }
    }
}
