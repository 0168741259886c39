package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import java.util.Objects;

/** Runbook step 4 ("Inspect what was built"), done properly: inspect one system, compare two. */
@JsonSubTypes({
        @JsonSubTypes.Type(value = InspectRequest.Inspect.class, name = "inspect"),
        @JsonSubTypes.Type(value = InspectRequest.Compare.class, name = "compare"),
})
public sealed interface InspectRequest extends Request {

    /** Units, watched services, configuration search and closure size of one system. */
    record Inspect(long id, SystemRef system) implements InspectRequest {
        public Inspect {
            Values.positiveId(id);
            Objects.requireNonNull(system, "system is required");
        }
    }

    /**
     * What activating {@code to} would change compared with {@code from}: packages, closure size,
     * unit actions with their diffs, reboot advice. {@code from} is usually the running system;
     * a rollback preview compares the running system with a generation.
     */
    record Compare(long id, SystemRef from, SystemRef to) implements InspectRequest {
        public Compare {
            Values.positiveId(id);
            Objects.requireNonNull(from, "from is required");
            Objects.requireNonNull(to, "to is required");
        }
    }
}
