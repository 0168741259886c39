package org.saferebuild.app.launch;

/**
 * The engine could not be started, or authorization was refused or cancelled. The message says
 * what happened; {@link #fix()} says what the operator can do.
 */
public final class LaunchException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String fix;

    public LaunchException(String message, String fix, Throwable cause) {
        super(message, cause);
        this.fix = fix;
    }

    public String fix() {
        return fix;
    }
}
