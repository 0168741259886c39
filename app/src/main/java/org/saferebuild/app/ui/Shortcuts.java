package org.saferebuild.app.ui;

import java.util.List;

/**
 * Every keyboard shortcut of the app, once: the shortcuts window (F1) shows this table, the
 * operator guide lists the same rows, and a test checks both against the mnemonics each screen
 * really registers.
 *
 * @param where  the screen ("Everywhere" for the window's own)
 * @param keys   as the operator types them ("Alt+N")
 * @param action what it does, named as on the screen
 */
public record Shortcuts(String where, String keys, String action) {
    public static final String EVERYWHERE = "Everywhere";
    public static final String LOG = "Logs (Build, Apply)";

    public static final List<Shortcuts> ALL = List.of(
            new Shortcuts(EVERYWHERE, "Alt+N", "Next"),
            new Shortcuts(EVERYWHERE, "Alt+B", "Back (from Generations or History: back to the wizard)"),
            new Shortcuts(EVERYWHERE, "Alt+G", "Generations (roll back to any generation)"),
            new Shortcuts(EVERYWHERE, "Alt+H", "History (the audit trail and the change record)"),
            new Shortcuts(EVERYWHERE, "F1 or Ctrl+?", "This list of shortcuts"),
            new Shortcuts(EVERYWHERE, "Ctrl+Shift+D", "Dark or light theme"),
            new Shortcuts(EVERYWHERE, "Escape", "From Generations or History: back to the wizard; else dismiss a"
                    + " banner's note"),
            new Shortcuts(EVERYWHERE, "Enter", "The focused button; elsewhere the screen's highlighted action"),
            new Shortcuts(EVERYWHERE, "Tab, Shift+Tab", "Move between fields and buttons in reading order"),
            new Shortcuts(EVERYWHERE, "Ctrl+Tab", "Next tab (Build, Inspect)"),
            new Shortcuts("Target", "Alt+C", "Configuration"),
            new Shortcuts("Target", "Alt+W", "Browse for a configuration directory"),
            new Shortcuts("Target", "Alt+O", "Host"),
            new Shortcuts("Target", "Alt+I", "Isolated network"),
            new Shortcuts("Target", "Alt+S", "Shared network"),
            new Shortcuts("Target", "Alt+A", "Check again"),
            new Shortcuts("Isolate", "Alt+O", "Open the isolated environment"),
            new Shortcuts("Isolate", "Alt+A", "Read the mounts again"),
            new Shortcuts("Isolate", "Alt+L", "Close the isolated environment"),
            new Shortcuts("Build", "Alt+V", "Validate the configuration"),
            new Shortcuts("Build", "Alt+U", "Build the system"),
            new Shortcuts("Build", "Alt+C", "Cancel the build"),
            new Shortcuts("Build", "Alt+T", "Show the failed derivation's log tail"),
            new Shortcuts(LOG, "Alt+F", "Follow the newest line"),
            new Shortcuts(LOG, "Alt+L", "Open the full log"),
            new Shortcuts(LOG, "Ctrl+F", "Search the log (Enter: next match, Shift+Enter: previous)"),
            new Shortcuts(LOG, "Ctrl+C, Ctrl+A", "Copy the selected lines; select every line in memory"),
            new Shortcuts("Sign off", "Alt+M", "Off-hours or maintenance window (the one item you tick)"),
            new Shortcuts("Sign off", "Alt+A", "Operator name"),
            new Shortcuts("Sign off", "Alt+S", "Sign off the checklist"),
            new Shortcuts("Sign off", "Alt+V", "Gather the evidence again"),
            new Shortcuts("Apply", "Alt+T", "Test mode"),
            new Shortcuts("Apply", "Alt+W", "Switch mode"),
            new Shortcuts("Apply", "Alt+O", "Boot mode"),
            new Shortcuts("Apply", "Alt+C", "The apply button (Test, Switch or Make the new configuration the boot default)"),
            new Shortcuts("Apply", "Alt+K", "Keep this configuration (during the countdown)"),
            new Shortcuts("Apply", "Alt+R", "Revert now (during the countdown)"),
            new Shortcuts("Apply", "Alt+E", "Start again from the Target screen (after the apply ended)"),
            new Shortcuts("Verify", "Alt+V", "Verify again"),
            new Shortcuts("Generations", "Alt+L", "Roll back to the selected generation"),
            new Shortcuts("Generations", "Alt+S", "Switch to generation N now (after the comparison)"),
            new Shortcuts("Generations", "Alt+D", "Make generation N the boot default"),
            new Shortcuts("Generations", "Alt+C", "Keep the current generation"),
            new Shortcuts("Generations", "Alt+P", "Pin the selected generation"),
            new Shortcuts("Generations", "Alt+U", "Unpin it"),
            new Shortcuts("Generations", "Alt+E", "Read the generations again"),
            new Shortcuts("History", "Alt+X", "Export this run's change record"),
            new Shortcuts("History", "Alt+O", "Open the change record"),
            new Shortcuts("History", "Alt+C", "Copy the change record's path"),
            new Shortcuts("History", "Alt+A", "Read the audit trail again"),
            new Shortcuts("Reopened-window banner", "Alt+K", "Keep this configuration"),
            new Shortcuts("Reopened-window banner", "Alt+R", "Revert now"),
            new Shortcuts("Broken-trail banner", "Alt+K", "Acknowledge the broken trail (after writing what you found)"));

    /** The screens in the order the window lists them. */
    public static List<String> places() {
        return ALL.stream().map(Shortcuts::where).distinct().toList();
    }
}
