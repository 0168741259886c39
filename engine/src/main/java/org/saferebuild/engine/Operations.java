package org.saferebuild.engine;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.saferebuild.protocol.Request;

/** The fixed set of operations: request type → handler. Nothing outside this table runs. */
public final class Operations {
    private final Map<Class<? extends Request>, Handler<? extends Request>> handlers = new LinkedHashMap<>();

    public <R extends Request> Operations register(Class<R> type, Handler<R> handler) {
        if (handlers.putIfAbsent(type, handler) != null) {
            throw new IllegalStateException("two handlers for " + type.getSimpleName());
        }
        return this;
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
