package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import java.util.List;
import java.util.Map;

/** Answers to {@link SystemRequest}s (docs/apply.md, docs/protocol.md "System"). */
@JsonSubTypes({
        @JsonSubTypes.Type(value = SystemResult.Baseline.class, name = "system.baseline"),
        @JsonSubTypes.Type(value = SystemResult.Adopted.class, name = "system.adopted"),
        @JsonSubTypes.Type(value = SystemResult.Applied.class, name = "system.applied"),
        @JsonSubTypes.Type(value = SystemResult.Confirmed.class, name = "system.confirmed"),
        @JsonSubTypes.Type(value = SystemResult.Reverted.class, name = "system.reverted"),
        @JsonSubTypes.Type(value = SystemResult.ApplyState.class, name = "system.applystatus"),
        @JsonSubTypes.Type(value = SystemResult.VerifyReport.class, name = "system.verify"),
        @JsonSubTypes.Type(value = SystemResult.GenerationList.class, name = "system.generations"),
        @JsonSubTypes.Type(value = SystemResult.Pinned.class, name = "system.pinned"),
        @JsonSubTypes.Type(value = SystemResult.RolledBack.class, name = "system.rolledback"),
        @JsonSubTypes.Type(value = SystemResult.SignedOff.class, name = "audit.signedoff"),
        @JsonSubTypes.Type(value = SystemResult.AuditLines.class, name = "audit.lines"),
        @JsonSubTypes.Type(value = SystemResult.AuditVerdict.class, name = "audit.verify"),
        @JsonSubTypes.Type(value = SystemResult.Acknowledged.class, name = "audit.acknowledged"),
})
public sealed interface SystemResult extends ResultBody {

    /** A systemd unit as {@code systemctl show} reports it. */
    record ServiceState(String unit, String loadState, String activeState, String subState, String result) {
        public ServiceState {
            Values.require(unit, "unit");
        }
    }

    /**
     * The configuration backup of a baseline: every file copied into the engine's state directory,
     * with its SHA-256 in {@code manifest}. {@code gitCommit}/{@code gitDirty} are null when the
     * directory is not a git work tree (or git could not be asked; {@code notes} says why).
     */
    record Backup(String configDir, String dir, String manifest, int files, long bytes, String treeSha256,
                  String gitCommit, Boolean gitDirty, List<String> notes) {
        public Backup {
            Values.require(configDir, "configDir");
            Values.require(dir, "dir");
            notes = List.copyOf(notes == null ? List.of() : notes);
        }
    }

    /**
     * What the system looked like before a change. A field the engine could not observe is null
     * and named in {@code notObserved} with the reason: nothing is guessed.
     *
     * @param generation      the system profile's current generation (null if the profile has none)
     * @param generationPath  its store path
     * @param currentSystem   what the running-system link points at
     * @param bootedSystem    what the booted-system link points at
     * @param failedUnits     units failed at baseline time (systemd only)
     * @param services        states of the watched services (systemd only)
     * @param journalCursor   the journal position at baseline time (journald only)
     * @param logSizes        sizes of the watched log files, so verify shows what came after
     */
    record Baseline(String baselineId, String takenAt, Integer generation, String generationPath,
                    String currentSystem, String bootedSystem, List<String> failedUnits,
                    List<ServiceState> services, String journalCursor, Map<String, Long> logSizes, Backup backup,
                    List<String> notObserved) implements SystemResult {
        public Baseline {
            Values.require(baselineId, "baselineId");
            Values.require(takenAt, "takenAt");
            failedUnits = failedUnits == null ? null : List.copyOf(failedUnits);
            services = services == null ? null : List.copyOf(services);
            logSizes = Map.copyOf(logSizes == null ? Map.of() : logSizes);
            notObserved = List.copyOf(notObserved == null ? List.of() : notObserved);
        }
    }

