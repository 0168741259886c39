package org.saferebuild.engine.inspect;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.engine.EngineConfig;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.engine.testing.EngineHarness;

/**
 * The closure cache in the engine's state directory: a later engine finds a closure there, and a
 * closure recorded for an earlier incarnation of the path (garbage-collected and built again) is
 * not used.
 */
@Tag("root")
@Tag("nix")
class ClosureCacheTest {

    @Test
    void aClosureIsKeptForLaterEnginesOnlyWhileItsPathIsTheSame() throws Exception {
        Path base = EngineHarness.privateBase();
        Files.writeString(base.resolve("top.nix"), """
                let dep = builtins.toFile "closure-cache-dep-1.0" "dependency"; in
                derivation { name = "closure-cache-top-1.0"; system = builtins.currentSystem;
                  builder = "/bin/sh"; args = [ "-c" "echo ${dep} > $out" ]; }
                """);
        List<String> argv = new java.util.ArrayList<>(List.of("nix-build", base.resolve("top.nix").toString(), "-o",
                base.resolve("result").toString()));
        argv.addAll(org.saferebuild.engine.testing.Nix.DEMO_OPTIONS);
        String top = ShapedSystems.run(argv).strip();
        EngineConfig config = new EngineConfig(List.of(base.toString()), null, base.resolve("state").toString(),
                null, null, null, null, null, null, null, null, null, null, null, null, null);
        Files.createDirectories(config.state().resolve("home"));
        Tools tools = new Tools(config.toolDirs());
        NixEnv nixEnv = new NixEnv(config);
        Path disk = config.state().resolve("closures");

        ClosureQuery.Closure first = new ClosureQuery(tools, nixEnv, disk).of(top);
        assertThat(first.names()).containsExactlyInAnyOrder("closure-cache-top-1.0", "closure-cache-dep-1.0");
        Path file = disk.resolve(Path.of(top).getFileName().toString());
        assertThat(file).isRegularFile();

        // a later engine reads it from the state directory instead of asking nix
        List<String> lines = Files.readAllLines(file);
        Files.write(file, List.of(lines.get(0), lines.get(1),
                "/nix/store/00000000000000000000000000000000-only-in-the-cache-9.9\t1"));
        assertThat(new ClosureQuery(tools, nixEnv, disk).of(top).names()).containsExactly("only-in-the-cache-9.9");

        // recorded for another incarnation of the path (a different inode change time): not used
        long ctime = ((FileTime) Files.getAttribute(Path.of(top), "unix:ctime")).to(TimeUnit.NANOSECONDS);
        Files.write(file, List.of(lines.get(0), top + "\t" + (ctime - 1),
                "/nix/store/00000000000000000000000000000000-only-in-the-cache-9.9\t1"));
        ClosureQuery.Closure again = new ClosureQuery(tools, nixEnv, disk).of(top);
        assertThat(again.names()).containsExactlyInAnyOrder(first.names());
        assertThat(again.totalBytes()).isEqualTo(first.totalBytes());
        assertThat(Files.readAllLines(file).get(1)).isEqualTo(top + "\t" + ctime);
    }
}
