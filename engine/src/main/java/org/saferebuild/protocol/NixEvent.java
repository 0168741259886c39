package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import java.util.List;

/** Events of {@link NixRequest.Build}, besides progress and log lines. */
@JsonSubTypes({
        @JsonSubTypes.Type(value = NixEvent.BuildProgress.class, name = "build.progress"),
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
}
