package org.saferebuild.engine.fresh;

import java.nio.file.Path;
import java.time.Duration;
import org.saferebuild.demo.DemoSystem;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.Nix;
import org.saferebuild.protocol.NixRequest;
import org.saferebuild.protocol.NixResult;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;

/**
 * Run by {@link UsersNixConfTest} in a mount namespace whose /etc holds a user's own nix.conf:
 * installs a demo system, then has the real engine run preflight, open a sandbox and build the
 * update variant in it. Prints what the test checks, one "key: value" per line.
 */
public final class UsersNixConfProbe {
    private UsersNixConfProbe() {
    }

    public static void main(String[] args) throws Exception {
        Path base = Path.of(args[0]);
        Nix.run("/usr/bin/nix", "--extra-experimental-features", "nix-command", "show-config").lines()
                .filter(l -> l.startsWith("max-jobs = ")).forEach(l -> System.out.println("max-jobs: " + l.substring(11)));
        DemoSystem demo = DemoSystem.install(base.resolve("demo"));
        System.out.println("installed: " + demo.generation1());
        EngineHarness.Builder b = EngineHarness.builder().base(base);
        demo.settings().forEach(b::set);
        try (EngineHarness engine = b.start()) {
            engine.handshake();
            PreflightReport report = engine.call(id -> new Request.Preflight(id, null), PreflightReport.class);
            report.checks().stream().filter(c -> c.name().startsWith("nix"))
                    .forEach(c -> System.out.println("preflight " + c.name() + ": " + c.status() + " " + c.message()));
            String dir = demo.configDir(DemoSystem.Variant.UPDATE).toString();
            SandboxResult.Opened s = engine.call(id -> new SandboxRequest.Open(id, dir, "debian-test",
                    SandboxRequest.Network.ISOLATED), SandboxResult.Opened.class);
            s.mounts().stream().filter(m -> m.mountPoint().equals("/etc/nix"))
                    .forEach(m -> System.out.println("mount /etc/nix: " + (m.readOnly() ? "ro" : "rw")));
            try {
                NixResult.Built built = engine.call(id -> new NixRequest.Build(id, s.sandbox(), DemoSystem.HOST),
                        NixResult.Built.class, Duration.ofMinutes(5));
                System.out.println("built: " + built.storePath());
            } finally {
                engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), true), SandboxResult.Closed.class);
            }
            System.out.println("engine exit: " + engine.closeAndWait());
        }
    }
}
