package org.saferebuild.engine;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.saferebuild.protocol.Request;

/**
 * The fixed set of operations: request type → handler. Nothing outside this table runs.
 * Operations are privileged by default: {@link #register} makes the dispatcher record each one in
 * the audit trail (issue 4). Only operations that change nothing use {@link #query}.
 */
public final class Operations {
    private final Map<Class<? extends Request>, Handler<? extends Request>> handlers = new LinkedHashMap<>();
    private final Set<Class<? extends Request>> queries = new HashSet<>();
    private final Set<Class<? extends Request>> followUps = new HashSet<>();
    private final Set<Class<? extends Request>> checksFirst = new HashSet<>();

    /** A privileged operation: recorded in the audit trail by the dispatcher. */
    public <R extends Request> Operations register(Class<R> type, Handler<R> handler) {
        if (handlers.putIfAbsent(type, handler) != null) {
            throw new IllegalStateException("two handlers for " + type.getSimpleName());
        }
        return this;
    }

    /**
     * A privileged operation that ends an earlier one (closing a sandbox, confirming or reverting an
     * apply): recorded like any other, but its records may use the space the earlier one reserved,
     * so it is not refused on a disk that is full for new actions.
     */
    public <R extends Request> Operations registerFollowUp(Class<R> type, Handler<R> handler) {
        register(type, handler);
        followUps.add(type);
        return this;
    }

    /**
     * A privileged operation whose handler only reads until it calls {@code ctx.uncancellable()}
     * (an apply, a rollback: the closure's checks come first): its intent is recorded while it
     * checks, and {@code uncancellable()} waits until the record is on disk before anything
     * changes, or refuses. Anything the handler changes must come after that call.
     */
    public <R extends Request> Operations registerChecksFirst(Class<R> type, Handler<R> handler) {
        register(type, handler);
        checksFirst.add(type);
        return this;
    }

    /** Whether the operation's intent is recorded alongside its checks ({@link #registerChecksFirst}). */
    public boolean checksFirst(Class<? extends Request> type) {
        return checksFirst.contains(type);
    }

    /** Whether the operation ends an earlier one ({@link #registerFollowUp}). */
    public boolean followUp(Class<? extends Request> type) {
        return followUps.contains(type);
    }

    /** An operation that only reads (the mount tree, the generations, the audit trail): not recorded. */
    public <R extends Request> Operations query(Class<R> type, Handler<R> handler) {
        register(type, handler);
        queries.add(type);
        return this;
    }

    /** Whether the dispatcher records this operation in the audit trail. */
    public boolean audited(Class<? extends Request> type) {
        return handlers.containsKey(type) && !queries.contains(type);
    }

    /** The operation's protocol name ("sandbox.open"), as the audit trail records it. */
    public String nameOf(Class<? extends Request> type) {
        return nameIn(Request.class, type);
    }

    private static String nameIn(Class<?> parent, Class<?> type) {
        JsonSubTypes subs = parent.getAnnotation(JsonSubTypes.class);
        if (subs != null) {
            for (JsonSubTypes.Type t : subs.value()) {
                if (t.value() == type && !t.name().isEmpty()) {
                    return t.name();
                }
                String inner = nameIn(t.value(), type);
                if (inner != null) {
                    return inner;
                }
            }
        }
        return parent == Request.class ? type.getSimpleName() : null;
    }

    @SuppressWarnings("unchecked")
    public <R extends Request> Handler<R> lookup(Class<R> type) {
        return (Handler<R>) handlers.get(type);
    }

    /** Operation names ("sandbox.open", …) for the handshake's capability list. */
    public List<String> names() {
        List<String> out = new ArrayList<>(List.of("hello", "cancel"));
        collect(Request.class, out);
        return out;
    }

    private void collect(Class<?> type, List<String> out) {
        JsonSubTypes subs = type.getAnnotation(JsonSubTypes.class);
        if (subs == null) {
            return;
        }
        for (JsonSubTypes.Type t : subs.value()) {
            if (!t.name().isEmpty() && handlers.containsKey(t.value())) {
                out.add(t.name());
            }
            collect(t.value(), out);
        }
    }
}