    /**
     * A copied system this engine now keeps (and so may apply or compare).
     *
     * @param root          the GC root link in the engine's state directory
     * @param closurePaths  how many store paths its closure has, all present and valid
     * @param nixosVersion  its nixos-version file
     * @param alreadyKept   it was kept already (built here or adopted before); nothing changed
     */
    record Adopted(String storePath, String narHash, String root, int closurePaths, String nixosVersion,
                   boolean alreadyKept, String message) implements SystemResult {
        public Adopted {
            Values.storePath(storePath, "storePath");
            Values.narHash(narHash, "narHash");
            Values.require(root, "root");
            Values.require(message, "message");
        }
    }

    /**
     * An activation finished. For SWITCH and TEST {@code awaitingConfirm} is true: the engine
     * reverts at {@code confirmDeadline} unless it gets {@code confirm}.
     *
     * @param runningSystem what the running-system link points at after activation
     */
    record Applied(SystemRequest.Mode mode, String storePath, Integer generationBefore, Integer generationAfter,
                   String runningSystem, boolean awaitingConfirm, String confirmDeadline, Integer confirmSeconds,
                   String message) implements SystemResult {
        public Applied {
            if (mode == null) {
                throw new IllegalArgumentException("mode is required");
            }
            Values.storePath(storePath, "storePath");
            Values.require(message, "message");
        }
    }

    record Confirmed(SystemRequest.Mode mode, String storePath, Integer generation, String message)
            implements SystemResult {
        public Confirmed {
            Values.require(message, "message");
        }
    }

    /**
     * An apply was undone. {@code reason} says why (the operator asked, or no confirmation came);
     * {@code runningSystem} is read back from the running-system link afterwards.
     */
    record Reverted(SystemRequest.Mode mode, Integer generation, String runningSystem, String reason,
                    String message) implements SystemResult {
        public Reverted {
            Values.require(reason, "reason");
            Values.require(message, "message");
        }
    }

    /**
     * The answer to apply.status. When {@code awaitingConfirm}, the other fields say what was
     * applied, which generation a revert goes back to, and when: {@code enginePid} is the engine
     * that runs the countdown (this one or one whose app went away); confirm and revert work
     * from any engine.
     */
    record ApplyState(boolean awaitingConfirm, SystemRequest.Mode mode, String storePath, Integer generation,
                      Integer revertsTo, String deadline, Long secondsLeft, Long enginePid, String message)
            implements SystemResult {
        public ApplyState {
            Values.require(message, "message");
            if (awaitingConfirm && (mode == null || deadline == null || revertsTo == null)) {
                throw new IllegalArgumentException("a waiting apply needs mode, revertsTo and deadline");
            }
        }
    }

    /** PASS and INFO are things the engine saw; NOT_RUN says which check could not run here and why. */
    enum CheckStatus { PASS, FAIL, WARN, NOT_RUN, INFO }

    /** PASS only when every check that matters passed; INCOMPLETE when a check could not run. */
    enum Verdict { PASS, FAIL, INCOMPLETE }

    record Check(String name, CheckStatus status, String detail, String fix) {
        public Check {
            Values.require(name, "name");
            if (status == null) {
                throw new IllegalArgumentException("status is required");
            }
            Values.require(detail, "detail");
        }
    }

    /** The end of one watched log file; {@code newLines} are those written after the baseline. */
    record LogTail(String file, List<String> tail, List<String> newLines) {
        public LogTail {
            Values.require(file, "file");
            tail = List.copyOf(tail == null ? List.of() : tail);
            newLines = List.copyOf(newLines == null ? List.of() : newLines);
        }
    }

    record VerifyReport(Verdict verdict, String summary, String baselineId, List<Check> checks,
                        List<ServiceState> services, List<String> newlyFailed, List<LogTail> logs,
                        List<String> journalMatches) implements SystemResult {
        public VerifyReport {
            if (verdict == null) {
                throw new IllegalArgumentException("verdict is required");
            }
            Values.require(summary, "summary");
            checks = List.copyOf(checks);
            services = services == null ? null : List.copyOf(services);
            newlyFailed = newlyFailed == null ? null : List.copyOf(newlyFailed);
            logs = List.copyOf(logs == null ? List.of() : logs);
            journalMatches = journalMatches == null ? null : List.copyOf(journalMatches);
        }
    }

