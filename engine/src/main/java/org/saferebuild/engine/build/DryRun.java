package org.saferebuild.engine.build;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.saferebuild.protocol.Values;

/**
 * Nix's own account of what a build would do ({@code nix-store --realise --dry-run}, the same
 * text as {@code nixos-rebuild dry-build}):
 * <pre>
 * these 4 derivations will be built:          (or: this derivation will be built:)
 *   /nix/store/…-firmware.drv
 * these 2 paths will be fetched (1.20 MiB download, 5.10 MiB unpacked):
 *   /nix/store/…-firefox-121.0
 * don't know how to build these paths:
 * </pre>
 */
record DryRun(List<String> toBuild, List<String> toFetch, Double downloadMiB, Double unpackedMiB,
              List<String> unknown) {
    private static final Pattern HEADER = Pattern.compile(
            "^(?:this|these \\d+) (derivations?|paths?) will be (built|fetched)(?: \\(([\\d.]+) MiB download, ([\\d.]+) MiB unpacked\\))?:\\s*$");
    private static final Pattern UNKNOWN = Pattern.compile("^don't know how to build these paths.*:\\s*$");

    static DryRun parse(List<String> lines) {
        List<String> build = new ArrayList<>();
        List<String> fetch = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        Double download = null;
        Double unpacked = null;
        List<String> into = null;
        for (String raw : lines) {
            String line = raw.strip();
            Matcher m = HEADER.matcher(line);
            if (m.matches()) {
                if (m.group(2).equals("built")) {
                    into = build;
                } else {
                    into = fetch;
                    if (m.group(3) != null) {
                        download = Double.valueOf(m.group(3));
                        unpacked = Double.valueOf(m.group(4));
                    }
                }
            } else if (UNKNOWN.matcher(line).matches()) {
                into = unknown;
            } else if (into != null && Values.isStorePath(line)) {
                into.add(line);
            } else if (!line.isEmpty()) {
                into = null;
            }
        }
        return new DryRun(List.copyOf(build), List.copyOf(fetch), download, unpacked, List.copyOf(unknown));
    }
}
