package org.saferebuild.app.client;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongFunction;
import org.saferebuild.app.launch.EngineLauncher;
import org.saferebuild.app.launch.LaunchException;
import org.saferebuild.app.launch.Launched;
import org.saferebuild.protocol.EngineConnection;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.ResultBody;

/**
 * The app's one way to the root engine: starts it through an {@link EngineLauncher}, does the
 * handshake, and runs operations. Events arrive on the connection's reader thread; callers hand
 * them to the UI through a {@link UiBatcher} (or a {@code LogModel} for log lines), so the FX
 * thread only ever sees coalesced updates.
 */
public final class EngineClient implements AutoCloseable {
    public static final String CLIENT_NAME = "safe-rebuild-app/0.1.0";

    private final Launched launched;
    private final EngineConnection connection;
    private final Event.Welcome welcome;
    private final List<Consumer<Event>> unsolicited = new CopyOnWriteArrayList<>();
    /** The machine being changed when it is not this one (docs/remote.md); null: this machine. */
    private volatile RemoteTarget target;

    private EngineClient(Launched launched, EngineConnection connection, Event.Welcome welcome) {
        this.launched = launched;
        this.connection = connection;
        this.welcome = welcome;
        // Events that belong to no request of ours (id 0, or a request the engine started itself,
        // such as the confirm-or-revert countdown) go to whoever listens for them.
        connection.addListener(e -> {
            if (e.id() == 0 || e.id() > lastSentId) {
                unsolicited.forEach(l -> l.accept(e));
            }
        });
    }

    private volatile long lastSentId;

    /**
     * Starts the engine and shakes hands. Blocking (authorization may wait for the operator's
     * password): call it from the background executor.
     */
    public static EngineClient connect(EngineLauncher launcher, Duration timeout)
            throws LaunchException, EngineConnection.EngineFailure {
        Launched launched = launcher.launch();
        EngineConnection connection = new EngineConnection(launched.process().getInputStream(),
                launched.process().getOutputStream());
        try {
            Event.Welcome welcome = connection.handshake(CLIENT_NAME, timeout);
            EngineClient client = new EngineClient(launched, connection, welcome);
            client.lastSentId = welcome.id();
            return client;
        } catch (IOException | EngineConnection.EngineFailure e) {
            // The engine ended before answering: say why (pkexec refused, sudo needs a password, ssh
            // could not connect, …). Its output can close before or after the hello is written, so
            // either exception may come; an engine still running after a failure is that failure.
            if (e instanceof EngineConnection.EngineFailure f && !endsWithin(launched, Duration.ofSeconds(3))) {
                throw f;
            }
            LaunchException why = launched.whyEnded(Duration.ofSeconds(3));
            launched.process().destroy();
            throw why;
        }
    }

