package org.saferebuild.protocol;

/** Constants shared by both ends of the engine protocol. See docs/protocol.md. */
public final class Protocol {
    /** Bumped on any incompatible change; the handshake refuses a mismatch. */
    public static final int VERSION = 1;

    /** Largest frame the engine accepts from the app. Requests are small. */
    public static final int MAX_REQUEST_BYTES = 64 * 1024;

    /**
     * Requests one connection may have running at once; more get BUSY at once (the app needs a few:
     * a build, its cancel, apply.status, generations). Bounds the threads and processes one
     * connection can make the engine start.
     */
    public static final int MAX_IN_FLIGHT = 16;

    /** Largest frame the app accepts from the engine (inspection reports can be big). */
    public static final int MAX_EVENT_BYTES = 32 * 1024 * 1024;

    private Protocol() {
    }
}
