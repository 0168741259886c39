package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import java.util.List;

/** Events of {@link NixRequest.Build}, besides progress and log lines. */
@JsonSubTypes({
        @JsonSubTypes.Type(value = NixEvent.BuildProgress.class, name = "build.progress"),
        @JsonSubTypes.Type(value = NixEvent.BuildPlan.class, name = "build.plan"),
        @JsonSubTypes.Type(value = NixEvent.Derivations.class, name = "build.derivations"),
})
public sealed interface NixEvent extends Event {

    /** A derivation being built now, and the phase its builder announced (null before any). */
    record Active(String drvPath, String name, String phase) {
        public Active {
            Values.storePath(drvPath, "drvPath");
            Values.require(name, "name");
        }
    }

    /**
     * Where the build stands, sent when it changes (at most every 100 ms) and once at the end.
     *
     * @param planned         derivations nix expects to build
     * @param running         being built now ({@code active} lists them)
     * @param done            built
     * @param failed          failed
     * @param fetchPlanned    paths to download from substituters
     * @param fetchDone       paths downloaded
     * @param bytesDone       bytes downloaded so far (substitutions and fixed-output downloads)
     * @param bytesExpected   bytes expected, 0 when unknown
     */
    record BuildProgress(long id, int planned, int running, int done, int failed, List<Active> active,
                         int fetchPlanned, int fetchDone, long bytesDone, long bytesExpected) implements NixEvent {
        public BuildProgress {
            Values.positiveId(id);
            if (planned < 0 || running < 0 || done < 0 || failed < 0 || fetchPlanned < 0 || fetchDone < 0
                    || bytesDone < 0 || bytesExpected < 0) {
                throw new IllegalArgumentException("build progress counts must not be negative");
            }
            active = List.copyOf(active == null ? List.of() : active);
        }
    }

    /**
     * A derivation the build will run, and the planned derivations it needs ({@code inputs}, read
     * from its .drv file as nix-output-monitor does): the edges of the build tree.
     */
    record PlannedDerivation(String drvPath, String name, List<String> inputs) {
        public PlannedDerivation {
            Values.storePath(drvPath, "drvPath");
            Values.require(name, "name");
            inputs = List.copyOf(inputs == null ? List.of() : inputs);
            inputs.forEach(i -> Values.storePath(i, "inputs"));
        }
    }

    /**
     * Sent once, before the build starts: every derivation it will run (with the tree's edges),
     * the system's own derivation (the tree's root) and the paths it will download.
     */
    record BuildPlan(long id, String root, List<PlannedDerivation> derivations, List<String> downloads)
            implements NixEvent {
        public BuildPlan {
            Values.positiveId(id);
            if (root != null) {
                Values.storePath(root, "root");
            }
            derivations = List.copyOf(derivations == null ? List.of() : derivations);
            downloads = List.copyOf(downloads == null ? List.of() : downloads);
            downloads.forEach(d -> Values.storePath(d, "downloads"));
        }
    }

    /** Where one derivation (or download) stands. */
    enum State { WAITING, BUILDING, DONE, FAILED, DOWNLOADING, DOWNLOADED }

    /**
     * One derivation or download whose state changed.
     *
     * @param path      the .drv path of a build, or the store path of a download
     * @param startedAt when it started, epoch milliseconds (null while waiting)
     * @param millis    how long it took (set when it ended)
     * @param exitCode  for a failed build, the builder's exit code where nix said
     * @param tail      for a failed build, the last lines its builder printed
     */
    record DerivationState(String path, String name, State state, String phase, Long startedAt, Long millis,
                           Integer exitCode, List<String> tail) {
        public DerivationState {
            Values.storePath(path, "path");
            Values.require(name, "name");
            if (state == null) {
                throw new IllegalArgumentException("state is required");
            }
            tail = List.copyOf(tail == null ? List.of() : tail);
        }
    }

    /**
     * The derivations whose state changed since the last such event (sent with build.progress,
     * at most every 100 ms, and once at the end).
     */
    record Derivations(long id, List<DerivationState> changed) implements NixEvent {
        public Derivations {
            Values.positiveId(id);
            changed = List.copyOf(changed == null ? List.of() : changed);
        }
    }
}
