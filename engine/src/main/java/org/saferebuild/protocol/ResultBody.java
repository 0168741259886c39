package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/** What a finished request reports, in {@link Event.Result}. One record per kind of answer. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
@JsonSubTypes({
        @JsonSubTypes.Type(value = ResultBody.Ack.class, name = "ack"),
        @JsonSubTypes.Type(value = PreflightReport.class, name = "preflight"),
        @JsonSubTypes.Type(SandboxResult.class),
        @JsonSubTypes.Type(SystemResult.class),
        @JsonSubTypes.Type(InspectResult.class),
        @JsonSubTypes.Type(NixResult.class),
})
public sealed interface ResultBody permits ResultBody.Ack, PreflightReport, SandboxResult,
        SystemResult, InspectResult, NixResult {

    /** A request that has nothing to report beyond having been done. */
    record Ack(String message) implements ResultBody {
        public Ack {
            Values.require(message, "message");
        }
    }
}
