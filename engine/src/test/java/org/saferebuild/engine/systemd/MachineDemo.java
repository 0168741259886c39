package org.saferebuild.engine.systemd;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.saferebuild.engine.testing.EngineHarness;
import org.saferebuild.engine.testing.SystemdMachine;
import org.saferebuild.protocol.NixRequest;
import org.saferebuild.protocol.NixResult;
import org.saferebuild.protocol.SandboxRequest;
import org.saferebuild.protocol.SandboxResult;

/**
 * One test class's systemd test machine with the engine installed and the demo system installed in
 * it, its services run by the machine's systemd ({@link SystemdMachine#DEMO}); engines are started
 * inside through the installed wrapper, as root.
 */
final class MachineDemo implements AutoCloseable {
    static final String DEMO = SystemdMachine.DEMO;

    final Path base;
    final SystemdMachine machine;
    /** Generation 1's store path. */
    final String gen1;
    private int engines;

    private MachineDemo(Path base, SystemdMachine machine, String gen1) {
        this.base = base;
        this.machine = machine;
        this.gen1 = gen1;
    }

    static MachineDemo boot() throws Exception {
        Path base = EngineHarness.privateBase();
        SystemdMachine machine = SystemdMachine.boot(base);
        machine.installEngine();
        machine.installDemo();
        return new MachineDemo(base, machine, machine.sh("readlink " + DEMO + "/profiles/system-1-link").strip());
    }

    /** A new engine inside, on the demo's settings, after its handshake. */
    EngineHarness startEngine() throws Exception {
        EngineHarness e = machine.startEngine(base.resolve("engine-" + ++engines), DEMO + "/engine.json",
                Map.of("SUDO_UID", "0"));
        e.handshake();
        return e;
    }

    /** A variant built by {@code engine} in its isolated sandbox, as the wizard builds it. */
    static String build(EngineHarness engine, String variant) throws Exception {
        SandboxResult.Opened s = engine.call(id -> new SandboxRequest.Open(id, DEMO + "/configs/" + variant,
                "debian-test", SandboxRequest.Network.ISOLATED), SandboxResult.Opened.class);
        try {
            return engine.call(id -> new NixRequest.Build(id, s.sandbox(), null), NixResult.Built.class,
                    Duration.ofMinutes(5)).storePath();
        } finally {
            engine.call(id -> new SandboxRequest.Close(id, s.sandbox(), false), SandboxResult.Closed.class);
        }
    }

    /** {@code systemctl show -P PROPERTY UNIT} inside. */
    String show(String unit, String property) throws Exception {
        return machine.sh("systemctl show -P " + property + " -- " + unit).strip();
    }

    /** Where the demo's running-system link points. */
    String running() throws Exception {
        return machine.sh("readlink " + DEMO + "/run/current-system").strip();
    }

    @Override
    public void close() throws Exception {
        machine.close();
    }

    /**
     * What the systemd test classes share: one {@link MachineDemo} per class and its first engine,
     * started before the class's own set-up and stopped, with the machine, after its tests.
     */
    abstract static class Test {
        static MachineDemo demo;
        static SystemdMachine machine;
        static EngineHarness engine;
        static String gen1;

        @org.junit.jupiter.api.BeforeAll
        static void bootTheMachine() throws Exception {
            demo = MachineDemo.boot();
            machine = demo.machine;
            gen1 = demo.gen1;
            engine = demo.startEngine();
        }

        @org.junit.jupiter.api.AfterAll
        static void stopTheMachine() throws Exception {
            if (engine != null) {
                engine.close();
            }
            if (demo != null) {
                demo.close();
            }
        }

        static String show(String unit, String property) throws Exception {
            return demo.show(unit, property);
        }

        static String running() throws Exception {
            return demo.running();
        }
    }
}
