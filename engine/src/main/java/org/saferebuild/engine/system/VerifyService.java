package org.saferebuild.engine.system;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.OpContext;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;
import org.saferebuild.protocol.SystemResult.Check;
import org.saferebuild.protocol.SystemResult.CheckStatus;

/**
 * Runbook step 7 ("Verify Activation"): the running system, the watched services, units failed
 * now that were not at the baseline, the tails of the watched logs, and this boot's journal lines
 * with the pattern. A check that cannot run here says so (NOT_RUN) and the verdict is then never
 * PASS: the engine does not report a pass it did not see.
 */
public final class VerifyService {
    static final int TAIL_LINES = 20;
    /** New lines since the baseline kept per log file (the most recent). */
    static final int MAX_NEW_LINES = 500;
    private static final long MAX_TAIL_BYTES = 256 * 1024;

    private final EngineConfig config;
    private final SystemProfile profile;
    private final Activation activation;
    private final BaselineService baselines;
    private final ApplyService apply;
    private final Systemd systemd;

    public VerifyService(EngineConfig config, SystemProfile profile, Activation activation, BaselineService baselines,
                         ApplyService apply, Tools tools) {
        this.config = config;
        this.profile = profile;
        this.activation = activation;
        this.baselines = baselines;
        this.apply = apply;
        this.systemd = new Systemd(tools, config.toolDirs());
    }

