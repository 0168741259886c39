package org.saferebuild.engine.inspect;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.saferebuild.protocol.InspectResult.Action;
import org.saferebuild.protocol.InspectResult.Source;
import org.saferebuild.protocol.InspectResult.UnitAction;

/**
 * Which units activation would start, stop, restart or reload. Preferably from the new system's
 * own {@code switch-to-configuration dry-activate} (it knows which units are running); otherwise
 * computed from the unit files of both systems with the rules switch-to-configuration uses for
 * the common cases:
 * <ul>
 *   <li>a unit only in the new system, wanted or required by another unit → START;</li>
 *   <li>a unit only in the old system (or masked in the new one) → STOP, unless X-StopOnRemoval=false;</li>
 *   <li>a changed unit: .target units are started again anyway and not listed; a change only to
 *   [Unit] keys that do not matter at run time (Description, Documentation, OnFailure, …) → nothing,
 *   to X-Reload-Triggers only → RELOAD; .mount → RELOAD (remount); .socket/.path/.slice → SKIP;
 *   dbus → RELOAD; X-ReloadIfChanged=true → RELOAD; X-RestartIfChanged=false, RefuseManualStop or
 *   X-OnlyManualStart → SKIP; otherwise RESTART (a stop before activation and a start after it,
 *   or one restart with X-StopIfChanged=false or for non-services).</li>
 * </ul>
 * Unlike dry-activate, the computed plan cannot know what is running: it treats units that
 * something wants as running and says "if it is running" for the others.
 */
final class ActivationPlan {
    private static final Set<String> UNIT_KEYS_IGNORED = Set.of("X-Reload-Triggers", "Description", "Documentation",
            "OnFailure", "OnSuccess", "OnFailureJobMode", "IgnoreOnIsolate", "StopWhenUnneeded", "RefuseManualStart",
            "RefuseManualStop", "AllowIsolate", "CollectMode", "SourcePath");
    private static final Pattern DRY_LINE = Pattern.compile(
            "^would (stop|NOT stop|restart|start|reload) the following (?:changed )?units: (.*)$");
    private static final String IF_RUNNING = " (if it is running: nothing in the system starts it by itself)";
    private static final List<Action> ORDER = List.of(Action.STOP, Action.RESTART, Action.RELOAD, Action.START,
            Action.SKIP);

    record Plan(Source source, String method, List<UnitAction> actions, List<String> notes) {
    }

    /** What the paths of a unit file look like in diffs: the two systems' own paths. */
    record Sides(String fromPath, String toPath) {
        String oldName(String unit) {
            return fromPath + "/etc/systemd/system/" + unit;
        }

        String newName(String unit) {
            return toPath + "/etc/systemd/system/" + unit;
        }
    }

    private ActivationPlan() {
    }