    private static boolean endsWithin(Launched launched, Duration wait) {
        try {
            return launched.process().waitFor(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public Event.Welcome welcome() {
        return welcome;
    }

    public Launched launched() {
        return launched;
    }

    /** Whether this engine offers an operation (from the handshake's capability list). */
    public boolean offers(String op) {
        return welcome.capabilities().contains(op);
    }

    /**
     * Starts an operation. {@code onEvent} sees its progress and log events on the reader thread
     * and must not touch the UI directly.
     */
    public <T extends ResultBody> Operation<T> run(LongFunction<Request> make, Class<T> type, Consumer<Event> onEvent) {
        RemoteTarget t = target;
        if (t != null) {
            // Requests are plain validated records: building one to look at its kind changes nothing.
            Request sample = make.apply(Long.MAX_VALUE);
            if (RemoteTarget.runsOnTarget(sample)) {
                return onTarget(t, make, type, onEvent, RemoteTarget.pathsToBring(sample));
            }
        }
        EngineConnection.Call call;
        try {
            synchronized (this) {
                call = connection.send(id -> {
                    lastSentId = id;
                    return make.apply(id);
                });
            }
        } catch (IOException | RuntimeException e) {
            CompletableFuture<T> failed = new CompletableFuture<>();
            failed.completeExceptionally(new EngineConnection.EngineFailure(new Event.Failure(1, ProblemCode.INTERNAL,
                    "The request could not be sent to the engine: " + e.getMessage() + ".",
                    "Restart the app; the engine log says whether the engine stopped.")));
            return new Operation<>(this, 0, failed);
        }
        if (onEvent != null) {
            call.onEvent(onEvent);
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        call.done().whenComplete((event, error) -> {
            if (error != null) {
                result.completeExceptionally(error);
            } else if (event instanceof Event.Failure f) {
                result.completeExceptionally(new EngineConnection.EngineFailure(f));
            } else if (event instanceof Event.Result r && type.isInstance(r.body())) {
                result.complete(type.cast(r.body()));
            } else {
                result.completeExceptionally(new EngineConnection.EngineFailure(new Event.Failure(call.id(),
                        ProblemCode.PROTOCOL, "Expected " + type.getSimpleName() + " but the engine sent " + event + ".",
                        "Install the app and the engine from the same version.")));
            }
        });
        return new Operation<>(this, call.id(), result);
    }

    /**
     * A request for the target's engine; a system built here is copied there and adopted first
     * (then the operation has no id to cancel: copying runs to its end or its error).
     */
    private static <T extends ResultBody> Operation<T> onTarget(RemoteTarget t, LongFunction<Request> make,
                                                                Class<T> type, Consumer<Event> onEvent,
                                                                List<String> paths) {
        LongFunction<Request> there = id -> RemoteTarget.forTarget(make.apply(id));
        if (paths.isEmpty() || t.hasAll(paths)) {
            return t.engine().run(there, type, onEvent);
        }
        CompletableFuture<T> result = CompletableFuture.runAsync(() -> {
            try {
                t.bring(paths, onEvent);
            } catch (EngineConnection.EngineFailure f) {
                throw new java.util.concurrent.CompletionException(f);
            }
        }, COPIER).thenCompose(x -> t.engine().run(there, type, onEvent).result());
        return new Operation<>(t.engine(), 0, result);
    }

    private static final java.util.concurrent.Executor COPIER = r -> {
        Thread th = new Thread(r, "copy-to-target");
        th.setDaemon(true);
        th.start();
    };

    /**
     * From now on the machine being changed is {@code t}: what looks at or changes the running
     * system goes to its engine (RemoteTarget says which), building stays here. Its unsolicited
     * events (the confirm-or-revert countdown) reach this client's listeners.
     */
    public void useTarget(RemoteTarget t) {
        t.engine().addUnsolicitedListener(e -> unsolicited.forEach(l -> l.accept(e)));
        target = t;
    }

    /** The target machine, when it is not this one. */
    public java.util.Optional<RemoteTarget> target() {
        return java.util.Optional.ofNullable(target);
    }

    public <T extends ResultBody> Operation<T> run(LongFunction<Request> make, Class<T> type) {
        return run(make, type, null);
    }

    /** Asks the engine to cancel a running request; its operation then fails with CANCELLED. */
    public void cancel(long target) {
        if (target > 0) {
            run(id -> new Request.Cancel(id, target), ResultBody.Ack.class);
        }
    }

    /** Events that belong to no request the app sent (countdown, automatic revert). */
    public void addUnsolicitedListener(Consumer<Event> listener) {
        unsolicited.add(listener);
    }

    /** Completes with a reason when the engine's output ends (or the target's connection does). */
    public CompletableFuture<String> closed() {
        RemoteTarget t = target;
        if (t == null) {
            return connection.closed();
        }
        CompletableFuture<String> remote = t.engine().closed().thenApply(r -> "the connection to "
                + t.target().destination() + " ended (" + r + ")");
        return connection.closed().applyToEither(remote, r -> r);
    }

    /** Ends the session: the engine sees end of input, closes its sandboxes and exits. */
    @Override
    public void close() {
        RemoteTarget t = target;
        if (t != null) {
            t.close();
        }
        try {
            connection.close();
        } catch (IOException ignored) {
            // the engine is gone already
        }
    }

    /** Waits for the engine process to exit after {@link #close()}. */
    public boolean awaitExit(Duration timeout) throws InterruptedException {
        return launched.process().waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
}
