package org.saferebuild.engine;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
        flusher.scheduleAtFixedRate(() -> inFlight.values().forEach(OpContext::flushIfStale),
                OpContext.FLUSH_MILLIS, OpContext.FLUSH_MILLIS, TimeUnit.MILLISECONDS);
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
                if (!accept(request)) {
                    break;
                }
            }
        } catch (FrameException e) {
            protocolError(0, "The engine refused the input: " + e.getMessage() + ".");
        } catch (IOException e) {
            LOG.warn("reading requests failed: {}", e.toString());
        } finally {
            endConnection();
        }
    }

    private boolean accept(Request request) {
        if (!greeted) {
            if (!(request instanceof Request.Hello hello)) {
                protocolError(request.id(), "The first message must be \"hello\", not \"" + opName(request) + "\".");
                return false;
            }
            if (hello.protocol() != Protocol.VERSION) {
                protocolError(hello.id(), "The app speaks protocol " + hello.protocol()
                        + " but this engine speaks protocol " + Protocol.VERSION + ".");
                return false;
            }
            greeted = true;
            lastId = hello.id();
            Event.Welcome welcome = engine.welcome(hello.id());
            operator = Engine.operator(welcome);
            sink.send(welcome);
            engine.attach(sink);
            LOG.info("handshake with {}", hello.client());
            return true;
        }
        if (request.id() <= lastId) {
            protocolError(request.id(), "Request ids must increase; " + request.id() + " came after " + lastId + ".");
            return false;
        }
        lastId = request.id();
        if (request instanceof Request.Hello) {
            protocolError(request.id(), "\"hello\" may only be sent once.");
            return false;
        }
        if (request instanceof Request.Cancel cancel) {
            cancel(cancel);
            return true;
        }
        dispatch(request);
        return true;
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

    private <R extends Request> void dispatch(R request) {
        @SuppressWarnings("unchecked")
        Handler<R> handler = engine.operations().lookup((Class<R>) request.getClass());
        OpContext ctx = new OpContext(request.id(), sink);
        ctx.setOperator(operator);
        if (handler == null) {
            sink.send(new Event.Failure(request.id(), ProblemCode.INVALID_ARGUMENT,
                    "This engine does not offer the operation \"" + opName(request) + "\".",
                    "Update the engine and the app together; the handshake lists what this engine offers."));
            return;
        }
        if (inFlight.size() >= Protocol.MAX_IN_FLIGHT) {
            // Refused, not queued: what one connection can make the engine do at once is bounded.
            sink.send(new Event.Failure(request.id(), ProblemCode.BUSY, Protocol.MAX_IN_FLIGHT
                    + " requests are already running on this connection; request " + request.id() + " ("
                    + opName(request) + ") was not started.",
                    "Wait for an answer before sending more; the app sends only a few requests at a time."));
            return;
        }
        inFlight.put(request.id(), ctx);
        workers.execute(() -> {
            Event terminal;
            AuditTrail.Pending audit = null;
            long started = System.nanoTime();
            long handlerStarted = started;
            try {
                // Privileged operations are recorded here, not by each handler (issue 4).
                if (engine.operations().audited(request.getClass())) {
                    audit = engine.audit().begin(operator, engine.operations().nameOf(request.getClass()), request,
                            engine.operations().followUp(request.getClass()));
                }
                handlerStarted = System.nanoTime();
                ResultBody body = handler.handle(request, ctx);
                terminal = ctx.cancelled()
                        ? cancelledFailure(request.id())
                        : new Event.Result(request.id(), body);
            } catch (Problem p) {
                terminal = new Event.Failure(request.id(), p.code(), p.getMessage(), p.fix());
                LOG.info("request {} ({}) failed: {} {}", request.id(), opName(request), p.code(), p.getMessage());
            } catch (Exception | Error e) {
                LOG.error("request {} ({}) failed unexpectedly", request.id(), opName(request), e);
                Problem p = Problem.internal("The engine failed unexpectedly: " + e, e);
                terminal = new Event.Failure(request.id(), p.code(), p.getMessage(), p.fix());
            }
            ctx.flush();
            long handlerEnded = System.nanoTime();
            if (audit != null) {
                engine.audit().end(audit, terminal);
                // Where a recorded operation's time went (docs/apply.md "What it costs"; script/bench apply).
                long ended = System.nanoTime();
                LOG.info("request {} ({}) took {} ms: intent {}, {}, outcome {}", request.id(), audit.what(),
                        String.format(java.util.Locale.ROOT, "%.2f", (ended - started) / 1e6),
                        String.format(java.util.Locale.ROOT, "%.2f", (handlerStarted - started) / 1e6),
                        ctx.phaseTimes("setup", handlerStarted, handlerEnded),
                        String.format(java.util.Locale.ROOT, "%.2f", (ended - handlerEnded) / 1e6));
            }
            inFlight.remove(request.id());
            sink.send(terminal);
        });
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