    static Plan computed(UnitScan.Units from, UnitScan.Units to, Sides sides, String why) {
        List<UnitAction> actions = new ArrayList<>();
        Set<String> names = new TreeSet<>(from.names());
        names.addAll(to.names());
        for (String unit : names) {
            if (unit.contains("@.")) {
                continue; // a template never runs itself; its instances are listed
            }
            if (isAlias(from, unit) || isAlias(to, unit)) {
                continue; // systemd acts on the unit an alias names, under that name
            }
            Optional<UnitScan.UnitFile> of = from.file(unit).filter(f -> !f.masked() && f.file() != null);
            Optional<UnitScan.UnitFile> nf = to.file(unit).filter(f -> !f.masked() && f.file() != null);
            String type = UnitScan.typeOf(unit);
            if (of.isPresent() && nf.isEmpty()) {
                if (!of.get().ini().boolAnySection("X-StopOnRemoval", true)) {
                    continue;
                }
                String reason = (to.file(unit).map(UnitScan.UnitFile::masked).orElse(false)
                        ? "masked in the new system" : "no longer in the new system") + "; stopped"
                        + (from.enabled(unit) ? "" : " if it is running");
                actions.add(action(unit, Action.STOP, Source.UNIT_FILES, reason, from, to, sides));
            } else if (of.isEmpty() && nf.isPresent()) {
                if (to.enabled(unit)) {
                    actions.add(action(unit, Action.START, Source.UNIT_FILES, "new; " + enabledBy(to, unit)
                            + ", so it starts with that", from, to, sides));
                }
            } else if (of.isPresent()) {
                UnitScan.UnitFile o = of.get();
                UnitScan.UnitFile n = nf.get();
                if (o.text().equals(n.text()) || type.equals("target")) {
                    continue;
                }
                Action a;
                String reason;
                if (o.ini().without("Unit", UNIT_KEYS_IGNORED).equals(n.ini().without("Unit", UNIT_KEYS_IGNORED))) {
                    if (o.ini().all("Unit", "X-Reload-Triggers").equals(n.ini().all("Unit", "X-Reload-Triggers"))) {
                        continue; // only Description and the like changed: nothing to do at run time
                    }
                    a = Action.RELOAD;
                    reason = "its X-Reload-Triggers changed; reloaded";
                } else if (type.equals("mount")) {
                    a = Action.RELOAD;
                    reason = "changed; a mount unit is reloaded, which remounts it";
                } else if (type.equals("socket") || type.equals("path") || type.equals("slice")) {
                    a = Action.SKIP;
                    reason = "changed, but switch-to-configuration leaves changed ." + type + " units running";
                } else if (unit.equals("dbus.service") || unit.equals("dbus-broker.service")) {
                    a = Action.RELOAD;
                    reason = "changed; NixOS reloads the message bus instead of restarting it";
                } else if (n.ini().boolAnySection("X-ReloadIfChanged", false)) {
                    a = Action.RELOAD;
                    reason = "changed; reloaded, not restarted (X-ReloadIfChanged=true)";
                } else if (!n.ini().boolAnySection("X-RestartIfChanged", true)
                        || n.ini().bool("Unit", "RefuseManualStop", false)
                        || n.ini().boolAnySection("X-OnlyManualStart", false)) {
                    a = Action.SKIP;
                    reason = "changed, but left running: it is marked X-RestartIfChanged=false (restartIfChanged)"
                            + " or refuses manual stops";
                } else if (!n.ini().boolAnySection("X-StopIfChanged", true) || !type.equals("service")) {
                    a = Action.RESTART;
                    reason = "changed; restarted in place" + (type.equals("service") ? " (X-StopIfChanged=false)" : "");
                } else {
                    a = Action.RESTART;
                    reason = "changed; stopped before the new configuration is activated and started after it";
                }
                if (a != Action.SKIP && !from.enabled(unit) && !to.enabled(unit)) {
                    reason += IF_RUNNING;
                }
                actions.add(action(unit, a, Source.UNIT_FILES, reason, from, to, sides));
            }
        }
        sort(actions);
        return new Plan(Source.UNIT_FILES, "Computed from the unit files of both systems, the way"
                + " switch-to-configuration decides" + (why == null ? "" : " (" + why + ")")
                + ": new units that a target wants start, removed units stop, changed units restart, or reload for"
                + " mount units, dbus and X-ReloadIfChanged, or stay running for X-RestartIfChanged=false."
                + " Which units run is not known this way: units that nothing in the system wants are listed"
                + " \"if it is running\".", actions, List.of());
    }

    /** The units named in dry-activate's "would …" lines, by the word after "would". */
    static Map<String, Set<String>> parseDryActivate(List<String> lines) {
        Map<String, Set<String>> out = new LinkedHashMap<>();
        for (String line : lines) {
            Matcher m = DRY_LINE.matcher(line.strip());
            if (m.matches()) {
                Set<String> units = out.computeIfAbsent(m.group(1), k -> new LinkedHashSet<>());
                for (String u : m.group(2).split(",")) {
                    if (!u.isBlank()) {
                        units.add(u.strip());
                    }
                }
            }
        }
        return out;
    }

