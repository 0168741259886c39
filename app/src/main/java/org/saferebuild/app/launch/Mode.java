package org.saferebuild.app.launch;

/** How the app started the root engine. The app shows it to the operator. */
public enum Mode {
    /** The app already runs as root (the demo, CI): the engine is started as a plain child. */
    DIRECT,
    /** Through {@code sudo -n}: for development on a machine without a polkit agent. */
    SUDO,
    /** Through {@code pkexec --disable-internal-agent}: the desktop way, authorized by polkit. */
    PKEXEC,
    /** Through {@code ssh DEST ENGINE}: the engine of another machine (docs/remote.md). */
    SSH
}