    public SystemResult.VerifyReport verify(SystemRequest.Verify r, OpContext ctx) throws Problem {
        SystemResult.Baseline baseline;
        try {
            baseline = baselines.latest();
        } catch (IOException e) {
            throw Problem.internal("Cannot read the latest baseline: " + e.getMessage(), e);
        }
        List<Check> checks = new ArrayList<>();
        checks.add(runningSystem());

        boolean systemd = activation.systemdRunning();
        String noSystemd = "systemd is not running here (no /run/systemd/system), so unit states cannot be read.";
        List<SystemResult.ServiceState> services = null;
        List<String> newlyFailed = null;
        List<String> journal = null;
        if (systemd) {
            ctx.progress("services", "systemctl show " + String.join(" ", config.watchedServices()), null, null);
            try {
                services = this.systemd.services(config.watchedServices());
                checks.add(servicesCheck(services));
            } catch (IOException | Problem e) {
                checks.add(new Check("watched services", CheckStatus.NOT_RUN, "systemctl could not be asked: "
                        + e.getMessage(), "Run systemctl status " + String.join(" ", config.watchedServices())
                        + " yourself."));
            }
            try {
                List<String> failedNow = this.systemd.failedUnits();
                if (baseline == null || baseline.failedUnits() == null) {
                    newlyFailed = failedNow;
                    checks.add(new Check("failed units", failedNow.isEmpty() ? CheckStatus.PASS : CheckStatus.WARN,
                            failedNow.isEmpty() ? "No unit has failed." : "Failed now: " + String.join(", ", failedNow)
                                    + " (no baseline to tell which are new).",
                            "Take a baseline before applying, so new failures can be told from old ones."));
                } else {
                    newlyFailed = failedNow.stream().filter(u -> !baseline.failedUnits().contains(u)).toList();
                    checks.add(newlyFailed.isEmpty()
                            ? new Check("failed units", CheckStatus.PASS, "No unit failed since the baseline ("
                                    + failedNow.size() + " failed already before).", null)
                            : new Check("failed units", CheckStatus.FAIL, "Failed since the baseline: "
                                    + String.join(", ", newlyFailed) + ".", "Look at systemctl status and"
                                    + " journalctl -u for each; revert or roll back if they matter."));
                }
            } catch (IOException | Problem e) {
                checks.add(new Check("failed units", CheckStatus.NOT_RUN, "systemctl could not be asked: "
                        + e.getMessage(), "Run systemctl --failed yourself."));
            }
            try {
                journal = this.systemd.journalMatches(baseline == null ? null : baseline.journalCursor(),
                        config.journalPattern());
                checks.add(new Check("journal", journal.isEmpty() ? CheckStatus.WARN : CheckStatus.PASS,
                        journal.isEmpty() ? "No journal line of this boot" + (baseline != null ? " since the baseline"
                                : "") + " contains \"" + config.journalPattern() + "\"."
                                : journal.size() + " journal line(s) contain \"" + config.journalPattern() + "\".",
                        journal.isEmpty() ? "Check with journalctl -b | grep '" + config.journalPattern()
                                + "' whether the activation ran." : null));
            } catch (IOException | Problem e) {
                checks.add(new Check("journal", CheckStatus.NOT_RUN, "journalctl could not be asked: "
                        + e.getMessage(), "Run journalctl -b yourself."));
            }
        } else {
            checks.add(new Check("watched services", CheckStatus.NOT_RUN, noSystemd,
                    "Verify on a machine where systemd runs, or look at the services yourself."));
            checks.add(new Check("failed units", CheckStatus.NOT_RUN, noSystemd, "Nothing to do on a test machine."));
            checks.add(new Check("journal", CheckStatus.NOT_RUN, "journald is not running here (no systemd), so"
                    + " there is no journal of this boot to search for \"" + config.journalPattern() + "\".",
                    "Nothing to do on a test machine; the watched logs are checked instead."));
        }

        ctx.progress("logs", "Reading the watched logs", null, null);
        List<SystemResult.LogTail> logs = new ArrayList<>();
        int newMatches = 0;
        int newTotal = 0;
        for (Path log : BaselineService.watchedLogs(config.watchedLogs())) {
            Long before = baseline == null ? null : baseline.logSizes().get(log.toString());
            try {
                List<String> tail = tail(log, 0, TAIL_LINES);
                List<String> fresh = baseline == null ? List.of()
                        : tail(log, before == null || before > Files.size(log) ? 0 : before, MAX_NEW_LINES);
                newTotal += fresh.size();
                newMatches += (int) fresh.stream().filter(l -> l.contains(config.journalPattern())).count();
                logs.add(new SystemResult.LogTail(log.toString(), tail, fresh));
            } catch (IOException e) {
                logs.add(new SystemResult.LogTail(log.toString(), List.of("(cannot read: " + e.getMessage() + ")"),
                        List.of()));
            }
        }
        if (logs.isEmpty()) {
            checks.add(new Check("watched logs", CheckStatus.WARN, "No file matches "
                    + String.join(", ", config.watchedLogs()) + ".", "Check the engine's watchedLogs setting."));
        } else {
            checks.add(new Check("watched logs", CheckStatus.INFO, logs.size() + " file(s) read"
                    + (baseline != null ? ", " + newTotal + " new line(s) since the baseline" : "") + ".", null));
            if (baseline == null) {
                checks.add(new Check("activation in logs", CheckStatus.NOT_RUN, "No baseline was taken, so new log"
                        + " lines cannot be told from old ones.", "Take a baseline before applying."));
            } else {
                checks.add(new Check("activation in logs", newMatches > 0 ? CheckStatus.PASS : CheckStatus.WARN,
                        newMatches > 0 ? newMatches + " new log line(s) since the baseline contain \""
                                + config.journalPattern() + "\"."
                                : "No log line written since the baseline contains \"" + config.journalPattern()
                                        + "\".",
                        newMatches > 0 ? null : "Check that the activation ran; the log tails are below."));
            }
        }
        SystemResult.Verdict verdict = verdict(checks);
        return new SystemResult.VerifyReport(verdict, summary(verdict, checks),
                baseline == null ? null : baseline.baselineId(), checks, services, newlyFailed, logs, journal);
    }

