package org.saferebuild.app.changes;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.InspectResult.Change;
import org.saferebuild.protocol.Sizes;

/**
 * The engine's package diff as nvd presents it: version changes, added and removed packages —
 * every one, with its versions and sizes; those rebuilt at the same version with another size, as
 * {@code nix store diff-closures} shows them — and apart from them the store paths that are not
 * packages (unit files, generated configuration: paths without a version on either side).
 * Presentation only: the name/version split is the engine's.
 */
public record PackageChanges(List<InspectResult.Package> changed, List<InspectResult.Package> added,
                             List<InspectResult.Package> removed, List<InspectResult.Package> resized,
                             List<InspectResult.Package> other) {

    /** A group as the screens list it: its title and its rows. */
    public record Group(String title, List<InspectResult.Package> rows, boolean packages) {
    }

    public static PackageChanges of(InspectResult.Packages p) {
        List<InspectResult.Package> changed = new ArrayList<>();
        List<InspectResult.Package> added = new ArrayList<>();
        List<InspectResult.Package> removed = new ArrayList<>();
        List<InspectResult.Package> other = new ArrayList<>();
        List<InspectResult.Package> resized = new ArrayList<>();
        for (InspectResult.Package x : p.resized()) {
            (isPackage(x) ? resized : other).add(x);
        }
        for (List<InspectResult.Package> list : List.of(p.changed(), p.added(), p.removed())) {
            for (InspectResult.Package x : list) {
                if (!isPackage(x)) {
                    other.add(x);
                } else if (x.change() == Change.ADDED) {
                    added.add(x);
                } else if (x.change() == Change.REMOVED) {
                    removed.add(x);
                } else {
                    changed.add(x);
                }
            }
        }
        Comparator<InspectResult.Package> byName = Comparator.comparing(InspectResult.Package::name);
        changed.sort(byName);
        added.sort(byName);
        removed.sort(byName);
        resized.sort(byName);
        other.sort(byName);
        return new PackageChanges(List.copyOf(changed), List.copyOf(added), List.copyOf(removed),
                List.copyOf(resized), List.copyOf(other));
    }

    /** A package has a version on at least one side; a unit file or generated file has none. */
    public static boolean isPackage(InspectResult.Package p) {
        return p.before().stream().anyMatch(v -> !v.isEmpty()) || p.after().stream().anyMatch(v -> !v.isEmpty());
    }

    public List<Group> groups() {
        List<Group> g = new ArrayList<>();
        g.add(new Group("Version changes (" + changed.size() + ")", changed, true));
        g.add(new Group("Added (" + added.size() + ")", added, true));
        g.add(new Group("Removed (" + removed.size() + ")", removed, true));
        g.add(new Group("Rebuilt, same version, other size (" + resized.size() + ")", resized, false));
        g.add(new Group("Units and generated files (" + other.size() + ")", other, false));
        return g;
    }

    /** "1 version change, 1 added, 2 removed; 2 other paths (units, files)". */
    public String summary() {
        return plural(changed.size(), "version change", "version changes") + ", " + added.size() + " added, "
                + removed.size() + " removed" + (resized.isEmpty() ? "" : ", " + resized.size() + " rebuilt")
                + (other.isEmpty() ? "" : "; " + plural(other.size(),
                "other path", "other paths") + " (units, generated files)");
    }

    /** "7.2", "120.0.1, 121.0", "—" for none, "(none)" for a path without a version. */
    public static String versions(List<String> v) {
        if (v.isEmpty()) {
            return "—";
        }
        return String.join(", ", v.stream().map(x -> x.isEmpty() ? "(no version)" : x).toList());
    }

    /**
     * "1.1 MiB → 1.2 MiB (+100.0 KiB)"; "514.2 KiB (+12 B)" when both sizes read the same; "+1.1 MiB"
     * for an added one, "−1.1 MiB" for a removed one.
     */
    public static String size(InspectResult.Package p) {
        long d = p.bytesAfter() - p.bytesBefore();
        String delta = (d >= 0 ? "+" : "−") + Sizes.human(Math.abs(d));
        if (p.change() == Change.ADDED || p.bytesBefore() == 0) {
            return delta;
        }
        if (p.change() == Change.REMOVED || p.bytesAfter() == 0) {
            return delta;
        }
        String before = Sizes.human(p.bytesBefore());
        String after = Sizes.human(p.bytesAfter());
        return (before.equals(after) ? after : before + " → " + after) + " (" + delta + ")";
    }

    /** "[U]", "[D]", "[C]", "[A]", "[R]": nvd's letters; "[S]" for a size change at the same version. */
    public static String letter(InspectResult.Package p) {
        return switch (p.change()) {
            case ADDED -> "A";
            case REMOVED -> "R";
            case UPGRADED -> "U";
            case DOWNGRADED -> "D";
            case CHANGED -> "C";
            case RESIZED -> "S";
        };
    }

    private static String plural(int n, String one, String many) {
        return n + " " + (n == 1 ? one : many);
    }
}
