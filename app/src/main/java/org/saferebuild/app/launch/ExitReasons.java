package org.saferebuild.app.launch;

import java.util.List;

/**
 * What an exit code of the launched process means, in the operator's words, with what to do.
 * pkexec: 126 = the authorization dialog was dismissed or cancelled, 127 = not authorized or
 * pkexec failed (no agent, wrong password, engine missing). sudo -n: 1 = it wanted a password or
 * refused. The engine: 64 usage, 65 unsafe start, 77 not root, 78 settings.
 */
final class ExitReasons {
    static final String ACTION_ID = "org.saferebuild.engine";

    private ExitReasons() {
    }

    static LaunchException explain(Mode mode, int exit, EngineOutput output, List<String> command) {
        String said = mode == Mode.PKEXEC ? output.said("Error executing command") : output.lastLine();
        String quoted = said.isEmpty() ? "" : ": \"" + said + "\"";
        String log = output.log() == null ? "the engine log" : "the engine log (" + output.log() + ")";
        if (mode == Mode.PKEXEC && exit == 126) {
            return new LaunchException("Authorization was dismissed: the password dialog was closed or cancelled"
                    + " (pkexec exit 126), so the engine did not start. Nothing was changed.",
                    "Start again and enter an administrator's password in the dialog when you are ready.", null);
        }
        if (mode == Mode.PKEXEC && exit == 127) {
            String fix;
            if (said.contains("No authentication agent")) {
                fix = "No polkit authentication agent runs in this session, so nobody could be asked for a password."
                        + " Log in to a desktop session that starts one (GNOME, KDE, Xfce and most desktops do; with a"
                        + " bare window manager start one such as polkit-gnome or lxpolkit), or let an administrator"
                        + " allow the action " + ACTION_ID + " for you with a polkit rule (docs/install.md).";
            } else if (said.contains("Not authorized")) {
                fix = "Enter the password of an administrator (on NixOS a member of the group wheel), or ask an"
                        + " administrator to allow the action " + ACTION_ID + " for you (docs/install.md).";
            } else {
                fix = "Check that Safe Rebuild is installed completely: the engine at " + enginePath(mode, command)
                        + " and its polkit policy (" + ACTION_ID + ") naming exactly that path; on NixOS enable"
                        + " programs.safe-rebuild (docs/install.md).";
            }
            return new LaunchException("Authorization was refused or pkexec could not start the engine"
                    + " (pkexec exit 127: not authorized, or pkexec failed)" + quoted + ". Nothing was changed.",
                    fix, null);
        }
        if (mode == Mode.SUDO && exit == 1 && said.startsWith("sudo:")) {
            return new LaunchException("sudo did not start the engine without a password (sudo -n)" + quoted
                    + ". Nothing was changed.",
                    "Use pkexec (it asks for the password in a dialog), or allow your user to run "
                            + enginePath(mode, command) + " with sudo without a password (a NOPASSWD rule).", null);
        }
        if (mode == Mode.SSH) {
            LaunchException ssh = sshReason(exit, said, quoted, command);
            if (ssh != null) {
                return ssh;
            }
        }
        return switch (exit) {
            case 64 -> new LaunchException("The engine refused its command line" + quoted + ".",
                    "The app and the engine do not match: reinstall Safe Rebuild.", null);
            case 65 -> new LaunchException("The engine refused to run because the way it was started is unsafe"
                    + quoted + ".", "Start it only through its installed wrapper " + enginePath(mode, command)
                    + " and reinstall Safe Rebuild if it keeps happening (docs/install.md).", null);
            case 77 -> new LaunchException("The engine did not get root rights" + quoted + ".",
                    "Start the app normally so it can use pkexec, or run the engine with sudo.", null);
            case 78 -> new LaunchException("The engine cannot use its settings" + quoted + ".",
                    "Fix the settings file it names (root-owned, not writable by others, valid JSON), see "
                            + log + ".", null);
            default -> new LaunchException("The engine stopped (exit code " + exit + ")" + quoted + ".",
                    "See " + log + " for the reason, then start the app again.", null);
        };
    }

    /** ssh's own failures (exit 255) and the target's shell's (127: no engine there; sudo's refusal). */
    private static LaunchException sshReason(int exit, String said, String quoted, List<String> command) {
        int dashes = command.indexOf("--");
        String dest = dashes >= 0 && dashes + 1 < command.size() ? command.get(dashes + 1) : "the target";
        String engine = dashes >= 0 && dashes + 2 < command.size() ? String.join(" ",
                command.subList(dashes + 2, command.size())) : "the engine";
        if (exit == 255) {
            String fix;
            if (said.contains("Host key verification failed") || said.contains("REMOTE HOST IDENTIFICATION")) {
                fix = "Check the target's host key and add it to your known_hosts (ssh " + dest + " once on a"
                        + " terminal, comparing the fingerprint with the one the target shows).";
            } else if (said.contains("Permission denied")) {
                fix = "Give ssh a key the target accepts for that user (ssh-copy-id " + dest + ", or"
                        + " users.users.root.openssh.authorizedKeys.keys on NixOS); ssh runs with BatchMode and never"
                        + " asks for a password.";
            } else {
                fix = "Check that the target is up and that ssh -o BatchMode=yes " + dest + " true works from this"
                        + " machine (address, port and ssh config).";
            }
            return new LaunchException("ssh could not reach " + dest + quoted + ". Nothing was changed there.", fix,
                    null);
        }
        if (exit == 127) {
            return new LaunchException("The target " + dest + " has no engine at the path given (" + engine + ")"
                    + quoted + ". Nothing was changed there.",
                    "Install Safe Rebuild on the target (NixOS: programs.safe-rebuild.enable = true puts the engine at "
                            + SshTarget.DEFAULT_ENGINE + "), or name its engine with --target-engine.", null);
        }
        if (exit == 1 && said.startsWith("sudo:")) {
            return new LaunchException("sudo on " + dest + " did not start the engine without a password" + quoted
                    + ". Nothing was changed there.", "Connect as root (root@" + dest.substring(dest.indexOf('@') + 1)
                    + "), or allow your user to run the engine with sudo without a password (a NOPASSWD rule"
                    + " for exactly that path).", null);
        }
        return null;
    }

    private static String enginePath(Mode mode, List<String> command) {
        if (mode == Mode.PKEXEC && command.size() > 2) {
            return command.get(2);
        }
        int dashes = command.indexOf("--");
        if (mode == Mode.SUDO && dashes >= 0 && dashes + 1 < command.size()) {
            return command.get(dashes + 1);
        }
        return command.isEmpty() ? "?" : command.get(0);
    }
}
