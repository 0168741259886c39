package org.saferebuild.app.launch;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.Json;

/**
 * The app's side of the end-to-end tests, run as an operator account (not root): it chooses a
 * launcher the way the app does, starts the engine, shakes hands and prints one JSON line with
 * what the operator would see. Usage: LaunchProbe auto|pkexec|sudo ENGINE CONFIG [tty-agent]
 */
public final class LaunchProbe {
    private LaunchProbe() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 3 && args[3].equals("tty-agent")) {
            registerTextAgent();
            // Ctrl-C on the terminal is for the agent's prompt: the probe (and pkexec, which
            // inherits this) stay to report what became of the authorization.
            sun.misc.Signal.handle(new sun.misc.Signal("INT"), sun.misc.SignalHandler.SIG_IGN);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        System.setProperty(EngineLaunchers.LAUNCH_PROPERTY, args[0]);
        System.setProperty(EngineLaunchers.ENGINE_PROPERTY, args[1]);
        try {
            EngineLaunchers.Choice choice = EngineLaunchers.choose(Path.of(args[2]), null);
            out.put("chosen", choice.mode().name());
            out.put("reason", choice.reason());
            Launched launched = choice.launcher().launch();
            out.put("mode", launched.mode().name());
            EngineConnection connection = new EngineConnection(launched.process().getInputStream(),
                    launched.process().getOutputStream());
            try {
                Event.Welcome w = connection.handshake("launch-probe", Duration.ofSeconds(30));
                out.put("ok", true);
                out.put("euid", w.euid());
                out.put("operatorUid", w.operatorUid());
                out.put("operatorName", w.operatorName());
                out.put("launchedVia", w.launchedVia());
            } catch (Exception e) {
                LaunchException why = launched.whyEnded(Duration.ofSeconds(10));
                out.put("ok", false);
                out.put("message", why.getMessage());
                out.put("fix", why.fix());
            }
            connection.close();
            launched.process().waitFor(30, TimeUnit.SECONDS);
        } catch (LaunchException e) {
            out.put("ok", false);
            out.put("message", e.getMessage());
            out.put("fix", e.fix());
        }
        System.out.println(Json.mapper().writeValueAsString(out));
        System.exit(0);
    }

    /**
     * Starts polkit's text agent (pkttyagent) for this process, as a terminal session would have
     * one, and returns once it is registered (it closes its notify descriptor then). It asks for
     * the password on the controlling terminal, so the probe must run on one (script(1)).
     */
    private static void registerTextAgent() throws Exception {
        java.nio.file.Path fifo = java.nio.file.Files.createTempDirectory("probe-agent").resolve("registered");
        if (new ProcessBuilder("/usr/bin/mkfifo", fifo.toString()).inheritIO().start().waitFor() != 0) {
            throw new IllegalStateException("mkfifo failed");
        }
        new ProcessBuilder("/bin/sh", "-c", "exec /usr/bin/pkttyagent --process " + ProcessHandle.current().pid()
                + " --notify-fd 3 3>\"$0\"", fifo.toString()).inheritIO().start();
        java.nio.file.Files.readAllBytes(fifo); // end of file: the agent is registered
        java.nio.file.Files.delete(fifo);
        java.nio.file.Files.delete(fifo.getParent());
    }
}