    /**
     * The running-system link points at what should run: a test being confirmed; what a confirmed
     * test or a boot-mode apply/rollback left running until the next boot (the profile boots
     * something else on purpose); otherwise the profile's current system.
     */
    private Check runningSystem() {
        String running = SystemLinks.readLink(config.currentSystem());
        String generation = "generation " + profile.current().map(String::valueOf).orElse("?");
        if (running == null) {
            return new Check("running system", CheckStatus.FAIL, config.currentSystem() + " does not exist.",
                    "Activate a generation (rollback) so the running system is known again.");
        }
        Optional<String> underTest = apply.pending().filter(p -> p.mode() == SystemRequest.Mode.TEST)
                .map(PendingApply::storePath);
        if (underTest.isPresent()) {
            return running.equals(underTest.get())
                    ? new Check("running system", CheckStatus.PASS, "The running system is the system under test ("
                            + running + ").", null)
                    : new Check("running system", CheckStatus.FAIL, "The running system is " + running
                            + ", not the system under test (" + underTest.get() + ").",
                            "Revert now, then apply again.");
        }
        Optional<UntilReboot> until = apply.untilReboot().filter(u -> u.storePath().equals(running));
        if (until.isPresent() && until.get().mode() == SystemRequest.Mode.TEST) {
            return new Check("running system", CheckStatus.PASS, "The running system is the tested system, kept"
                    + " until the next boot (" + running + "); the profile still boots " + generation + ".", null);
        }
        if (until.isPresent()) {
            return new Check("running system", CheckStatus.WARN, "The running system is still the previous one ("
                    + running + "); " + generation + " becomes active at the next boot.",
                    "Reboot, then verify again: services and logs can only be checked once it runs.");
        }
        String expected = profile.currentPath().orElse(null);
        if (running.equals(expected)) {
            return new Check("running system", CheckStatus.PASS, "The running system is " + generation + " ("
                    + running + ").", null);
        }
        return new Check("running system", CheckStatus.FAIL, "The running system is " + running + ", not "
                + generation + " (" + expected + ").", "Activate the generation you want (apply or rollback).");
    }

    private static Check servicesCheck(List<SystemResult.ServiceState> services) {
        if (services.isEmpty()) {
            return new Check("watched services", CheckStatus.WARN, "No unit matches the watched services.",
                    "Check the engine's watchedServices setting.");
        }
        List<String> bad = services.stream().filter(s -> !"active".equals(s.activeState()))
                .map(s -> s.unit() + " is " + s.activeState() + "/" + s.subState()
                        + ("not-found".equals(s.loadState()) ? " (not found)" : ""))
                .toList();
        return bad.isEmpty()
                ? new Check("watched services", CheckStatus.PASS, services.size() + " watched unit(s) active.", null)
                : new Check("watched services", CheckStatus.FAIL, String.join("; ", bad) + ".",
                        "Look at systemctl status <unit> and journalctl -u <unit>; revert or roll back if needed.");
    }

    static SystemResult.Verdict verdict(List<Check> checks) {
        if (checks.stream().anyMatch(c -> c.status() == CheckStatus.FAIL)) {
            return SystemResult.Verdict.FAIL;
        }
        if (checks.stream().anyMatch(c -> c.status() == CheckStatus.NOT_RUN || c.status() == CheckStatus.WARN)) {
            return SystemResult.Verdict.INCOMPLETE;
        }
        return SystemResult.Verdict.PASS;
    }

    private static String summary(SystemResult.Verdict verdict, List<Check> checks) {
        long passed = checks.stream().filter(c -> c.status() == CheckStatus.PASS).count();
        List<String> notRun = checks.stream().filter(c -> c.status() == CheckStatus.NOT_RUN).map(Check::name).toList();
        List<String> warned = checks.stream().filter(c -> c.status() == CheckStatus.WARN).map(Check::name).toList();
        List<String> failed = checks.stream().filter(c -> c.status() == CheckStatus.FAIL).map(Check::name).toList();
        StringBuilder s = new StringBuilder(switch (verdict) {
            case PASS -> "Verified: every check passed (" + passed + ").";
            case FAIL -> "Verification FAILED: " + String.join(", ", failed) + ".";
            case INCOMPLETE -> "Not fully verified: " + passed + " check(s) passed, the rest were not seen to pass.";
        });
        if (!notRun.isEmpty()) {
            s.append(" Could not run here: ").append(String.join(", ", notRun)).append('.');
        }
        if (!warned.isEmpty()) {
            s.append(" Inconclusive: ").append(String.join(", ", warned)).append('.');
        }
        return s.toString();
    }

    /** Lines from byte offset {@code from} to the end, at most the last {@code max}; large files read from the end. */
    static List<String> tail(Path file, long from, int max) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long size = f.length();
            long start = Math.max(from, size - MAX_TAIL_BYTES);
            byte[] buf = new byte[(int) (size - start)];
            f.seek(start);
            f.readFully(buf);
            List<String> lines = new String(buf, StandardCharsets.UTF_8).lines().toList();
            if (start > from && !lines.isEmpty()) {
                lines = lines.subList(1, lines.size()); // the first line was cut
            }
            return lines.size() <= max ? lines : lines.subList(lines.size() - max, lines.size());
        }
    }
}