    static Plan fromDryActivate(List<String> output, UnitScan.Units from, UnitScan.Units to, Sides sides) {
        Map<String, Set<String>> lists = parseDryActivate(output);
        Set<String> stop = lists.getOrDefault("stop", Set.of());
        Set<String> start = lists.getOrDefault("start", Set.of());
        // The unit files say why; dry-activate only says what.
        Map<String, UnitAction> files = new LinkedHashMap<>();
        for (UnitAction a : computed(from, to, sides, null).actions()) {
            files.put(a.unit(), a);
        }
        List<UnitAction> actions = new ArrayList<>();
        Set<String> listed = new TreeSet<>();
        for (String u : stop) {
            listed.add(u);
            if (start.contains(u)) {
                actions.add(action(u, Action.RESTART, Source.DRY_ACTIVATE, why(files, u, Action.RESTART,
                        "stopped before the new configuration is activated and started after it"), from, to, sides));
            } else {
                actions.add(action(u, Action.STOP, Source.DRY_ACTIVATE, why(files, u, Action.STOP,
                        to.file(u).isPresent() ? "stopped" : "no longer in the new system; stopped"), from, to, sides));
            }
        }
        for (String u : start) {
            if (listed.add(u)) {
                actions.add(action(u, Action.START, Source.DRY_ACTIVATE, why(files, u, Action.START, "started"), from,
                        to, sides));
            }
        }
        for (String u : lists.getOrDefault("restart", Set.of())) {
            listed.add(u);
            actions.add(action(u, Action.RESTART, Source.DRY_ACTIVATE, why(files, u, Action.RESTART, "restarted"),
                    from, to, sides));
        }
        for (String u : lists.getOrDefault("reload", Set.of())) {
            listed.add(u);
            actions.add(action(u, Action.RELOAD, Source.DRY_ACTIVATE, why(files, u, Action.RELOAD, "reloaded"), from,
                    to, sides));
        }
        for (String u : lists.getOrDefault("NOT stop", Set.of())) {
            listed.add(u);
            actions.add(action(u, Action.SKIP, Source.DRY_ACTIVATE, why(files, u, Action.SKIP,
                    "changed, but left running (X-RestartIfChanged=false or RefuseManualStop)"), from, to, sides));
        }
        // dry-activate does not list new units: they start when their (already active) target is started.
        for (UnitAction a : files.values()) {
            if (a.action() == Action.START && !listed.contains(a.unit())) {
                actions.add(new UnitAction(a.unit(), Action.START, Source.UNIT_FILES, a.reason()
                        + " (dry-activate does not list new units; switch-to-configuration starts them with their"
                        + " target)", a.diff(), a.sessionCritical()));
            }
        }
        sort(actions);
        List<String> notes = new ArrayList<>();
        for (String line : output) {
            if (line.strip().equals("would restart systemd")) {
                notes.add("dry-activate: systemd itself would be re-executed (daemon-reexec).");
            }
        }
        return new Plan(Source.DRY_ACTIVATE, "Read from the new system's switch-to-configuration dry-activate,"
                + " which compares it with the running units; units that are new in the new system and wanted by"
                + " a target were added from the unit files, because dry-activate does not list them.", actions,
                notes);
    }

    private static boolean isAlias(UnitScan.Units units, String unit) {
        UnitScan.UnitFile f = units.files().get(unit);
        return f != null && f.aliasOf() != null;
    }

    /** The unit files' reason when they lead to the same action dry-activate reports, else {@code plain}. */
    private static String why(Map<String, UnitAction> files, String unit, Action action, String plain) {
        UnitAction f = files.get(unit);
        if (f == null || f.action() != action) {
            return plain;
        }
        return f.reason().replace(IF_RUNNING, ""); // dry-activate listed it: it is running
    }

    private static UnitAction action(String unit, Action a, Source source, String reason, UnitScan.Units from,
                                     UnitScan.Units to, Sides sides) {
        String oldText = from.file(unit).filter(f -> !f.masked() && f.file() != null).map(UnitScan.UnitFile::text)
                .orElse(null);
        String newText = to.file(unit).filter(f -> !f.masked() && f.file() != null).map(UnitScan.UnitFile::text)
                .orElse(null);
        String diff = oldText == null && newText == null ? ""
                : UnifiedDiff.of(sides.oldName(unit), sides.newName(unit), oldText, newText);
        return new UnitAction(unit, a, source, reason, diff, SessionUnits.why(unit));
    }

    private static String enabledBy(UnitScan.Units units, String unit) {
        List<String> by = new ArrayList<>();
        units.wantedBy().getOrDefault(unit, List.of()).forEach(t -> by.add("wanted by " + t));
        units.requiredBy().getOrDefault(unit, List.of()).forEach(t -> by.add("required by " + t));
        return String.join(", ", by);
    }

    private static void sort(List<UnitAction> actions) {
        actions.sort(Comparator.comparingInt((UnitAction u) -> ORDER.indexOf(u.action())).thenComparing(UnitAction::unit));
    }
}
