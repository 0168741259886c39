package org.saferebuild.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The System area's records: names on the wire, and the values their constructors refuse. */
class SystemProtocolTest {
    private static final String SYSTEM = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-BearsiMac-23.11";

    @Test
    void everyOperationHasItsWireName() throws Exception {
        List<Request> requests = List.of(
                new SystemRequest.Baseline(2, "/etc/nixos"),
                new SystemRequest.Apply(3, SYSTEM, null, SystemRequest.Mode.SWITCH, 30),
                new SystemRequest.Apply(4, null, 7, SystemRequest.Mode.BOOT, null),
                new SystemRequest.Confirm(5), new SystemRequest.Revert(6), new SystemRequest.Verify(7),
                new SystemRequest.Generations(8), new SystemRequest.Pin(9, 3), new SystemRequest.Unpin(10, 3),
                new SystemRequest.Rollback(11, 3, SystemRequest.RollbackMode.SWITCH),
                new SystemRequest.Signoff(12, "Bear", List.of(new SystemRequest.Answer("Backup exists", true,
                        "baseline bl-1: 12 files"))),
                new SystemRequest.AuditRead(13, 1, 100), new SystemRequest.AuditVerify(14));
        List<String> ops = List.of("baseline", "apply", "apply", "confirm", "revert", "verify", "generations", "pin",
                "unpin", "rollback", "signoff", "audit.read", "audit.verify");
        for (int i = 0; i < requests.size(); i++) {
            String json = Json.encode(requests.get(i));
            assertThat(json).contains("\"op\":\"" + ops.get(i) + "\"");
            assertThat(Json.decodeRequest(json)).isEqualTo(requests.get(i));
        }
    }

    @Test
    void applyNamesExactlyOneTargetAndABoundedWindow() {
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"apply\",\"id\":2,\"mode\":\"SWITCH\"}"))
                .isInstanceOf(FrameException.class).hasMessageContaining("exactly one of storePath and generation");
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"apply\",\"id\":2,\"storePath\":\"" + SYSTEM
                + "\",\"generation\":3,\"mode\":\"SWITCH\"}"))
                .isInstanceOf(FrameException.class).hasMessageContaining("exactly one");
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"apply\",\"id\":2,\"storePath\":\"/tmp/evil\","
                + "\"mode\":\"SWITCH\"}"))
                .isInstanceOf(FrameException.class).hasMessageContaining("not a Nix store path");
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"apply\",\"id\":2,\"generation\":0,\"mode\":\"TEST\"}"))
                .isInstanceOf(FrameException.class).hasMessageContaining("generation must be 1 or more");
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"apply\",\"id\":2,\"generation\":2,\"mode\":\"DRY\"}"))
                .isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"apply\",\"id\":2,\"generation\":2,\"mode\":\"SWITCH\","
                + "\"confirmSeconds\":2}"))
                .isInstanceOf(FrameException.class).hasMessageContaining("between 5 and 3600");
        assertThatThrownBy(() -> Json.decodeRequest("{\"op\":\"apply\",\"id\":2,\"generation\":2,\"mode\":\"BOOT\","
                + "\"confirmSeconds\":60}"))
                .isInstanceOf(FrameException.class).hasMessageContaining("TEST and SWITCH only");
    }

    @Test
    void signoffAndAuditReadAreBounded() {
        assertThatThrownBy(() -> new SystemRequest.Signoff(2, " ", List.of(new SystemRequest.Answer("x", true, null))))
                .hasMessageContaining("operatorName must not be blank");
        assertThatThrownBy(() -> new SystemRequest.Signoff(2, "Bear", List.of()))
                .hasMessageContaining("between 1 and 100");
        assertThatThrownBy(() -> new SystemRequest.Answer("x", true, "e".repeat(8001)))
                .hasMessageContaining("longer than 8000");
        assertThatThrownBy(() -> new SystemRequest.AuditRead(2, 0, 10)).hasMessageContaining("1-based");
        assertThatThrownBy(() -> new SystemRequest.AuditRead(2, 1, 5000)).hasMessageContaining("between 1 and 1000");
    }

    @Test
    void noticesAreUnsolicitedAndRoundTrip() throws Exception {
        Event n = new Event.Notice(0, 4, Event.Notice.Topic.COUNTDOWN, "Reverting in 9 s unless confirmed.", 2, 9L,
                "2026-01-01T00:00:00Z");
        String json = Json.encode(n);
        assertThat(json).contains("\"event\":\"notice\"").contains("\"topic\":\"COUNTDOWN\"");
        assertThat(Json.decodeEvent(json)).isEqualTo(n);
        assertThat(n.terminal()).isFalse();
        assertThatThrownBy(() -> new Event.Notice(4, 4, Event.Notice.Topic.REVERTED, "x", null, null, null))
                .hasMessageContaining("id 0");
    }

    @Test
    void resultsRoundTripWithTheirKinds() throws Exception {
        Event e = new Event.Result(3, new SystemResult.AuditVerdict("/var/log/safe-rebuild/audit.jsonl", false, 9, 4L,
                "line 4 was changed", null, true, null));
        String json = Json.encode(e);
        assertThat(json).contains("\"kind\":\"audit.verify\"");
        assertThat(Json.decodeEvent(json)).isEqualTo(e);
        assertThatThrownBy(() -> new SystemResult.AuditVerdict("/a", false, 9, null, null, null, true, null))
                .hasMessageContaining("names its first bad line");
        assertThatThrownBy(() -> new SystemResult.AuditVerdict("/a", true, 9, null, null, null, true, null))
                .hasMessageContaining("only a broken trail");
    }

    @Test
    void anAuditLineIsARecordTheAppCanParse() throws Exception {
        String line = "{\"seq\":1,\"when\":\"2026-01-01T00:00:00Z\",\"who\":{\"uid\":1000,\"name\":\"bear\","
                + "\"via\":\"pkexec\"},\"what\":\"apply\",\"args\":{\"generation\":2,\"mode\":\"SWITCH\"},"
                + "\"generationBefore\":1,\"generationAfter\":2,\"outcome\":\"ok\",\"prev\":\"" + AuditRecord.GENESIS
                + "\"}";
        AuditRecord r = Json.decode(line, AuditRecord.class);
        assertThat(r.who().name()).isEqualTo("bear");
        assertThat(r.args().get("mode").asText()).isEqualTo("SWITCH");
        assertThatThrownBy(() -> Json.decode(line.replace("\"ok\"", "\"maybe\""), AuditRecord.class))
                .hasMessageContaining("outcome");
    }
}