    /**
     * One generation of the system profile.
     *
     * @param date                  when the generation was made (the profile link's time), ISO-8601
     * @param configurationRevision the flake's revision where the system records it, else null
     * @param current               the profile's current generation (the boot default)
     * @param running               the running-system link points at its store path
     * @param booted                the booted-system link points at its store path
     * @param onDisk                its store path exists
     * @param closureComplete       every path of its closure is valid and on disk (a rollback needs it)
     * @param closureBytes          the closure's size as nix records it, when complete
     * @param pinned                the engine holds a GC root for it
     */
    record Generation(int number, String date, String storePath, String nixosVersion, String kernelVersion,
                      String configurationRevision, boolean current, boolean running, boolean booted,
                      boolean onDisk, boolean closureComplete, Long closureBytes, boolean pinned) {
        public Generation {
            SystemRequest.validGeneration(number);
            Values.require(storePath, "storePath");
        }
    }

    record GenerationList(String profile, Integer current, String runningSystem, String bootedSystem,
                          List<Generation> generations) implements SystemResult {
        public GenerationList {
            Values.require(profile, "profile");
            generations = List.copyOf(generations);
        }
    }

    /** {@code root} is the GC root link in the engine's state directory. */
    record Pinned(int generation, boolean pinned, String storePath, String root, String message)
            implements SystemResult {
        public Pinned {
            Values.require(message, "message");
        }
    }

    record RolledBack(SystemRequest.RollbackMode mode, Integer generationBefore, int generationAfter,
                      String storePath, String runningSystem, String message) implements SystemResult {
        public RolledBack {
            if (mode == null) {
                throw new IllegalArgumentException("mode is required");
            }
            Values.require(message, "message");
        }
    }

    /** The sign-off's audit line: its number and the SHA-256 of its text. */
    record SignedOff(long line, String sha256, String osUser, String message) implements SystemResult {
        public SignedOff {
            Values.require(sha256, "sha256");
            Values.require(message, "message");
        }
    }

    /** Audit lines as stored (the exact text, so the app can show and check it). */
    record AuditLine(long number, String text) {
        public AuditLine {
            Values.require(text, "text");
        }
    }

    record AuditLines(String file, long total, List<AuditLine> lines) implements SystemResult {
        public AuditLines {
            Values.require(file, "file");
            lines = List.copyOf(lines);
        }
    }

    /**
     * The audit trail's verdict (docs/apply.md "The audit trail"). When not intact,
     * {@code firstBadLine} is the first line that no longer matches what was written and
     * {@code reason} says how it was found. A break stays in the trail for good ({@code intact}
     * stays false); once an operator has acknowledged it (a recorded {@code audit.acknowledge}
     * line, {@code acknowledgedAt}), privileged operations are allowed again, until the next break.
     *
     * @param needsAcknowledgement a break that no acknowledgement covers: privileged operations are
     *                             refused (AUDIT_BROKEN) until an operator acknowledges it
     * @param acknowledgedAt       the line of the acknowledgement that covers the breaks found, if any
     */
    record AuditVerdict(String file, boolean intact, long lines, Long firstBadLine, String reason, String lastSha256,
                        boolean needsAcknowledgement, Long acknowledgedAt)
            implements SystemResult {
        public AuditVerdict {
            Values.require(file, "file");
            if (!intact && (firstBadLine == null || reason == null)) {
                throw new IllegalArgumentException("a broken trail names its first bad line and the reason");
            }
            if (needsAcknowledgement && intact) {
                throw new IllegalArgumentException("only a broken trail needs an acknowledgement");
            }
        }
    }

    /** The operator acknowledged a broken audit trail; the acknowledgement is line {@code line}. */
    record Acknowledged(long line, String sha256, long brokenAt, String reason, String message)
            implements SystemResult {
        public Acknowledged {
            Values.require(sha256, "sha256");
            Values.require(message, "message");
        }
    }
}
