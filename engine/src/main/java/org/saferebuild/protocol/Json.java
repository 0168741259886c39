package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.databind.exc.InvalidTypeIdException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The one JSON configuration both ends use. Strict on input: unknown properties, duplicate keys,
 * trailing garbage, scalar coercion ("1" for 1), a number with a fraction or an exponent where an
 * integer belongs (1.9 is not generation 1, 1e3 is not id 1000) and unknown message types are all
 * refused, so a record that exists past the decoder has passed its own validation.
 */
public final class Json {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .withCoercionConfig(LogicalType.Integer, c -> c.setCoercion(CoercionInputShape.Float, CoercionAction.Fail))
            .build();

    static {
        MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(64)
                .maxStringLength(Protocol.MAX_EVENT_BYTES)
                .build());
    }

    private Json() {
    }

    /** For code that needs the mapper itself (engine config files, reports on disk). */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    public static String encode(Object message) {
        try {
            return MAPPER.writeValueAsString(message);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode " + message.getClass().getSimpleName(), e);
        }
    }

    public static Request decodeRequest(String frame) throws FrameException {
        return decode(frame, Request.class);
    }

    public static Event decodeEvent(String frame) throws FrameException {
        return decode(frame, Event.class);
    }

    public static <T> T decode(String frame, Class<T> type) throws FrameException {
        try {
            T value = MAPPER.readValue(frame, type);
            if (value == null) {
                throw new FrameException("frame is JSON null, expected an object");
            }
            return value;
        } catch (InvalidTypeIdException e) {
            throw new FrameException("unknown or missing message type: " + e.getTypeId(), e);
        } catch (UnrecognizedPropertyException e) {
            throw new FrameException("unknown field \"" + e.getPropertyName() + "\"", e);
        } catch (ValueInstantiationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new FrameException("invalid value: " + cause.getMessage(), e);
        } catch (JsonProcessingException e) {
            throw new FrameException("malformed message: " + e.getOriginalMessage(), e);
        }
    }
}
