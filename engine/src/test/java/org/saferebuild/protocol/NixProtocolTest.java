package org.saferebuild.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The build area of the protocol: validate, build, their results and the build progress event. */
class NixProtocolTest {
    private static final String DRV = "/nix/store/bnz8kirjvm5vqax6r551zz6iyf9ldgkd-nixos-system-BearsiMac-23.11.drv";
    private static final String OUT = "/nix/store/lwis317hjrvzlsnpf3p6zlg5zamwbajk-nixos-system-BearsiMac-23.11";

    @Test
    void requestsHaveTheirOpNamesAndRoundTrip() throws Exception {
        Request v = new NixRequest.Validate(2, "sb-abcdef123456", "BearsiMac");
        assertThat(Json.encode(v)).contains("\"op\":\"validate\"");
        assertThat(Json.decodeRequest(Json.encode(v))).isEqualTo(v);
        Request b = new NixRequest.Build(3, "sb-abcdef123456", null);
        assertThat(Json.encode(b)).contains("\"op\":\"build\"").doesNotContain("host");
        assertThat(Json.decodeRequest(Json.encode(b))).isEqualTo(b);
    }

    @Test
    void aHostThatIsNoNixAttributeNameNeverReachesTheEngine() {
        for (String bad : List.of("1host", "Bears iMac", "host\"; rm", "-x", "in", "a.b")) {
            assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"build\",\"id\":2,\"sandbox\":\"sb-abcdef123456\","
                    + "\"host\":" + Json.encode(bad) + "}"))
                    .as(bad).isInstanceOf(FrameException.class).hasMessageContaining("not a valid Nix attribute name");
        }
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"validate\",\"id\":2,\"sandbox\":\"../etc\"}"))
                .isInstanceOf(FrameException.class).hasMessageContaining("sandbox id is malformed");
    }

    @Test
    void resultsAndProgressRoundTrip() throws Exception {
        NixResult.Validation v = new NixResult.Validation("sb-abcdef123456", "/etc/nixos",
                PreflightReport.ConfigKind.FLAKE, "BearsiMac", List.of("BearsiMac"), "/etc/nixos#x", DRV,
                "nixos-system-BearsiMac-23.11", List.of(NixResult.StoreItem.of(DRV)), List.of(), null, null,
                List.of(new NixResult.Download(DRV, "x.tar.gz", "https://example.invalid/x.tar.gz")), true, List.of(),
                10, 20);
        Event e = new Event.Result(4, v);
        String json = Json.encode(e);
        assertThat(json).contains("\"kind\":\"validation\"").contains("\"configKind\":\"FLAKE\"")
                .contains("\"name\":\"nixos-system-BearsiMac-23.11.drv\"");
        assertThat(Json.decodeEvent(json)).isEqualTo(e);

        Event built = new Event.Result(5, new NixResult.Built("sb-abcdef123456", "/etc/nixos",
                PreflightReport.ConfigKind.CLASSIC, "BearsiMac", OUT, DRV, "/var/lib/safe-rebuild/gcroots/builds/x",
                "/var/lib/safe-rebuild/logs/build.log", null, 3, 0, 1234));
        assertThat(Json.encode(built)).contains("\"kind\":\"build\"");
        assertThat(Json.decodeEvent(Json.encode(built))).isEqualTo(built);

        Event p = new NixEvent.BuildProgress(5, 10, 1, 4, 0,
                List.of(new NixEvent.Active(DRV, "nixos-system-BearsiMac-23.11", "buildPhase")), 0, 0, 0, 0);
        assertThat(Json.encode(p)).startsWith("{\"event\":\"build.progress\"");
        assertThat(Json.decodeEvent(Json.encode(p))).isEqualTo(p);
        assertThat(p.terminal()).isFalse();
        assertThatThrownBy(() -> new NixEvent.BuildProgress(5, -1, 0, 0, 0, List.of(), 0, 0, 0, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Json.decodeEvent(json.replace(DRV, "/etc/passwd")))
                .isInstanceOf(FrameException.class);
    }
}
