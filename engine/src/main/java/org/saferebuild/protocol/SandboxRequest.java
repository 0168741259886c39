package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;

/** Runbook steps 1, 2 and 5: the isolated environment. */
@JsonSubTypes({
        @JsonSubTypes.Type(value = SandboxRequest.Open.class, name = "sandbox.open"),
        @JsonSubTypes.Type(value = SandboxRequest.Mounts.class, name = "sandbox.mounts"),
        @JsonSubTypes.Type(value = SandboxRequest.Close.class, name = "sandbox.close"),
})
public sealed interface SandboxRequest extends Request {

    /** Whether the sandbox gets its own, empty network namespace (the runbook's {@code --net}). */
    enum Network { ISOLATED, SHARED }

    /**
     * Opens a sandbox for {@code configDir} (one of the engine's allowed configuration
     * directories) with the named bind plan.
     */
    record Open(long id, String configDir, String plan, Network network) implements SandboxRequest {
        public Open {
            Values.positiveId(id);
            Values.absolutePath(configDir, "configDir");
            Values.require(plan, "plan");
            if (!plan.matches("[a-z][a-z0-9-]{0,40}")) {
                throw new IllegalArgumentException("plan name is malformed: " + Values.abbreviate(plan));
            }
            if (network == null) {
                throw new IllegalArgumentException("network is required: ISOLATED or SHARED");
            }
        }
    }

    /** Reads the live mount tree of the sandbox from the kernel. */
    record Mounts(long id, String sandbox) implements SandboxRequest {
        public Mounts {
            Values.positiveId(id);
            Values.sandboxId(sandbox);
        }
    }

    /**
     * Unmounts everything and removes the work directory. Without {@code force}, a busy mount
     * stops the close and nothing is deleted; with it, every process in the sandbox is killed
     * first so the kernel drops the mounts.
     */
    record Close(long id, String sandbox, boolean force) implements SandboxRequest {
        public Close {
            Values.positiveId(id);
            Values.sandboxId(sandbox);
        }
    }
}
