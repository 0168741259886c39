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
 * what the operator would see. Usage: LaunchProbe auto|pkexec|sudo ENGINE CONFIG
 */
public final class LaunchProbe {
    private LaunchProbe() {
    }

    public static void main(String[] args) throws Exception {
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
}
