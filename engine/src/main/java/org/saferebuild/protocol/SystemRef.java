package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/**
 * Which system an inspect or compare request means. The app names a system only in these three
 * ways; the engine resolves each one itself and refuses anything that is not a system it built or
 * a generation of its system profile (see docs/protocol.md, "Inspect").
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = SystemRef.Current.class, name = "current"),
        @JsonSubTypes.Type(value = SystemRef.Generation.class, name = "generation"),
        @JsonSubTypes.Type(value = SystemRef.StorePath.class, name = "path"),
})
public sealed interface SystemRef permits SystemRef.Current, SystemRef.Generation, SystemRef.StorePath {

    /** Short words for messages: "the running system", "generation 41", the store path. */
    String describe();

    static SystemRef current() {
        return new Current();
    }

    static SystemRef generation(int number) {
        return new Generation(number);
    }

    static SystemRef path(String storePath) {
        return new StorePath(storePath);
    }

    /** The running system: the engine's {@code currentSystem} link (/run/current-system). */
    record Current() implements SystemRef {
        @Override
        public String describe() {
            return "the running system";
        }
    }

    /** Generation {@code number} of the engine's system profile. */
    record Generation(int number) implements SystemRef {
        public Generation {
            if (number < 1) {
                throw new IllegalArgumentException("generation must be a positive number, got " + number);
            }
        }

        @Override
        public String describe() {
            return "generation " + number;
        }
    }

    /** A built system, by its store path (one the engine built, or any generation's). */
    record StorePath(String path) implements SystemRef {
        public StorePath {
            Values.storePath(path, "path");
        }

        @Override
        public String describe() {
            return path;
        }
    }
}
