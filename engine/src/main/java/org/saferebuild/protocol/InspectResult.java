package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import java.util.List;
import java.util.Objects;

/** Answers to {@link InspectRequest}s. */
@JsonSubTypes({
        @JsonSubTypes.Type(value = InspectResult.Inspection.class, name = "inspection"),
        @JsonSubTypes.Type(value = InspectResult.Comparison.class, name = "comparison"),
})
public sealed interface InspectResult extends ResultBody {

    /**
     * Which system a report is about.
     *
     * @param ref          what the request named
     * @param path         the system's store path
     * @param label        words for the operator: "generation 3 (running)", "built system"
     * @param generation   the profile generation that points at it, if any (the newest one)
     * @param running      whether it is the running system (the currentSystem link)
     * @param booted       whether it is the booted system (the bootedSystem link)
     * @param nixosVersion the system's nixos-version file, if it has one
     */
    record SystemInfo(SystemRef ref, String path, String label, Integer generation, boolean running,
                      boolean booted, String nixosVersion) {
        public SystemInfo {
            Objects.requireNonNull(ref, "ref");
            Values.storePath(path, "path");
            Values.require(label, "label");
        }
    }

    /**
     * One unit of the system's etc/systemd/system.
     *
     * @param type            the suffix: service, socket, target, timer, mount, path, slice, …
     * @param wantedBy        units whose {@code .wants/} (or {@code .upholds/}) directory names it
     * @param requiredBy      units whose {@code .requires/} directory names it
     * @param execStart       the effective ExecStart= lines (drop-ins applied; empty for non-services)
     * @param aliasOf         for an alias link (dbus-org.freedesktop.login1.service), the unit it names
     * @param masked          linked to /dev/null
     * @param file            the unit's file as the operator would open it (its store path)
     * @param sessionCritical why touching it matters to a desktop session, or null
     */
    record Unit(String name, String type, List<String> wantedBy, List<String> requiredBy, List<String> execStart,
                String description, String aliasOf, boolean masked, String file, String sessionCritical) {
        public Unit {
            Values.require(name, "name");
            Values.require(type, "type");
            wantedBy = List.copyOf(wantedBy);
            requiredBy = List.copyOf(requiredBy);
            execStart = List.copyOf(execStart);
        }
    }

    /** One watched-service glob from the settings, and the units that match it (none: missing). */
    record WatchedService(String glob, boolean present, List<String> units) {
        public WatchedService {
            Values.require(glob, "glob");
            units = List.copyOf(units);
            if (present == units.isEmpty()) {
                throw new IllegalArgumentException("present must mean: at least one unit matches");
            }
        }
    }

    /**
     * One line of the system's etc/ that matches a configuration search pattern.
     *
     * @param file the path inside the system as the operator sees it ("etc/chakra/field.conf")
     * @param line 1-based line number
     * @param text the line (cut at 400 characters)
     */
    record ConfigHit(String pattern, String file, int line, String text) {
        public ConfigHit {
            Values.require(pattern, "pattern");
            Values.require(file, "file");
            if (line < 1) {
                throw new IllegalArgumentException("line must be 1 or more");
            }
            Objects.requireNonNull(text, "text");
        }
    }

    /**
     * The configuration search through etc/ (the runbook's {@code grep -r}, following the links a
     * real NixOS etc/ is made of, skipping binary files, bounded).
     *
     * @param filesSearched text files read
     * @param binarySkipped files skipped because they contain NUL bytes
     * @param largeSkipped  files skipped because they are larger than the limit
     * @param truncated     whether a limit (hits, files) stopped the search early
     */
    record ConfigSearch(List<String> patterns, List<ConfigHit> hits, int filesSearched, int binarySkipped,
                        int largeSkipped, boolean truncated) {
        public ConfigSearch {
            patterns = List.copyOf(patterns);
            hits = List.copyOf(hits);
        }
    }

    /** A closure: how many store paths, and the sum of their NAR sizes in bytes. */
    record Closure(int paths, long bytes) {
        public Closure {
            if (paths < 0 || bytes < 0) {
                throw new IllegalArgumentException("closure counts cannot be negative");
            }
        }
    }

    record Inspection(SystemInfo system, List<Unit> units, List<WatchedService> watched, ConfigSearch configSearch,
                      Closure closure, List<String> notes) implements InspectResult {
        public Inspection {
            Objects.requireNonNull(system, "system");
            units = List.copyOf(units);
            watched = List.copyOf(watched);
            Objects.requireNonNull(configSearch, "configSearch");
            Objects.requireNonNull(closure, "closure");
            notes = List.copyOf(notes);
        }
    }

    /**
     * How a package differs: nvd's A, R, U, D and C; RESIZED: the same versions on both sides,
     * rebuilt with a size that differs by at least {@link Packages#RESIZE_THRESHOLD_BYTES}
     * (as {@code nix store diff-closures} shows such a package).
     */
    enum Change { ADDED, REMOVED, UPGRADED, DOWNGRADED, CHANGED, RESIZED }

