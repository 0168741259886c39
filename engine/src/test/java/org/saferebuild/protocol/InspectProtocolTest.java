package org.saferebuild.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The Inspect area's messages: typed system references, validated as they are decoded. */
class InspectProtocolTest {
    private static final String SYSTEM = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-BearsiMac-23.11";

    @Test
    void requestsNameSystemsWithTypedReferences() throws Exception {
        assertThat(Json.decodeRequest("{\"op\":\"inspect\",\"id\":2,\"system\":{\"type\":\"current\"}}"))
                .isEqualTo(new InspectRequest.Inspect(2, SystemRef.current()));
        assertThat(Json.decodeRequest("{\"op\":\"compare\",\"id\":3,\"from\":{\"type\":\"current\"},"
                + "\"to\":{\"type\":\"generation\",\"number\":41}}"))
                .isEqualTo(new InspectRequest.Compare(3, SystemRef.current(), SystemRef.generation(41)));
        Request r = new InspectRequest.Compare(4, SystemRef.generation(40), SystemRef.path(SYSTEM));
        assertThat(Json.encode(r)).isEqualTo("{\"op\":\"compare\",\"id\":4,\"from\":{\"type\":\"generation\","
                + "\"number\":40},\"to\":{\"type\":\"path\",\"path\":\"" + SYSTEM + "\"}}");
        assertThat(Json.decodeRequest(Json.encode(r))).isEqualTo(r);
    }

    @Test
    void anythingElseIsRefusedByTheDecoder() {
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"inspect\",\"id\":2,\"system\":{\"type\":\"path\","
                + "\"path\":\"/etc/shadow\"}}")).isInstanceOf(FrameException.class)
                .hasMessageContaining("path is not a Nix store path");
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"inspect\",\"id\":2,\"system\":{\"type\":\"generation\","
                + "\"number\":0}}")).isInstanceOf(FrameException.class)
                .hasMessageContaining("generation must be a positive number");
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"inspect\",\"id\":2,\"system\":{\"type\":\"booted\"}}"))
                .isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"inspect\",\"id\":2}"))
                .isInstanceOf(FrameException.class).hasMessageContaining("system is required");
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"compare\",\"id\":2,\"from\":{\"type\":\"current\","
                + "\"path\":\"" + SYSTEM + "\"},\"to\":{\"type\":\"current\"}}")).isInstanceOf(FrameException.class)
                .hasMessageContaining("unknown field \"path\"");
    }

    @Test
    void resultsRoundTripAndKeepTheirInvariants() throws Exception {
        InspectResult.SystemInfo info = new InspectResult.SystemInfo(SystemRef.current(), SYSTEM, "running system",
                1, true, true, "23.11");
        InspectResult.Comparison c = new InspectResult.Comparison(info, info,
                new InspectResult.Packages(List.of(), List.of(), List.of()), new InspectResult.Closure(3, 100),
                new InspectResult.Closure(4, 150), 50, InspectResult.Source.UNIT_FILES, "computed",
                List.of(new InspectResult.UnitAction("sshd.service", InspectResult.Action.SKIP,
                        InspectResult.Source.UNIT_FILES, "changed", "--- a\n+++ b\n", "remote logins")),
                new InspectResult.Reboot(false, List.of(), "the running system", "No reboot needed."), List.of(), 5);
        Event ev = new Event.Result(9, c);
        String json = Json.encode(ev);
        assertThat(json).contains("\"kind\":\"comparison\"");
        assertThat(Json.decodeEvent(json)).isEqualTo(ev);

        // packages.resized came later: an answer without it still decodes, as an empty list
        InspectResult.Package firefox = new InspectResult.Package("firefox", InspectResult.Change.RESIZED,
                List.of("121.0"), List.of("121.0"), 102_400, 122_880);
        InspectResult.Comparison withResized = new InspectResult.Comparison(info, info,
                new InspectResult.Packages(List.of(), List.of(), List.of(), List.of(firefox)), c.closureFrom(),
                c.closureTo(), 50, c.unitSource(), c.unitMethod(), c.units(), c.reboot(), List.of(), 5);
        String resizedJson = Json.encode(new Event.Result(10, withResized));
        assertThat(resizedJson).contains("\"resized\":[{\"name\":\"firefox\",\"change\":\"RESIZED\"");
        assertThat(Json.decodeEvent(resizedJson)).isEqualTo(new Event.Result(10, withResized));
        String older = json.replace(",\"resized\":[]", "");
        assertThat(older).doesNotContain("resized");
        assertThat(((InspectResult.Comparison) ((Event.Result) Json.decodeEvent(older)).body()).packages().resized())
                .isEmpty();

        assertThatThrownBy(() -> new InspectResult.Comparison(info, info,
                new InspectResult.Packages(List.of(), List.of(), List.of()), new InspectResult.Closure(3, 100),
                new InspectResult.Closure(4, 150), 49, InspectResult.Source.UNIT_FILES, "computed", List.of(),
                new InspectResult.Reboot(false, List.of(), "x", "y"), List.of(), 5))
                .hasMessageContaining("bytesDelta");
        assertThatThrownBy(() -> new InspectResult.Reboot(true, List.of(), "x", "y"))
                .hasMessageContaining("exactly when boot items differ");
        assertThatThrownBy(() -> new InspectResult.WatchedService("*-chakra.service", true, List.of()))
                .hasMessageContaining("present");
    }
}
