package org.saferebuild.engine.proc;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A process to start: an argv list whose first element is an absolute path the engine resolved
 * itself, and the complete environment it gets (nothing is inherited). Never a shell string.
 */
public record Command(List<String> argv, Map<String, String> env, Path workDir, Duration timeout) {

    public Command {
        argv = List.copyOf(argv);
        if (argv.isEmpty() || !argv.get(0).startsWith("/")) {
            throw new IllegalArgumentException("argv[0] must be an absolute path: " + argv);
        }
        env = Map.copyOf(env);
        Objects.requireNonNull(timeout, "timeout");
    }

    public static Builder of(Path tool, String... args) {
        return new Builder(tool.toString()).args(args);
    }

    public static Builder of(String absoluteTool, String... args) {
        return new Builder(absoluteTool).args(args);
    }

    public String display() {
        return String.join(" ", argv);
    }

    public static final class Builder {
        private final List<String> argv = new ArrayList<>();
        private final Map<String, String> env = new LinkedHashMap<>();
        private Path workDir = Path.of("/");
        private Duration timeout = Duration.ofMinutes(5);

        private Builder(String tool) {
            argv.add(tool);
        }

        public Builder args(String... args) {
            argv.addAll(List.of(args));
            return this;
        }

        public Builder args(List<String> args) {
            argv.addAll(args);
            return this;
        }

        public Builder env(String key, String value) {
            env.put(key, value);
            return this;
        }

        public Builder env(Map<String, String> vars) {
            env.putAll(vars);
            return this;
        }

        public Builder workDir(Path dir) {
            this.workDir = dir;
            return this;
        }

        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        public Command build() {
            return new Command(argv, env, workDir, timeout);
        }
    }
}
