package org.saferebuild.protocol;

/**
 * The one fixed list of problem codes the engine reports. Every {@link Event.Failure} carries one
 * of these plus a sentence saying what happened and what to do. When in doubt: {@link #INTERNAL}.
 */
public enum ProblemCode {
    /** Malformed, unknown, out-of-order or oversized input; the connection is closed. */
    PROTOCOL,
    /** A well-formed request with a value the engine refuses (not allowed, out of range). */
    INVALID_ARGUMENT,
    /** The engine is not running as root, or authorization was refused or cancelled. */
    NOT_AUTHORIZED,
    /** Mount/PID/network namespaces cannot be created here. */
    NAMESPACES_UNAVAILABLE,
    /** A required tool (unshare, nsenter, chroot, mount, nix, …) was not found. */
    TOOL_MISSING,
    /** A bind source or other required file or directory does not exist. */
    SOURCE_MISSING,
    /** Not enough free disk space. */
    NO_SPACE,
    /** The operation needs the network, but the sandbox isolates it. */
    NETWORK_ISOLATED,
    /** Something else holds the resource: a sandbox for that configuration, the apply lock. */
    BUSY,
    /** The named sandbox, generation, request or store path does not exist. */
    NOT_FOUND,
    /** Nix could not evaluate the configuration. */
    EVALUATION_FAILED,
    /** Nix could not build the configuration. */
    BUILD_FAILED,
    /** The operator cancelled the operation. */
    CANCELLED,
    /** switch-to-configuration failed. */
    ACTIVATION_FAILED,
    /** A store path's closure is not complete on disk. */
    CLOSURE_INCOMPLETE,
    /** A mount in the sandbox could not be unmounted; nothing was deleted. */
    UNMOUNT_FAILED,
    /** The audit trail does not verify. */
    AUDIT_BROKEN,
    /** Anything else; the message says what. */
    INTERNAL
}
