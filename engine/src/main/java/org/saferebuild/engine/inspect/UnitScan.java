package org.saferebuild.engine.inspect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The units of a system: its etc/systemd/system (runbook step 4's
 * {@code ls result/etc/systemd/system/*-chakra.service}), following the links a real NixOS is
 * made of: etc → the etc derivation, systemd/system → the system-units derivation, each unit → its
 * own store path. {@code X.wants/}, {@code X.requires/} and {@code X.upholds/} say which units
 * enable which; {@code X.d/*.conf} are drop-ins.
 */
final class UnitScan {
    static final Set<String> TYPES = Set.of("service", "socket", "target", "timer", "mount", "automount", "path",
            "slice", "scope", "swap", "device");
    /** A unit file larger than this is not a unit file anyone wrote by hand; it is listed but not read. */
    private static final int MAX_UNIT_BYTES = 1 << 20;
    private static final int MAX_ENTRIES = 20_000;

    /**
     * One unit file as found.
     *
     * @param file    the store path of its file ("/dev/null" when masked); null when unreadable
     * @param text    the file and its drop-ins, as one text for diffs ("" when masked)
     * @param aliasOf the unit an alias link names
     */
    record UnitFile(String name, String file, boolean masked, String aliasOf, String text, UnitIni ini) {
    }

    /** All units of one system and who enables them. */
    record Units(Map<String, UnitFile> files, Map<String, List<String>> wantedBy, Map<String, List<String>> requiredBy,
                 List<String> notes) {
        static Units empty(String note) {
            return new Units(Map.of(), Map.of(), Map.of(), List.of(note));
        }

        /** The file for a unit name, through its template for an instance (getty@tty1 → getty@). */
        Optional<UnitFile> file(String unit) {
            UnitFile f = files.get(unit);
            if (f == null) {
                String t = templateOf(unit);
                f = t == null ? null : files.get(t);
            }
            return Optional.ofNullable(f);
        }

        /** Whether something in this system pulls the unit in (it runs when its target is active). */
        boolean enabled(String unit) {
            return wantedBy.containsKey(unit) || requiredBy.containsKey(unit);
        }

        /** Unit names: files plus enabled instances of templates. */
        Set<String> names() {
            Set<String> all = new java.util.TreeSet<>(files.keySet());
            for (String u : wantedBy.keySet()) {
                if (file(u).isPresent()) {
                    all.add(u);
                }
            }
            for (String u : requiredBy.keySet()) {
                if (file(u).isPresent()) {
                    all.add(u);
                }
            }
            return all;
        }
    }

    private UnitScan() {
    }

    static String typeOf(String unit) {
        int dot = unit.lastIndexOf('.');
        return dot < 0 ? "" : unit.substring(dot + 1);
    }

    static boolean isUnitName(String name) {
        return TYPES.contains(typeOf(name)) && name.length() > typeOf(name).length() + 1;
    }

    /** "getty@tty1.service" → "getty@.service"; null when not an instance. */
    static String templateOf(String unit) {
        int at = unit.indexOf('@');
        int dot = unit.lastIndexOf('.');
        if (at < 0 || dot < at || at + 1 == dot) {
            return null;
        }
        return unit.substring(0, at + 1) + unit.substring(dot);
    }

    static Units scan(Path systemRoot) throws IOException {
        Optional<Path> dir = StoreFiles.real(systemRoot.resolve("etc/systemd/system"));
        if (dir.isEmpty() || !Files.isDirectory(dir.get())) {
            return Units.empty("The system has no etc/systemd/system directory inside the store.");
        }
        Map<String, UnitFile> files = new TreeMap<>();
        Map<String, List<String>> wantedBy = new TreeMap<>();
        Map<String, List<String>> requiredBy = new TreeMap<>();
        Map<String, List<Path>> dropIns = new TreeMap<>();
        List<String> notes = new ArrayList<>();
        List<Path> entries;
        try (Stream<Path> s = Files.list(dir.get())) {
            entries = s.limit(MAX_ENTRIES).sorted().toList();
        }
        for (Path entry : entries) {
            String name = entry.getFileName().toString();
            Optional<Path> real = StoreFiles.real(entry);
            if (name.endsWith(".wants") || name.endsWith(".requires") || name.endsWith(".upholds")) {
                if (real.isPresent() && Files.isDirectory(real.get())) {
                    String owner = name.substring(0, name.lastIndexOf('.'));
                    Map<String, List<String>> into = name.endsWith(".requires") ? requiredBy : wantedBy;
                    try (Stream<Path> s = Files.list(real.get())) {
                        for (Path w : s.sorted().toList()) {
                            into.computeIfAbsent(w.getFileName().toString(), k -> new ArrayList<>()).add(owner);
                        }
                    }
                }
            } else if (name.endsWith(".d")) {
                if (real.isPresent() && Files.isDirectory(real.get())) {
                    try (Stream<Path> s = Files.list(real.get())) {
                        dropIns.put(name.substring(0, name.length() - 2),
                                s.filter(p -> p.getFileName().toString().endsWith(".conf")).sorted().toList());
                    }
                }
            } else if (isUnitName(name)) {
                files.put(name, readUnit(entry, name, real, notes));
            }
        }
        for (Map.Entry<String, List<Path>> d : dropIns.entrySet()) {
            UnitFile base = files.get(d.getKey());
            if (base == null || base.masked() || base.file() == null) {
                continue;
            }
            StringBuilder text = new StringBuilder(base.text());
            UnitIni ini = UnitIni.parse(base.text());
            for (Path conf : d.getValue()) {
                Optional<Path> r = StoreFiles.real(conf);
                byte[] b = r.isPresent() && Files.isRegularFile(r.get()) ? StoreFiles.readBounded(r.get(), MAX_UNIT_BYTES)
                        : null;
                if (b == null) {
                    notes.add("Drop-in " + d.getKey() + ".d/" + conf.getFileName() + " could not be read.");
                    continue;
                }
                String t = StoreFiles.decode(b);
                text.append("\n### drop-in ").append(d.getKey()).append(".d/").append(conf.getFileName()).append('\n')
                        .append(t);
                ini.apply(t);
            }
            files.put(d.getKey(), new UnitFile(base.name(), base.file(), false, base.aliasOf(), text.toString(), ini));
        }
        wantedBy.values().forEach(Collections::sort);
        requiredBy.values().forEach(Collections::sort);
        return new Units(files, wantedBy, requiredBy, notes);
    }

    private static UnitFile readUnit(Path entry, String name, Optional<Path> real, List<String> notes)
            throws IOException {
        String aliasOf = null;
        if (Files.isSymbolicLink(entry)) {
            // NixOS makes an alias as a link to the other unit's bare name in the same directory.
            Path target = Files.readSymbolicLink(entry);
            if (!target.isAbsolute() && target.getNameCount() == 1 && isUnitName(target.toString())
                    && !target.toString().equals(name)) {
                aliasOf = target.toString();
            }
        }
        if (real.isEmpty()) {
            notes.add("Unit " + name + " is a link that leaves the store or is broken; it was not read.");
            return new UnitFile(name, null, false, aliasOf, "", UnitIni.parse(""));
        }
        if (real.get().equals(StoreFiles.DEV_NULL)) {
            return new UnitFile(name, StoreFiles.DEV_NULL.toString(), true, null, "", UnitIni.parse(""));
        }
        byte[] b = Files.isRegularFile(real.get()) ? StoreFiles.readBounded(real.get(), MAX_UNIT_BYTES) : null;
        if (b == null) {
            notes.add("Unit " + name + " is not a regular file below 1 MiB; it was not read.");
            return new UnitFile(name, real.get().toString(), false, aliasOf, "", UnitIni.parse(""));
        }
        String text = StoreFiles.decode(b);
        return new UnitFile(name, real.get().toString(), false, aliasOf, text, UnitIni.parse(text));
    }
}
