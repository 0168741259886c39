package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import java.util.List;

/**
 * Runbook steps 6 and 7 and "Emergency Rollback": baseline, apply with confirm-or-revert, verify,
 * generations, rollback, and the audit trail (docs/apply.md). Every value is checked here; whether
 * a store path or generation is acceptable is decided by the engine.
 */
@JsonSubTypes({
        @JsonSubTypes.Type(value = SystemRequest.Baseline.class, name = "baseline"),
        @JsonSubTypes.Type(value = SystemRequest.Adopt.class, name = "system.adopt"),
        @JsonSubTypes.Type(value = SystemRequest.Apply.class, name = "apply"),
        @JsonSubTypes.Type(value = SystemRequest.Confirm.class, name = "confirm"),
        @JsonSubTypes.Type(value = SystemRequest.Revert.class, name = "revert"),
        @JsonSubTypes.Type(value = SystemRequest.ApplyStatus.class, name = "apply.status"),
        @JsonSubTypes.Type(value = SystemRequest.Verify.class, name = "verify"),
        @JsonSubTypes.Type(value = SystemRequest.Generations.class, name = "generations"),
        @JsonSubTypes.Type(value = SystemRequest.Pin.class, name = "pin"),
        @JsonSubTypes.Type(value = SystemRequest.Unpin.class, name = "unpin"),
        @JsonSubTypes.Type(value = SystemRequest.Rollback.class, name = "rollback"),
        @JsonSubTypes.Type(value = SystemRequest.Signoff.class, name = "signoff"),
        @JsonSubTypes.Type(value = SystemRequest.AuditRead.class, name = "audit.read"),
        @JsonSubTypes.Type(value = SystemRequest.AuditVerify.class, name = "audit.verify"),
        @JsonSubTypes.Type(value = SystemRequest.AuditAcknowledge.class, name = "audit.acknowledge"),
})
public sealed interface SystemRequest extends Request {

    /** Shortest and longest confirm-or-revert window a request may ask for. */
    int MIN_CONFIRM_SECONDS = 5;
    int MAX_CONFIRM_SECONDS = 3600;

    /**
     * How to activate: {@code TEST} activates without touching the profile or the boot default,
     * {@code SWITCH} does both, {@code BOOT} only makes it the boot default (runbook step 6).
     */
    enum Mode { TEST, SWITCH, BOOT }

    /** When a rollback takes effect: {@code SWITCH} now, {@code BOOT} at the next boot. */
    enum RollbackMode { SWITCH, BOOT }

    /**
     * The checklist's "Observer has captured pre-change baseline" and "Backup of current
     * configuration exists". {@code configDir} is optional: the engine's default otherwise.
     */
    record Baseline(long id, String configDir) implements SystemRequest {
        public Baseline {
            Values.positiveId(id);
            if (configDir != null) {
                Values.absolutePath(configDir, "configDir");
            }
        }
    }

    /**
     * Takes a system that was built elsewhere and copied into this machine's store (nix copy, as
     * nixos-rebuild --target-host does) as one this engine may apply: after checking that it is
     * valid in this store with the NAR hash the builder reported ({@code narHash}, as
     * {@code nix-store --query --hash} prints it), its contents still match, its closure is
     * complete and it is shaped like a NixOS system, the engine keeps it with a GC root
     * (docs/remote.md, docs/security.md "Adopting a copied system").
     */
    record Adopt(long id, String storePath, String narHash) implements SystemRequest {
        public Adopt {
            Values.positiveId(id);
            Values.storePath(storePath, "storePath");
            Values.narHash(narHash, "narHash");
        }
    }

    /**
     * Activates a system the engine built ({@code storePath}) or an existing {@code generation}
     * of the system profile; exactly one of the two. {@code confirmSeconds} overrides the
     * engine's confirm-or-revert window for this apply (SWITCH and TEST only).
     */
    record Apply(long id, String storePath, Integer generation, Mode mode, Integer confirmSeconds)
            implements SystemRequest {
        public Apply {
            Values.positiveId(id);
            if ((storePath == null) == (generation == null)) {
                throw new IllegalArgumentException("give exactly one of storePath and generation");
            }
            if (storePath != null) {
                Values.storePath(storePath, "storePath");
            }
            if (generation != null) {
                validGeneration(generation);
            }
            if (mode == null) {
                throw new IllegalArgumentException("mode is required: TEST, SWITCH or BOOT");
            }
            if (confirmSeconds != null) {
                if (mode == Mode.BOOT) {
                    throw new IllegalArgumentException("confirmSeconds applies to TEST and SWITCH only;"
                            + " BOOT changes nothing that runs now");
                }
                if (confirmSeconds < MIN_CONFIRM_SECONDS || confirmSeconds > MAX_CONFIRM_SECONDS) {
                    throw new IllegalArgumentException("confirmSeconds must be between " + MIN_CONFIRM_SECONDS
                            + " and " + MAX_CONFIRM_SECONDS + ", got " + confirmSeconds);
                }
            }
        }
    }

