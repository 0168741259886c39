package org.saferebuild.engine;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.saferebuild.engine.audit.AuditTrail;
import org.saferebuild.engine.sys.DaemonThreads;
import org.saferebuild.protocol.AuditRecord;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.FrameException;
import org.saferebuild.protocol.FrameReader;
import org.saferebuild.protocol.Json;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Protocol;
import org.saferebuild.protocol.Request;
import org.saferebuild.protocol.ResultBody;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection with the app: handshake, then requests dispatched to the fixed operation table.
 * Bad input (malformed, unknown, out of order, oversized) gets a PROTOCOL error and the
 * connection is closed; when the connection ends, running operations are cancelled and sandboxes
 * closed, so nothing half-done is left behind.
 */
public final class EngineServer {
    private static final Logger LOG = LoggerFactory.getLogger(EngineServer.class);

    private final FrameReader reader;
    private final EventSink sink;
    private final Engine engine;
    private final ExecutorService workers = Executors.newCachedThreadPool(DaemonThreads.named("op"));
    private final ScheduledExecutorService flusher = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("flush"));
    private final Map<Long, OpContext> inFlight = new ConcurrentHashMap<>();
    /** Counted down by the reader that finds the connection's end. */
    private final CountDownLatch ended = new CountDownLatch(1);
    private static final Runnable STOP = () -> { };
    private boolean greeted;
    private long lastId;
    /** Who the audit trail names for this connection's actions (from the handshake). */
    private AuditRecord.Who operator;

    public EngineServer(InputStream in, EventSink sink, Engine engine) {
        this.reader = new FrameReader(in, Protocol.MAX_REQUEST_BYTES);
        this.sink = sink;
        this.engine = engine;
    }

    /** Serves until the app closes the connection or breaks the protocol. */
    public void serve() {
        workers.execute(this::readRequests);
        try {
            ended.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        endConnection();
    }

    /**
     * Reads requests until one is to run: that one runs on this thread, and another thread of the
     * pool reads on (leader/follower: a request never waits for a sleeping thread to wake up and take
     * it; the next reader wakes while this one works). Only one thread reads at a time, so requests
     * are taken in order.
     */
    private void readRequests() {
        try {
            while (true) {
                String frame = reader.next();
                if (frame == null) {
                    LOG.info("the app closed the connection");
                    break;
                }
                Request request;
                try {
                    request = Json.decodeRequest(frame);
                } catch (FrameException e) {
                    protocolError(0, "The engine could not read a request: " + e.getMessage() + ".");
                    break;
                }
                Runnable work = accept(request);
                if (work == STOP) {
                    break;
                }
                if (work != null) {
                    workers.execute(this::readRequests);
                    work.run();
                    return;
                }
            }
        } catch (FrameException e) {
            protocolError(0, "The engine refused the input: " + e.getMessage() + ".");
        } catch (IOException e) {
            LOG.warn("reading requests failed: {}", e.toString());
        } catch (RuntimeException | Error e) {
            LOG.error("reading requests failed unexpectedly", e);
        }
        ended.countDown();
    }

    /** What to run for {@code request}: null when it was answered here, {@link #STOP} when the connection ends. */
    private Runnable accept(Request request) {
        if (!greeted) {
            if (!(request instanceof Request.Hello hello)) {
                protocolError(request.id(), "The first message must be \"hello\", not \"" + opName(request) + "\".");
                return STOP;
            }
            if (hello.protocol() != Protocol.VERSION) {
                protocolError(hello.id(), "The app speaks protocol " + hello.protocol()
                        + " but this engine speaks protocol " + Protocol.VERSION + ".");
                return STOP;
            }
            greeted = true;
            lastId = hello.id();
            Event.Welcome welcome = engine.welcome(hello.id());
            operator = Engine.operator(welcome);
            sink.send(welcome);
            engine.attach(sink);
            LOG.info("handshake with {}", hello.client());
            return null;
        }
        if (request.id() <= lastId) {
            protocolError(request.id(), "Request ids must increase; " + request.id() + " came after " + lastId + ".");
            return STOP;
        }
        lastId = request.id();
        if (request instanceof Request.Hello) {
            protocolError(request.id(), "\"hello\" may only be sent once.");
            return STOP;
        }
        if (request instanceof Request.Cancel cancel) {
            cancel(cancel);
            return null;
        }
        return dispatch(request);
    }

    private void cancel(Request.Cancel cancel) {
        OpContext target = inFlight.get(cancel.target());
        if (target == null) {
            sink.send(new Event.Failure(cancel.id(), ProblemCode.NOT_FOUND,
                    "There is no running request " + cancel.target() + " to cancel.",
                    "It has probably finished already; its result has been sent."));
            return;
        }
        if (!target.cancel()) {
            sink.send(new Event.Failure(cancel.id(), ProblemCode.BUSY,
                    "Request " + cancel.target() + " can no longer be cancelled: it has begun changing the system.",
                    "Wait for it to finish; an apply can then be reverted."));
            return;
        }
        sink.send(new Event.Result(cancel.id(), new ResultBody.Ack("Cancelling request " + cancel.target() + ".")));
    }

    /** The request's work, to run on the calling thread; null when it was answered at once. */
    private <R extends Request> Runnable dispatch(R request) {
        @SuppressWarnings("unchecked")
        Handler<R> handler = engine.operations().lookup((Class<R>) request.getClass());
        OpContext ctx = new OpContext(request.id(), sink);
        ctx.setOperator(operator);
        ctx.flushWith(flusher);
        if (handler == null) {
            sink.send(new Event.Failure(request.id(), ProblemCode.INVALID_ARGUMENT,
                    "This engine does not offer the operation \"" + opName(request) + "\".",
                    "Update the engine and the app together; the handshake lists what this engine offers."));
            return null;
        }
        if (inFlight.size() >= Protocol.MAX_IN_FLIGHT) {
            // Refused, not queued: what one connection can make the engine do at once is bounded.
            sink.send(new Event.Failure(request.id(), ProblemCode.BUSY, Protocol.MAX_IN_FLIGHT
                    + " requests are already running on this connection; request " + request.id() + " ("
                    + opName(request) + ") was not started.",
                    "Wait for an answer before sending more; the app sends only a few requests at a time."));
            return null;
        }
        inFlight.put(request.id(), ctx);
        return () -> run(request, handler, ctx);
    }

    private <R extends Request> void run(R request, Handler<R> handler, OpContext ctx) {
        Operations ops = engine.operations();
        Class<? extends Request> type = request.getClass();
        Event terminal;
        Intent intent = null;
        long started = System.nanoTime();
        long handlerStarted = started;
        try {
            // Privileged operations are recorded here, not by each handler (issue 4). One that only
            // checks until it calls ctx.uncancellable() has its intent written meanwhile; its first
            // change waits there until the intent is on disk, and nothing is done if it cannot be.
            if (ops.audited(type)) {
                Callable<AuditTrail.Pending> begin = () -> engine.audit().begin(operator, ops.nameOf(type), request,
                        ops.followUp(type));
                intent = ops.checksFirst(type) ? Intent.alongside(workers, begin) : Intent.now(begin);
                ctx.beforeChange(intent::await);
            }
            handlerStarted = System.nanoTime();
            ResultBody body = handler.handle(request, ctx);
            if (intent != null) {
                intent.await(); // a handler that changed nothing still has its record, or its refusal
            }
            terminal = ctx.cancelled()
                    ? cancelledFailure(request.id())
                    : new Event.Result(request.id(), body);
        } catch (Problem p) {
            Problem refused = intent != null ? intent.refusal() : null;
            if (refused != null) {
                p = refused; // the intent could not be recorded: that is why nothing was done
            }
            terminal = new Event.Failure(request.id(), p.code(), p.getMessage(), p.fix());
            LOG.info("request {} ({}) failed: {} {}", request.id(), opName(request), p.code(), p.getMessage());
        } catch (Exception | Error e) {
            LOG.error("request {} ({}) failed unexpectedly", request.id(), opName(request), e);
            Problem p = Problem.internal("The engine failed unexpectedly: " + e, e);
            terminal = new Event.Failure(request.id(), p.code(), p.getMessage(), p.fix());
        }
        ctx.flush();
        long handlerEnded = System.nanoTime();
        AuditTrail.Pending audit = intent != null ? intent.recorded() : null;
        if (audit != null) {
            engine.audit().end(audit, terminal);
        }
        long ended = System.nanoTime();
        inFlight.remove(request.id());
        sink.send(terminal);
        if (audit != null) {
            // Where a recorded operation's time went (docs/apply.md "What it costs"; script/bench apply),
            // logged after the answer has gone.
            LOG.info("request {} ({}) took {} ms: {} {}, {}, outcome {}", request.id(), audit.what(),
                    millis(ended - started), intent.alongside() ? "intent (alongside the checks)" : "intent",
                    millis(intent.nanos()), ctx.phaseTimes("setup", handlerStarted, handlerEnded),
                    millis(ended - handlerEnded));
        }
    }

    private static String millis(long nanos) {
        return String.format(java.util.Locale.ROOT, "%.2f", nanos / 1e6);
    }

    /** A request's audit intent: written before it runs, or alongside its checks. */
    private static final class Intent {
        private final CompletableFuture<AuditTrail.Pending> written = new CompletableFuture<>();
        private final boolean alongside;
        private volatile long nanos;

        private Intent(boolean alongside) {
            this.alongside = alongside;
        }

        /** Written now, on this thread; throws if it cannot be. */
        static Intent now(Callable<AuditTrail.Pending> begin) throws Problem {
            Intent i = new Intent(false);
            i.write(begin);
            i.await();
            return i;
        }

        /** Written on another thread of {@code pool} while the caller goes on. */
        static Intent alongside(ExecutorService pool, Callable<AuditTrail.Pending> begin) {
            Intent i = new Intent(true);
            try {
                pool.execute(() -> i.write(begin));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                i.write(begin); // the connection is ending and the pool takes no more work: write it here
            }
            return i;
        }

        private void write(Callable<AuditTrail.Pending> begin) {
            long t = System.nanoTime();
            try {
                written.complete(begin.call());
            } catch (Exception | Error e) {
                written.completeExceptionally(e);
            } finally {
                nanos = System.nanoTime() - t;
            }
        }

        boolean alongside() {
            return alongside;
        }

        long nanos() {
            return nanos;
        }

        /** Waits until the intent is on disk; throws the reason it is not. */
        AuditTrail.Pending await() throws Problem {
            return Problem.await(written, "recording the intent");
        }

        /** The intent's record, null if it was not written. */
        AuditTrail.Pending recorded() {
            try {
                return await();
            } catch (Problem p) {
                return null;
            }
        }

        /** Why the intent was not written, null if it was. */
        Problem refusal() {
            try {
                await();
                return null;
            } catch (Problem p) {
                return p;
            }
        }
    }

    private static Event cancelledFailure(long id) {
        return new Event.Failure(id, ProblemCode.CANCELLED, "Cancelled by the operator.",
                "Nothing more will happen for this step; start it again when ready.");
    }

    private void protocolError(long id, String message) {
        LOG.warn("protocol error: {}", message);
        sink.send(new Event.Failure(id, ProblemCode.PROTOCOL, message,
                "The connection is closed. Restart the app; if it keeps happening, the app and the engine"
                        + " do not match (reinstall both)."));
    }

    /** Cancels what is running, waits for it to stop, then lets the engine clean up. */
    private void endConnection() {
        inFlight.values().forEach(OpContext::cancel);
        workers.shutdown();
        try {
            if (!workers.awaitTermination(30, TimeUnit.SECONDS)) {
                LOG.warn("operations still running 30 s after the connection ended");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        flusher.shutdownNow();
        sink.close();
        engine.connectionEnded();
    }

    private static String opName(Request r) {
        String n = r.getClass().getSimpleName();
        return n.isEmpty() ? r.getClass().getName() : n;
    }

}
