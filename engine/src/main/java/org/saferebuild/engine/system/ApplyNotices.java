package org.saferebuild.engine.system;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.saferebuild.engine.EventSink;
import org.saferebuild.protocol.Event;

/**
 * What the app connected now is told about the apply this engine holds, unasked: the countdown,
 * confirmed, reverting, reverted. When no app is connected nothing is sent, and the reason for a
 * revert at the deadline says why nobody confirmed.
 */
final class ApplyNotices {
    private volatile EventSink sink;
    private volatile Instant appGoneAt;

    void attach(EventSink eventSink) {
        this.sink = eventSink;
        this.appGoneAt = null;
    }

    void appDisconnected() {
        this.appGoneAt = Instant.now();
    }

    void send(PendingApply p, Event.Notice.Topic topic, String message, Integer generation, Long secondsLeft) {
        EventSink s = sink;
        if (s != null) {
            s.send(new Event.Notice(0, p.applyId(), topic, message, generation, secondsLeft,
                    topic == Event.Notice.Topic.COUNTDOWN ? p.deadline() : null));
        }
    }

    void countdown(PendingApply p, long secondsLeft) {
        send(p, Event.Notice.Topic.COUNTDOWN, "Reverting to generation " + p.generationBefore() + " in "
                + secondsLeft + " s unless confirmed.", p.generationAfter(), secondsLeft);
    }

    void reverting(PendingApply p, String reason) {
        send(p, Event.Notice.Topic.REVERTING, "Reverting " + p.applied() + " because " + reason + ".",
                p.generationBefore(), null);
    }

    void reverted(PendingApply p, String reason, PutBack.Recovery rec) {
        send(p, rec.complete() ? Event.Notice.Topic.REVERTED : Event.Notice.Topic.REVERT_FAILED,
                (rec.complete() ? "Reverted because " + reason + ". " : "Reverting did not complete. ") + rec.state(),
                p.generationBefore(), null);
    }

    /** Why nobody confirmed, added to the reason of a revert at the deadline ("" if an app is connected). */
    String unattended() {
        Instant gone = appGoneAt;
        EventSink s = sink;
        return gone != null ? " (the app disconnected at " + gone.truncatedTo(ChronoUnit.SECONDS) + ")"
                : s == null || !s.connected() ? " (no app was connected)" : "";
    }
}
