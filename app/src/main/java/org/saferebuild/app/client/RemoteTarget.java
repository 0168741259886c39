package org.saferebuild.app.client;

import java.io.File;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.saferebuild.app.launch.LaunchException;
import org.saferebuild.app.launch.SshLauncher;
import org.saferebuild.app.launch.SshTarget;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.InspectRequest;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.SystemRef;
import org.saferebuild.protocol.SystemRequest;
import org.saferebuild.protocol.SystemResult;

/**
 * The engine of the machine being changed, when that is another machine (docs/remote.md). This
 * machine builds (its sandbox, its nix, and Nix's remote builders if its engine's settings name
 * any); the target runs everything that looks at or changes the running system: baseline, compare
 * with its running system, apply with confirm-or-revert, verify, generations, rollback, sign-off
 * and its audit trail. A system built here is copied there ({@link ClosureCopy}) and adopted by the
 * target's engine before it is compared or applied, once per path.
 */
public final class RemoteTarget implements AutoCloseable {
    private final SshTarget target;
    private final EngineClient engine;
    private final ClosureCopy copy;
    private final Set<String> brought = ConcurrentHashMap.newKeySet();

    public RemoteTarget(SshTarget target, EngineClient engine, ClosureCopy copy) {
        this.target = target;
        this.engine = engine;
        this.copy = copy;
    }

    /** Starts the target's engine over ssh and shakes hands. Blocking. */
    public static RemoteTarget connect(SshTarget target, boolean substituteOnDestination, File engineLog,
                                       Duration timeout) throws LaunchException, EngineConnection.EngineFailure {
        EngineClient c = EngineClient.connect(SshLauncher.forTarget(target, engineLog), timeout);
        return new RemoteTarget(target, c, new ClosureCopy(target, substituteOnDestination));
    }

    public SshTarget target() {
        return target;
    }

    public EngineClient engine() {
        return engine;
    }

    /** Whether a request is answered by the target's engine rather than the building one. */
    public static boolean runsOnTarget(Request r) {
        return r instanceof SystemRequest || r instanceof InspectRequest.Compare;
    }

    /** The request as the target gets it: a baseline backs up the target's own configuration directory. */
    static Request forTarget(Request r) {
        if (r instanceof SystemRequest.Baseline b && b.configDir() != null) {
            return new SystemRequest.Baseline(b.id(), null);
        }
        return r;
    }

    /** Store paths built here that the target must have (and have adopted) before it can run {@code r}. */
    static List<String> pathsToBring(Request r) {
        List<String> out = new ArrayList<>();
        if (r instanceof SystemRequest.Apply a && a.storePath() != null) {
            out.add(a.storePath());
        } else if (r instanceof InspectRequest.Compare c) {
            for (SystemRef ref : List.of(c.from(), c.to())) {
                if (ref instanceof SystemRef.StorePath p) {
                    out.add(p.path());
                }
            }
        }
        return out;
    }

    boolean hasAll(List<String> paths) {
        return brought.containsAll(paths);
    }

    /**
     * Copies each path to the target and has its engine adopt it; {@code onEvent} sees the copy
     * as {@code progress} (phase "copy") and {@code log} events (stream "copy"). Blocking.
     */
    public void bring(List<String> paths, Consumer<Event> onEvent) throws EngineConnection.EngineFailure {
        Consumer<Event> sink = onEvent == null ? e -> { } : onEvent;
        for (String path : paths) {
            if (brought.contains(path)) {
                continue;
            }
            sink.accept(new Event.Progress(0, "copy", "Copying " + path + " to " + target.destination()
                    + " (nix copy)", null, null));
            String hash = copy.copy(path, line -> sink.accept(new Event.Log(0, "copy", List.of(line))));
            sink.accept(new Event.Progress(0, "copy", "Having " + target.host() + " check and adopt " + path, null,
                    null));
            SystemResult.Adopted a;
            try {
                a = engine.run(id -> new SystemRequest.Adopt(id, path, hash), SystemResult.Adopted.class, sink)
                        .result().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EngineConnection.EngineFailure(Problems.of(e));
            } catch (java.util.concurrent.ExecutionException e) {
                throw new EngineConnection.EngineFailure(Problems.of(e));
            }
            sink.accept(new Event.Log(0, "copy", List.of(a.message())));
            brought.add(path);
        }
    }

    @Override
    public void close() {
        engine.close();
    }
}