    /** Keeps the applied system: stops the confirm-or-revert timer. */
    record Confirm(long id) implements SystemRequest {
        public Confirm {
            Values.positiveId(id);
        }
    }

    /** Reverts the unconfirmed apply now instead of waiting for the timer. */
    record Revert(long id) implements SystemRequest {
        public Revert {
            Values.positiveId(id);
        }
    }

    /**
     * Whether an apply is waiting for confirmation on this machine, by this engine or by another
     * (an app that was closed and opened again asks this to show the countdown again).
     */
    record ApplyStatus(long id) implements SystemRequest {
        public ApplyStatus {
            Values.positiveId(id);
        }
    }

    /** Runbook step 7: what the running system looks like against the latest baseline. */
    record Verify(long id) implements SystemRequest {
        public Verify {
            Values.positiveId(id);
        }
    }

    /** Lists the system profile's generations. */
    record Generations(long id) implements SystemRequest {
        public Generations {
            Values.positiveId(id);
        }
    }

    /** Makes generation {@code generation} a GC root of the engine, so garbage collection keeps it. */
    record Pin(long id, int generation) implements SystemRequest {
        public Pin {
            Values.positiveId(id);
            validGeneration(generation);
        }
    }

    record Unpin(long id, int generation) implements SystemRequest {
        public Unpin {
            Values.positiveId(id);
            validGeneration(generation);
        }
    }

    /** "Emergency Rollback": makes generation {@code generation} current, now or at next boot. */
    record Rollback(long id, int generation, RollbackMode mode) implements SystemRequest {
        public Rollback {
            Values.positiveId(id);
            validGeneration(generation);
            if (mode == null) {
                throw new IllegalArgumentException("mode is required: SWITCH or BOOT");
            }
        }
    }

    /** One checklist item as the operator answered it, with the evidence the app showed. */
    record Answer(String item, boolean checked, String evidence) {
        public Answer {
            Values.text(item, "item", 500);
            if (evidence != null && evidence.length() > 8000) {
                throw new IllegalArgumentException("evidence is longer than 8000 characters");
            }
        }
    }

    /** The safety checklist signed off by the operator, recorded in the audit trail. */
    record Signoff(long id, String operatorName, List<Answer> answers) implements SystemRequest {
        public Signoff {
            Values.positiveId(id);
            Values.text(operatorName, "operatorName", 200);
            if (operatorName.isBlank()) {
                throw new IllegalArgumentException("operatorName must not be blank");
            }
            if (answers == null || answers.isEmpty() || answers.size() > 100) {
                throw new IllegalArgumentException("answers must hold between 1 and 100 checklist items");
            }
            answers = List.copyOf(answers);
        }
    }

    /** Reads audit lines {@code from} (1-based) on, at most {@code limit} of them. */
    record AuditRead(long id, long from, int limit) implements SystemRequest {
        public AuditRead {
            Values.positiveId(id);
            if (from < 1) {
                throw new IllegalArgumentException("from is a 1-based line number, got " + from);
            }
            if (limit < 1 || limit > 1000) {
                throw new IllegalArgumentException("limit must be between 1 and 1000, got " + limit);
            }
        }
    }

    /** Checks the audit trail's hash chain. */
    record AuditVerify(long id) implements SystemRequest {
        public AuditVerify {
            Values.positiveId(id);
        }
    }

    /**
     * The operator acknowledges that the audit trail is broken (after looking at it): the engine
     * records this, with the operator and their note, and allows privileged operations again.
     *
     * @param note what the operator found or did ("line 12 was edited by the backup restore on …")
     */
    record AuditAcknowledge(long id, String note) implements SystemRequest {
        public AuditAcknowledge {
            Values.positiveId(id);
            Values.text(note, "note", 2000);
            if (note.isBlank()) {
                throw new IllegalArgumentException("note must say what was found: it goes into the audit trail");
            }
        }
    }

    /** A generation number as nix numbers them: 1 and up. */
    static int validGeneration(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("generation must be 1 or more, got " + n);
        }
        return n;
    }
}
