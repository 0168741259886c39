package org.saferebuild.cli;

/**
 * {@code safe-rebuild COMMAND [options]}: the runbook from a terminal or a script, speaking the
 * same protocol to the same engine as the app (docs/cli.md). Runs as the operator; the engine is
 * started through pkexec, sudo -n, directly (already root) or over ssh for another machine.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        int code = new Cli(System.in, System.out, System.err, Io.isTerminal(0), Io.isTerminal(2)).run(args);
        System.out.flush();
        System.err.flush();
        // halt, not exit: the engine's connection threads must not keep a finished command alive,
        // and an engine that must outlive us (a confirm-or-revert countdown) is its own process.
        Runtime.getRuntime().halt(code);
    }
}
