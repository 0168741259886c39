package org.saferebuild.engine.inspect;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.saferebuild.protocol.InspectResult.Change;
import org.saferebuild.protocol.InspectResult.Package;
import org.saferebuild.protocol.InspectResult.Packages;

/**
 * The package diff of two closures, grouped as {@code nix store diff-closures} and nvd group them:
 * paths by package name (see {@link StoreName}: Nix's name/version split, output names taken
 * off); a name only in the new closure is added, only in the old one removed, in both with a
 * different set of versions changed (an upgrade or downgrade when each side has one version, by
 * Nix's own version order), and with the same versions but a size that differs by at least
 * {@link Packages#RESIZE_THRESHOLD_BYTES} resized (a rebuild, which diff-closures shows as a size
 * change). Several versions of one name (python3 3.11 and 3.12) are kept as a set.
 */
public final class PackageDiff {
    private PackageDiff() {
    }

    /** The versions of one package name in one closure, with the bytes of each version's paths. */
    private static final class Versions {
        /** Most names have one version: keep it inline and only make a map for the second. */
        String first;
        long firstBytes;
        Map<String, Long> more;
        long bytes;

        void add(String version, long size) {
            bytes += size;
            if (first == null) {
                first = version;
                firstBytes = size;
            } else if (first.equals(version)) {
                firstBytes += size;
            } else {
                if (more == null) {
                    more = new HashMap<>(4);
                }
                more.merge(version, size, Long::sum);
            }
        }

        boolean sameSet(Versions o) {
            if (more == null && o.more == null) {
                return first.equals(o.first);
            }
            return set().keySet().equals(o.set().keySet());
        }

        Map<String, Long> set() {
            Map<String, Long> m = new HashMap<>();
            m.put(first, firstBytes);
            if (more != null) {
                m.putAll(more);
            }
            return m;
        }

        List<String> sorted() {
            List<String> out = new ArrayList<>(set().keySet());
            out.sort(StoreName::compareVersions);
            return out;
        }

        int count() {
            return more == null ? 1 : 1 + more.size();
        }
    }

    private static Map<String, Versions> group(ClosureQuery.Closure c) {
        Map<String, Versions> m = new HashMap<>(c.size() * 2);
        String[] names = c.names();
        long[] sizes = c.sizes();
        String[] origins = c.origins();
        for (int i = 0; i < names.length; i++) {
            StoreName sn = StoreName.parse(names[i], origins[i]);
            m.computeIfAbsent(sn.pname(), k -> new Versions()).add(sn.version(), sizes[i]);
        }
        return m;
    }

    public static Packages diff(ClosureQuery.Closure before, ClosureQuery.Closure after) {
        Map<String, Versions> a = group(before);
        Map<String, Versions> b = group(after);
        List<Package> added = new ArrayList<>();
        List<Package> removed = new ArrayList<>();
        List<Package> changed = new ArrayList<>();
        List<Package> resized = new ArrayList<>();
        for (Map.Entry<String, Versions> e : a.entrySet()) {
            Versions old = e.getValue();
            Versions neu = b.get(e.getKey());
            if (neu == null) {
                removed.add(new Package(e.getKey(), Change.REMOVED, old.sorted(), List.of(), old.bytes, 0));
            } else if (!old.sameSet(neu)) {
                changed.add(new Package(e.getKey(), direction(old, neu), old.sorted(), neu.sorted(), old.bytes,
                        neu.bytes));
            } else if (Math.abs(neu.bytes - old.bytes) >= Packages.RESIZE_THRESHOLD_BYTES) {
                resized.add(new Package(e.getKey(), Change.RESIZED, old.sorted(), neu.sorted(), old.bytes,
                        neu.bytes));
            }
        }
        for (Map.Entry<String, Versions> e : b.entrySet()) {
            if (!a.containsKey(e.getKey())) {
                Versions neu = e.getValue();
                added.add(new Package(e.getKey(), Change.ADDED, List.of(), neu.sorted(), 0, neu.bytes));
            }
        }
        Comparator<Package> byName = Comparator.comparing(Package::name);
        added.sort(byName);
        removed.sort(byName);
        changed.sort(byName);
        resized.sort(byName);
        return new Packages(added, removed, changed, resized);
    }

    private static Change direction(Versions old, Versions neu) {
        if (old.count() != 1 || neu.count() != 1) {
            return Change.CHANGED;
        }
        int c = StoreName.compareVersions(neu.first, old.first);
        return c > 0 ? Change.UPGRADED : c < 0 ? Change.DOWNGRADED : Change.CHANGED;
    }

    /**
     * For tests and the benchmark: name → (versions only before, versions only after), for the
     * names whose versions differ (what diff-closures prints with an arrow).
     */
    public static Map<String, List<List<String>>> versionChanges(Packages p) {
        Map<String, List<List<String>>> out = new TreeMap<>();
        for (List<Package> list : List.of(p.added(), p.removed(), p.changed())) {
            for (Package pkg : list) {
                List<String> gone = new ArrayList<>(pkg.before());
                gone.removeAll(pkg.after());
                List<String> come = new ArrayList<>(pkg.after());
                come.removeAll(pkg.before());
                out.put(pkg.name(), List.of(gone, come));
            }
        }
        return out;
    }
}
