package org.saferebuild.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongFunction;

/**
 * The app's end of the protocol, over the streams of an engine process however it was started
 * (pkexec, sudo, direct). One reader thread decodes events and routes them to the request they
 * belong to; listeners run on that thread and must hand work to the UI themselves.
 */
public final class EngineConnection implements AutoCloseable {
    private final FrameReader reader;
    private final FrameWriter writer;
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, Call> calls = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<Consumer<Event>> listeners = new CopyOnWriteArrayList<>();
    private final CompletableFuture<String> closed = new CompletableFuture<>();
    private final Thread readerThread;

    public EngineConnection(InputStream fromEngine, OutputStream toEngine) {
        this.reader = new FrameReader(fromEngine, Protocol.MAX_EVENT_BYTES);
        this.writer = new FrameWriter(toEngine);
        this.readerThread = new Thread(this::readLoop, "engine-events");
        readerThread.setDaemon(true);
        readerThread.start();
    }

    /** A request in flight: its intermediate events go to the listener, its end completes the future. */
    public static final class Call {
        private final long id;
        private final CompletableFuture<Event> done = new CompletableFuture<>();
        private final CopyOnWriteArrayList<Consumer<Event>> listeners = new CopyOnWriteArrayList<>();

        Call(long id) {
            this.id = id;
        }

        public long id() {
            return id;
        }

        public Call onEvent(Consumer<Event> listener) {
            listeners.add(listener);
            return this;
        }

        public CompletableFuture<Event> done() {
            return done;
        }

        /** Waits for the end and returns the result body, or throws the engine's failure. */
        public <T extends ResultBody> T result(Class<T> type, Duration timeout) throws EngineFailure {
            Event e;
            try {
                e = done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException ex) {
                throw new EngineFailure(new Event.Failure(id, ProblemCode.INTERNAL,
                        "The engine did not answer within " + timeout.toSeconds() + " s.",
                        "Check that the engine is still running."));
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new EngineFailure(new Event.Failure(id, ProblemCode.CANCELLED, "Interrupted.", "Try again."));
            } catch (ExecutionException ex) {
                throw new EngineFailure(new Event.Failure(id, ProblemCode.INTERNAL,
                        String.valueOf(ex.getCause().getMessage()), "Restart the app."));
            }
            if (e instanceof Event.Failure f) {
                throw new EngineFailure(f);
            }
            if (e instanceof Event.Result r && type.isInstance(r.body())) {
                return type.cast(r.body());
            }
            throw new EngineFailure(new Event.Failure(id, ProblemCode.PROTOCOL,
                    "Expected a " + type.getSimpleName() + " but the engine sent " + e, "Reinstall the app and engine."));
        }
    }

    /** The engine's failure as an exception, for code that waits on a result. */
    public static final class EngineFailure extends Exception {
        private static final long serialVersionUID = 1L;
        private final transient Event.Failure failure;

        public EngineFailure(Event.Failure failure) {
            super(failure.code() + ": " + failure.message());
            this.failure = failure;
        }

        public Event.Failure failure() {
            return failure;
        }
    }

    public Event.Welcome handshake(String client, Duration timeout) throws EngineFailure, IOException {
        Call c = send(id -> new Request.Hello(id, Protocol.VERSION, client));
        Event e;
        try {
            e = c.done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | InterruptedException | ExecutionException ex) {
            throw new IOException("no handshake from the engine within " + timeout.toMillis() + " ms"
                    + (closed.isDone() ? " (" + closed.getNow("") + ")" : ""), ex);
        }
        if (e instanceof Event.Failure f) {
            throw new EngineFailure(f);
        }
        return (Event.Welcome) e;
    }

    /** Sends a request made with the next id. */
    public Call send(LongFunction<Request> make) throws IOException {
        long id = ids.incrementAndGet();
        Call c = new Call(id);
        calls.put(id, c);
        if (closed.isDone()) {
            calls.remove(id);
            c.done.complete(new Event.Failure(id, ProblemCode.INTERNAL, "The engine connection is closed: "
                    + closed.getNow(""), "Restart the app to start a new engine."));
            return c;
        }
        try {
            writer.write(Json.encode(make.apply(id)));
        } catch (IOException e) {
            calls.remove(id);
            throw e;
        }
        return c;
    }

    /** Every event, before it is routed to its call. */
    public void addListener(Consumer<Event> listener) {
        listeners.add(listener);
    }

    /** Completes with a reason when the engine's output ends. */
    public CompletableFuture<String> closed() {
        return closed;
    }

    /** Closes the app's side: the engine sees end of input and cleans up. */
    @Override
    public void close() throws IOException {
        writer.close();
    }

    private void readLoop() {
        String reason = "the engine closed the connection";
        try {
            String frame;
            while ((frame = reader.next()) != null) {
                Event e = Json.decodeEvent(frame);
                listeners.forEach(l -> l.accept(e));
                Call c = calls.get(e.id());
                if (c != null) {
                    c.listeners.forEach(l -> l.accept(e));
                    if (e.terminal()) {
                        calls.remove(e.id());
                        c.done.complete(e);
                    }
                }
            }
        } catch (FrameException | IOException | RuntimeException e) {
            reason = "the engine's output could not be read: " + e.getMessage();
        }
        closed.complete(reason);
        for (Call c : calls.values()) {
            c.done.complete(new Event.Failure(c.id, ProblemCode.INTERNAL, "The engine stopped before answering ("
                    + reason + ").", "Restart the app; the engine log says why it stopped."));
        }
        calls.clear();
    }
}
