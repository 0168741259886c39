package org.saferebuild.engine.preflight;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.build.BuildHistory;
import org.saferebuild.protocol.NixResult;
import org.saferebuild.protocol.PreflightReport.ConfigKind;
import org.saferebuild.protocol.Request;

/**
 * The configuration directories of the engine's settings as the Target screen lists them: what
 * each one is (flake or classic, its hosts), what it says about itself (the flake's description,
 * the leading comment of configuration.nix) and how its last build went. Reads only; the hosts
 * are evaluated (nothing is built), the rest is read from the files.
 */
public final class ConfigCatalog {
    private static final Pattern DESCRIPTION = Pattern.compile("(?m)^\\s*description\\s*=\\s*\"((?:[^\"\\\\]|\\\\.)*)\"\\s*;");
    /** nixos-generate-config's template starts so: it says nothing about this configuration. */
    private static final String TEMPLATE = "Edit this configuration file to define what should be installed";
    private static final int MAX_FILE = 256 * 1024;

    private final EngineConfig config;
    private final PreflightService preflight;
    private final BuildHistory history;

    public ConfigCatalog(EngineConfig config, PreflightService preflight, BuildHistory history) {
        this.config = config;
        this.preflight = preflight;
        this.history = history;
    }

    public NixResult.ConfigList list(Request.Configs request, OpContext ctx) throws Problem {
        Map<String, NixResult.LastBuild> builds = history.all();
        List<NixResult.ConfigSummary> out = new ArrayList<>();
        int n = 0;
        for (String dir : config.configDirs()) {
            ctx.checkCancelled();
            ctx.progress("configs", "Reading " + dir, (long) n++, (long) config.configDirs().size());
            out.add(summary(dir, builds.get(dir)));
        }
        return new NixResult.ConfigList(out);
    }

    private NixResult.ConfigSummary summary(String dir, NixResult.LastBuild last) {
        Path p = Path.of(dir);
        Path flake = p.resolve("flake.nix");
        Path classic = p.resolve("configuration.nix");
        String comment = leadingComment(classic);
        if (Files.isRegularFile(flake, LinkOption.NOFOLLOW_LINKS)) {
            String description = description(flake);
            try {
                return new NixResult.ConfigSummary(dir, ConfigKind.FLAKE, preflight.flakeHosts(dir), description,
                        comment, last, null);
            } catch (Problem e) {
                return new NixResult.ConfigSummary(dir, ConfigKind.FLAKE, List.of(), description, comment, last,
                        e.getMessage());
            }
        }
        if (Files.isRegularFile(classic, LinkOption.NOFOLLOW_LINKS)) {
            return new NixResult.ConfigSummary(dir, ConfigKind.CLASSIC, List.of(), null, comment, last, null);
        }
        return new NixResult.ConfigSummary(dir, ConfigKind.NONE, List.of(), null, null, last,
                Files.isDirectory(p) ? dir + " has neither flake.nix nor configuration.nix." : dir + " does not exist.");
    }

    /** The flake's top-level {@code description = "…";}, or null. */
    static String description(Path flake) {
        String text = read(flake);
        if (text == null) {
            return null;
        }
        Matcher m = DESCRIPTION.matcher(text);
        return m.find() ? m.group(1).replace("\\\"", "\"").strip() : null;
    }

    /**
     * The first paragraph of the file's leading {@code #} comment, joined into one line; null when
     * it has none or it is nixos-generate-config's template.
     */
    static String leadingComment(Path file) {
        String text = read(file);
        if (text == null) {
            return null;
        }
        StringBuilder b = new StringBuilder();
        for (String line : text.lines().toList()) {
            String s = line.strip();
            if (!s.startsWith("#")) {
                break;
            }
            String body = s.replaceFirst("^#+\\s?", "").strip();
            if (body.isEmpty()) {
                if (b.length() > 0) {
                    break;
                }
                continue;
            }
            if (b.length() > 0) {
                b.append(' ');
            }
            b.append(body);
        }
        String c = b.toString().strip();
        if (c.isEmpty() || c.startsWith(TEMPLATE)) {
            return null;
        }
        return c.length() > 300 ? c.substring(0, 297) + "…" : c;
    }

    private static String read(Path file) {
        try {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) || Files.size(file) > MAX_FILE) {
                return null;
            }
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