    /**
     * A package (store paths grouped by name, nvd-style) whose versions differ between the two
     * closures. {@code before}/{@code after} are all versions on each side ("" for paths without
     * a version); sizes are the NAR sizes of all its paths on each side.
     */
    record Package(String name, Change change, List<String> before, List<String> after, long bytesBefore,
                   long bytesAfter) {
        public Package {
            Values.require(name, "name");
            Objects.requireNonNull(change, "change");
            before = List.copyOf(before);
            after = List.copyOf(after);
        }
    }

    /**
     * @param changed packages whose versions differ (UPGRADED, DOWNGRADED, CHANGED)
     * @param resized packages with the same versions whose size changed by at least
     *                {@link #RESIZE_THRESHOLD_BYTES} (RESIZED: rebuilt, e.g. against a new
     *                dependency); absent in answers of engines before it was added, read as empty
     */
    record Packages(List<Package> added, List<Package> removed, List<Package> changed, List<Package> resized) {
        /** diff-closures' threshold for showing a size change: 8 KiB. */
        public static final long RESIZE_THRESHOLD_BYTES = 8 * 1024;

        public Packages {
            added = List.copyOf(added);
            removed = List.copyOf(removed);
            changed = List.copyOf(changed);
            resized = resized == null ? List.of() : List.copyOf(resized);
        }

        public Packages(List<Package> added, List<Package> removed, List<Package> changed) {
            this(added, removed, changed, List.of());
        }
    }

    /**
     * What switch-to-configuration does with a unit. SKIP: the unit changed but is left running
     * (X-RestartIfChanged=false, RefuseManualStop, or a unit type it does not restart).
     */
    enum Action { START, STOP, RESTART, RELOAD, SKIP }

    /** Where an action comes from: the new system's own dry-activate, or the unit files compared. */
    enum Source { DRY_ACTIVATE, UNIT_FILES }

    /**
     * One unit that activation would touch.
     *
     * @param reason          why, in words
     * @param diff            unified diff of its unit file (with drop-ins), old → new; "" if unchanged
     * @param sessionCritical why this matters to a desktop session, or null
     */
    record UnitAction(String unit, Action action, Source source, String reason, String diff, String sessionCritical) {
        public UnitAction {
            Values.require(unit, "unit");
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(source, "source");
            Values.require(reason, "reason");
            Objects.requireNonNull(diff, "diff");
        }
    }

    /** One boot item that differs: "kernel", "initrd", "kernel-modules" or "kernel-params". */
    record RebootItem(String item, String before, String after) {
        public RebootItem {
            Values.require(item, "item");
        }
    }

    /**
     * Whether the new system needs a reboot to take full effect.
     *
     * @param comparedWith which system's boot items were compared (the booted one when the
     *                     comparison starts from the running system)
     */
    record Reboot(boolean advised, List<RebootItem> items, String comparedWith, String advice) {
        public Reboot {
            items = List.copyOf(items);
            if (advised == items.isEmpty()) {
                throw new IllegalArgumentException("a reboot is advised exactly when boot items differ");
            }
            Values.require(comparedWith, "comparedWith");
            Values.require(advice, "advice");
        }
    }

    /**
     * What activating {@code to} changes compared with {@code from}.
     *
     * @param bytesDelta  closure size of {@code to} minus that of {@code from}
     * @param unitSource  DRY_ACTIVATE when {@code to}'s switch-to-configuration dry-activate was
     *                    asked (only when {@code from} is the running system), else UNIT_FILES
     * @param unitMethod  one sentence saying how the unit actions were found
     * @param millis      how long the comparison took
     */
    record Comparison(SystemInfo from, SystemInfo to, Packages packages, Closure closureFrom, Closure closureTo,
                      long bytesDelta, Source unitSource, String unitMethod, List<UnitAction> units, Reboot reboot,
                      List<String> notes, long millis) implements InspectResult {
        public Comparison {
            Objects.requireNonNull(from, "from");
            Objects.requireNonNull(to, "to");
            Objects.requireNonNull(packages, "packages");
            Objects.requireNonNull(closureFrom, "closureFrom");
            Objects.requireNonNull(closureTo, "closureTo");
            if (bytesDelta != closureTo.bytes() - closureFrom.bytes()) {
                throw new IllegalArgumentException("bytesDelta must be closureTo.bytes - closureFrom.bytes");
            }
            Objects.requireNonNull(unitSource, "unitSource");
            Values.require(unitMethod, "unitMethod");
            units = List.copyOf(units);
            Objects.requireNonNull(reboot, "reboot");
            notes = List.copyOf(notes);
        }

        /** The actions of one kind, for callers that need "what would restart". */
        public List<UnitAction> unitsWith(Action action) {
            return units.stream().filter(u -> u.action() == action).toList();
        }
    }
}
