package org.saferebuild.engine.inspect;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Units whose stop or restart the person at the desktop notices, each with the reason in words.
 * The list is what the NixOS manual and nixos-rebuild users warn about (display manager, network,
 * D-Bus, polkit, logind, sshd, …); it is code, not a setting, because the reasons are.
 */
public final class SessionUnits {
    private static final Map<Pattern, String> WHY = new LinkedHashMap<>();

    static {
        String dm = "runs the graphical login and your desktop session; stopping or restarting it ends the"
                + " session and closes every open window";
        for (String u : new String[] {"display-manager", "gdm", "sddm", "lightdm", "greetd", "xserver"}) {
            put(u + ".service", dm);
        }
        String net = "keeps the machine online; while it restarts, network connections drop (downloads, remote"
                + " sessions and the Nix binary cache included)";
        for (String u : new String[] {"NetworkManager", "systemd-networkd", "wpa_supplicant", "iwd", "dhcpcd",
                "network-setup", "NetworkManager-wait-online"}) {
            put(u + ".service", net);
        }
        put("dbus.service", "the system message bus every desktop program talks through; restarting it breaks the"
                + " running session (NixOS normally reloads it instead)");
        put("dbus-broker.service", "the system message bus every desktop program talks through; restarting it"
                + " breaks the running session (NixOS normally reloads it instead)");
        put("dbus.socket", "the system message bus socket; stopping it cuts desktop programs off from each other");
        put("polkit.service", "authorizes privileged actions; while it is down, password prompts (this app's"
                + " included) fail");
        put("systemd-logind.service", "tracks logins, seats and sessions; restarting it can end the graphical"
                + " session and stops suspend and power-key handling meanwhile");
        put("accounts-daemon.service", "provides the user list to the login screen and settings");
        String ssh = "accepts remote logins; new SSH logins fail while it is down, and if it does not come back"
                + " remote access is lost";
        put("sshd.service", ssh);
        put("sshd.socket", ssh);
        put("systemd-resolved.service", "resolves host names; name lookups fail while it restarts");
        put("nscd.service", "caches user and host lookups; lookups slow down or fail while it restarts");
        put("systemd-udevd.service", "handles devices as they appear; input devices can stop responding while it"
                + " restarts");
        put("bluetooth.service", "connects Bluetooth keyboards, mice and headsets; they disconnect while it restarts");
        put("upower.service", "reports battery and power state to the desktop");
        put("getty@*.service", "a text console login; restarting it logs out anyone on that console");
        put("autovt@*.service", "a text console login; restarting it logs out anyone on that console");
        put("home-manager-*.service", "rewrites a user's home configuration while they are logged in");
        put("systemd-journald.service", "collects all logs; messages may be lost while it restarts");
    }

    private SessionUnits() {
    }

    private static void put(String glob, String why) {
        WHY.put(Globs.compile(glob), why);
    }

    /** Why the unit matters to a desktop session, or null when it does not. */
    public static String why(String unit) {
        for (Map.Entry<Pattern, String> e : WHY.entrySet()) {
            if (e.getKey().matcher(unit).matches()) {
                return e.getValue();
            }
        }
        return null;
    }
}
