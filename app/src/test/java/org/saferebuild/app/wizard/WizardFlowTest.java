package org.saferebuild.app.wizard;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class WizardFlowTest {
    static final class Simple extends StepModel {
        int entered;

        Simple(String t) {
            super(t, "Step");
        }

        void done(boolean b) {
            complete.set(b);
        }

        void working(boolean b) {
            busy.set(b);
        }

        @Override
        public void entered() {
            entered++;
        }
    }

    private final Simple a = new Simple("A");
    private final Simple b = new Simple("B");
    private final Simple c = new Simple("C");
    private final WizardFlow flow = new WizardFlow(List.of(a, b, c));

    @Test
    void nextIsAllowedOnlyWhenTheCurrentStepIsCompleteAndNotBusy() {
        assertThat(flow.canAdvanceProperty().get()).isFalse();
        flow.next();
        assertThat(flow.indexProperty().get()).isZero();
        a.done(true);
        assertThat(flow.canAdvanceProperty().get()).isTrue();
        a.working(true);
        assertThat(flow.canAdvanceProperty().get()).isFalse();
        a.working(false);
        flow.next();
        assertThat(flow.currentProperty().get()).isSameAs(b);
        assertThat(b.entered).isEqualTo(1);
    }

    @Test
    void backIsRefusedWhileTheStepIsBusy() {
        a.done(true);
        flow.next();
        b.working(true);
        flow.back();
        assertThat(flow.currentProperty().get()).isSameAs(b);
        b.working(false);
        flow.back();
        assertThat(flow.currentProperty().get()).isSameAs(a);
    }

    @Test
    void aStepInTheListIsReachableOnlyWhenEveryEarlierStepIsComplete() {
        flow.goTo(2);
        assertThat(flow.indexProperty().get()).isZero();
        a.done(true);
        b.done(true);
        flow.goTo(2);
        assertThat(flow.currentProperty().get()).isSameAs(c);
        a.done(false);
        assertThat(flow.reachable(2)).isFalse();
        flow.returnTo(0);
        assertThat(flow.currentProperty().get()).isSameAs(a);
    }

    @Test
    void theLastStepHasNoNext() {
        a.done(true);
        b.done(true);
        c.done(true);
        flow.goTo(2);
        assertThat(flow.canAdvanceProperty().get()).isFalse();
    }
}
