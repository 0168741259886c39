package org.saferebuild.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class JsonCodecTest {

    @Test
    void requestsRoundTripThroughTheirAreaInterfaces() throws Exception {
        Request open = new SandboxRequest.Open(7, "/etc/nixos", "nixos", SandboxRequest.Network.ISOLATED);
        String json = Json.encode(open);
        assertThat(json).contains("\"op\":\"sandbox.open\"");
        assertThat(Json.decodeRequest(json)).isEqualTo(open);
        assertThat(Json.decodeRequest("{\"op\":\"hello\",\"id\":1,\"protocol\":1,\"client\":\"t\"}"))
                .isEqualTo(new Request.Hello(1, 1, "t"));
    }

    @Test
    void eventsRoundTripWithNestedResultKinds() throws Exception {
        Event ev = new Event.Result(3, new SandboxResult.Closed("sb-abcdef12", true, List.of()));
        String json = Json.encode(ev);
        assertThat(json).contains("\"event\":\"result\"").contains("\"kind\":\"sandbox.closed\"");
        assertThat(Json.decodeEvent(json)).isEqualTo(ev);
    }

    @Test
    void refusesWhatAStrictDecoderMust() {
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"rm -rf\",\"id\":1}"))
                .isInstanceOf(FrameException.class).hasMessageContaining("unknown or missing message type");
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"preflight\",\"id\":1,\"extra\":1}"))
                .isInstanceOf(FrameException.class).hasMessageContaining("unknown field \"extra\"");
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"preflight\",\"id\":1,\"id\":2}"))
                .isInstanceOf(FrameException.class).hasMessageContaining("Duplicate field");
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"preflight\",\"id\":\"1\"}"))
                .isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"preflight\",\"id\":0}"))
                .isInstanceOf(FrameException.class).hasMessageContaining("id must be a positive number");
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"preflight\",\"id\":1} {}"))
                .isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"preflight\",\"id\":1,\"configDir\":\"/etc/../root\"}"))
                .isInstanceOf(FrameException.class).hasMessageContaining("must not contain . or ..");
        assertThatThrownBy(() -> Json.decodeRequest(
                "{\"op\":\"sandbox.open\",\"id\":1,\"configDir\":\"/etc/nixos\",\"plan\":\"nixos\",\"network\":\"BOTH\"}"))
                .isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> Json.decodeRequest("null")).isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> Json.decodeRequest("[1,2]")).isInstanceOf(FrameException.class);
    }
}
