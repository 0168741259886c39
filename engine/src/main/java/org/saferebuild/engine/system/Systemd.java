package org.saferebuild.engine.system;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.SystemResult;

/**
 * What systemd and journald say (runbook step 7: {@code systemctl status}, {@code journalctl -b}).
 * Used only where systemd runs; every method reports failure as an exception so the caller can
 * say the check did not run, never pretend it passed.
 */
final class Systemd {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    /** Journal lines kept per verification: the most recent matches. */
    static final int MAX_MATCHES = 200;

    private final Tools tools;
    private final Map<String, String> env;

    Systemd(Tools tools, List<String> toolDirs) {
        this.tools = tools;
        this.env = Map.of("PATH", String.join(":", toolDirs), "SYSTEMD_COLORS", "0", "SYSTEMD_PAGER", "");
    }

    /** States of the watched units; globs are expanded with {@code systemctl list-units --all}. */
    List<SystemResult.ServiceState> services(List<String> patterns) throws Problem, IOException {
        Set<String> units = new LinkedHashSet<>();
        List<String> globs = new ArrayList<>();
        for (String p : patterns) {
            if (p.contains("*") || p.contains("?") || p.contains("[")) {
                globs.add(p);
            } else {
                units.add(p);
            }
        }
        if (!globs.isEmpty()) {
            Exec.Outcome o = run("systemctl", List.of("list-units", "--all", "--plain", "--no-legend", "--no-pager",
                    "--full"), globs);
            o.stdout().lines().map(String::strip).filter(l -> !l.isEmpty())
                    .map(l -> l.split("\\s+")[0]).forEach(units::add);
        }
        List<SystemResult.ServiceState> out = new ArrayList<>();
        if (units.isEmpty()) {
            return out;
        }
        Exec.Outcome o = run("systemctl", List.of("show", "--no-pager", "--timestamp=unix", "-p",
                "Id,LoadState,ActiveState,SubState,Result,NRestarts,ExecMainStartTimestamp"), List.copyOf(units));
        Map<String, String> block = new TreeMap<>();
        for (String line : (o.stdout() + "\n\n").lines().toList()) {
            if (line.isBlank()) {
                if (block.containsKey("Id")) {
                    out.add(new SystemResult.ServiceState(block.get("Id"), block.get("LoadState"),
                            block.get("ActiveState"), block.get("SubState"), block.get("Result"),
                            number(block.get("NRestarts")), unixTime(block.get("ExecMainStartTimestamp"))));
                }
                block.clear();
            } else {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    block.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
        }
        return out;
    }

    private static Integer number(String value) {
        try {
            return value == null || value.isEmpty() ? null : Integer.valueOf(value);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** "@1733023211" (systemctl show --timestamp=unix) as an ISO instant; null when empty. */
    private static String unixTime(String value) {
        if (value == null || !value.matches("@\\d+")) {
            return null;
        }
        return java.time.Instant.ofEpochSecond(Long.parseLong(value.substring(1))).toString();
    }

    List<String> failedUnits() throws Problem, IOException {
        Exec.Outcome o = run("systemctl", List.of("list-units", "--state=failed", "--all", "--plain", "--no-legend",
                "--no-pager", "--full"), List.of());
        return o.stdout().lines().map(String::strip).filter(l -> !l.isEmpty()).map(l -> l.split("\\s+")[0]).toList();
    }

    /** The cursor of this boot's newest journal entry (null when the journal is empty). */
    String journalCursor() throws Problem, IOException {
        Exec.Outcome o = run("journalctl", List.of("-b", "-n", "1", "-o", "json", "--no-pager"), List.of());
        for (String line : o.stdout().lines().toList()) {
            JsonNode n = Json.mapper().readTree(line);
            if (n.hasNonNull("__CURSOR")) {
                return n.get("__CURSOR").asText();
            }
        }
        return null;
    }

    /** This boot's journal lines (after {@code cursor} when given) that contain {@code text}. */
    List<String> journalMatches(String cursor, String text) throws Problem, IOException {
        List<String> args = new ArrayList<>(List.of("-b", "--no-pager", "-o", "short-iso"));
        if (cursor != null) {
            args.add("--after-cursor=" + cursor);
        }
        Exec.Outcome o = run("journalctl", args, List.of());
        Deque<String> last = new ArrayDeque<>();
        o.stdout().lines().filter(l -> l.contains(text)).forEach(l -> {
            if (last.size() == MAX_MATCHES) {
                last.removeFirst();
            }
            last.addLast(l);
        });
        return List.copyOf(last);
    }

    private Exec.Outcome run(String tool, List<String> args, List<String> operands) throws Problem, IOException {
        Command.Builder b = Command.of(tools.require(tool)).args(args);
        if (!operands.isEmpty()) {
            // "--" so that no unit name or glob can be read as an option.
            b.args("--").args(operands);
        }
        Exec.Outcome o = Exec.run(b.env(env).timeout(TIMEOUT).build());
        if (!o.ok()) {
            throw new IOException(tool + " " + String.join(" ", args) + " failed (exit " + o.exitCode() + "): "
                    + (o.stderrTail().isEmpty() ? "no message" : o.stderrTail().get(o.stderrTail().size() - 1)));
        }
        return o;
    }
}
