package org.saferebuild.engine.build;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.protocol.ProblemCode;

/**
 * Turns nix's evaluation errors into what the operator needs: the message, the file and line in
 * their configuration directory (nix reports the store copy of a flake, or /etc/nixos inside the
 * sandbox), and what to do about it.
 */
final class NixErrors {
    /** "at /nix/store/…-source/modules/x.nix:13:14:" (Nix 2.8 through current). */
    private static final Pattern POSITION = Pattern.compile("\\bat (/[^\\s:]+):(\\d+):(\\d+)");
    private static final Pattern STORE_SOURCE = Pattern.compile("/nix/store/[0-9a-z]{32}-source/(.+)");
    private static final Pattern ERROR_LINE = Pattern.compile("^\\s*error: (.+)$");
    /** Where the configuration directory appears inside the sandbox (plans bind it here). */
    static final String CONFIG_IN_SANDBOX = "/etc/nixos";

    private NixErrors() {
    }

    /** A position in the operator's configuration. */
    record Position(Path file, String relative, int line, int column, String source) {
        String display() {
            return relative + ", line " + line + ", column " + column;
        }
    }

    /** The last "error: …" line's text (newer nix prints a trace of "… while" lines before it). */
    static String summary(String stderr) {
        String clean = NixEnv.stripAnsi(stderr);
        String found = null;
        for (String line : clean.split("\n")) {
            Matcher m = ERROR_LINE.matcher(line);
            if (m.matches() && !m.group(1).isBlank()) {
                found = m.group(1).strip();
            }
        }
        if (found == null) {
            String first = NixEnv.firstError(clean);
            found = first.lines().findFirst().orElse(first).replaceFirst("^error:\\s*", "");
        }
        return found;
    }

    /**
     * The position nix blames, mapped into {@code configDir}: the first position after the last
     * "error:" line, else the last position that lies in the configuration.
     */
    static Optional<Position> position(String stderr, Path configDir) {
        String clean = NixEnv.stripAnsi(stderr);
        int lastError = -1;
        Matcher e = Pattern.compile("(?m)^\\s*error:").matcher(clean);
        while (e.find()) {
            lastError = e.start();
        }
        List<Position> all = new ArrayList<>();
        Position afterError = null;
        Matcher m = POSITION.matcher(clean);
        while (m.find()) {
            Optional<Position> p = map(m.group(1), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                    configDir);
            if (p.isPresent()) {
                all.add(p.get());
                if (afterError == null && m.start() > lastError) {
                    afterError = p.get();
                }
            }
        }
        if (afterError != null) {
            return Optional.of(afterError);
        }
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /**
     * A file nix names, as a file of the configuration: /etc/nixos/… (inside the sandbox) or the
     * flake's store copy /nix/store/…-source/… when the same file with the same content is in the
     * configuration directory (other inputs are also called "-source").
     */
    static Optional<Position> map(String nixPath, int line, int column, Path configDir) {
        String rel = null;
        if (nixPath.startsWith(CONFIG_IN_SANDBOX + "/")) {
            rel = nixPath.substring(CONFIG_IN_SANDBOX.length() + 1);
        } else {
            Matcher s = STORE_SOURCE.matcher(nixPath);
            if (s.matches()) {
                rel = s.group(1);
                if (!sameContent(Path.of(nixPath), configDir.resolve(rel))) {
                    rel = null;
                }
            }
        }
        if (rel == null || rel.contains("..")) {
            return Optional.empty();
        }
        Path file = configDir.resolve(rel);
        String source = null;
        try {
            List<String> lines = Files.readAllLines(file);
            if (line >= 1 && line <= lines.size()) {
                source = lines.get(line - 1);
            }
        } catch (IOException ex) {
            return Optional.empty();
        }
        return Optional.of(new Position(file, rel, line, column, source));
    }

    private static boolean sameContent(Path a, Path b) {
        try {
            return Files.isRegularFile(b) && Files.size(a) == Files.size(b)
                    && Arrays.equals(Files.readAllBytes(a), Files.readAllBytes(b));
        } catch (IOException e) {
            return false;
        }
    }

    /** EVALUATION_FAILED with the file and line, and a sentence saying what to do. */
    static Problem evaluation(String stderr, Path configDir) {
        String summary = summary(stderr);
        Optional<Position> pos = position(stderr, configDir);
        String hint = hint(summary);
        if (pos.isPresent()) {
            Position p = pos.get();
            String message = "The configuration does not evaluate: " + summary + "\n  at " + p.file() + ":" + p.line()
                    + ":" + p.column() + (p.source() == null ? "" : "\n  " + p.line() + "| " + p.source().strip());
            String fix = "Open " + p.relative() + " at line " + p.line() + " (in " + configDir + ") and correct it: "
                    + hint + " Then validate again.";
            return new Problem(ProblemCode.EVALUATION_FAILED, message, fix);
        }
        return new Problem(ProblemCode.EVALUATION_FAILED, "The configuration does not evaluate: " + summary,
                Character.toUpperCase(hint.charAt(0)) + hint.substring(1)
                        + " nix's whole message is in the log. Then validate again.");
    }

    static String hint(String summary) {
        Matcher m;
        if ((m = Pattern.compile("undefined variable '([^']+)'").matcher(summary)).find()) {
            return "'" + m.group(1) + "' is not defined where it is used. Define it (let " + m.group(1)
                    + " = …; in …), take it from the module's arguments ({ config, pkgs, … }:) or correct its spelling.";
        }
        if (summary.contains("syntax error")) {
            return "fix the syntax there; a missing ';', closing brace, bracket or quote just before that spot is"
                    + " the usual cause.";
        }
        if ((m = Pattern.compile("attribute '([^']+)' missing").matcher(summary)).find()) {
            return "nothing named '" + m.group(1) + "' exists there. Check its spelling, and whether that option or"
                    + " package exists in the nixpkgs this configuration uses.";
        }
        if (summary.contains("infinite recursion")) {
            return "a value depends on itself. Look for an option defined from its own value.";
        }
        if (summary.contains("was expected")) {
            return "a value has the wrong type. Check what that line gives and what the option expects.";
        }
        if (summary.contains("does not exist") || summary.contains("No such file")) {
            return "a file the configuration imports is missing. Add it or correct the path.";
        }
        return "correct the expression there (nix's whole message is in the log).";
    }
}
