package org.saferebuild.app.history;

import java.time.Instant;
import org.saferebuild.app.checklist.ChecklistItem;
import org.saferebuild.app.checklist.ChecklistModel;
import org.saferebuild.app.session.RunSession;
import org.saferebuild.protocol.InspectResult;

/**
 * This run's change record in Markdown: what a reviewer needs to trust the change — the target,
 * the checklist answers with their evidence, the sign-off, the diff, the activation and its outcome.
 */
public final class ChangeRecord {
    private ChangeRecord() {
    }

    public static String markdown(RunSession s, ChecklistModel checklist, Instant now) {
        StringBuilder md = new StringBuilder();
        md.append("# Safe Rebuild change record\n\n");
        md.append("- Written: ").append(org.saferebuild.app.ui.Times.local(now, now, java.time.ZoneId.systemDefault()))
                .append(" (").append(now).append(")\n");
        md.append("- Configuration: ").append(s.target() == null ? "(none chosen)" : "`" + s.target().describe() + "`")
                .append('\n');
        if (s.target() != null) {
            md.append("- Network during the build: ").append(s.target().network().name().toLowerCase()).append('\n');
        }
        var built = s.builtProperty().get();
        md.append("- Built system: ").append(built == null ? "(not built)" : "`" + built.storePath() + "`").append('\n');
        var signed = s.signedOffProperty().get();
        md.append("- Signed off by: ").append(signed == null ? "(not signed off)" : s.signedOffBy() + " (OS user "
                + signed.osUser() + "), audit line " + signed.line() + ", sha256 `" + signed.sha256() + "`").append('\n');
        var applied = s.appliedProperty().get();
        if (applied != null) {
            md.append("- Applied: ").append(applied(applied)).append('\n');
        }
        if (s.applyOutcomeProperty().get() != null) {
            md.append("- Outcome: ").append(s.applyOutcomeProperty().get()).append('\n');
        }
        if (!s.timeline().isEmpty()) {
            md.append("\n## What happened in this run\n\n");
            for (RunSession.Entry e : s.timeline()) {
                md.append("- ").append(org.saferebuild.app.ui.Times.local(e.when(), now, java.time.ZoneId.systemDefault()))
                        .append(": ").append(org.saferebuild.app.ui.Times.localizeIn(e.what()).replace("\n", " ")).append('\n');
            }
        }
        md.append("\n## Safety checklist\n\n| item | answer | evidence |\n| --- | --- | --- |\n");
        for (ChecklistItem i : checklist.items()) {
            md.append("| ").append(i.key().runbookText).append(" | ").append(switch (i.stateProperty().get()) {
                case PASSED -> "yes";
                case FAILED -> "NO";
                case WAITING -> "open";
            }).append(" | ").append(cell(i.evidenceProperty().get())).append(" |\n");
        }
        InspectResult.Comparison c = s.comparisonProperty().get();
        if (c != null) {
            org.saferebuild.app.changes.PackageChanges changes = org.saferebuild.app.changes.PackageChanges.of(
                    c.packages());
            md.append("\n## What changed (").append(c.from().label()).append(" → ").append(c.to().label())
                    .append(")\n\n").append(changes.summary()).append(".\n");
            for (org.saferebuild.app.changes.PackageChanges.Group g : changes.groups()) {
                if (g.rows().isEmpty()) {
                    continue;
                }
                md.append("\n### ").append(g.title()).append("\n\n| change | package | before | after | size |\n"
                        + "| --- | --- | --- | --- | --- |\n");
                for (InspectResult.Package p : g.rows()) {
                    md.append("| ").append(p.change().name().toLowerCase()).append(" | ").append(p.name()).append(" | ")
                            .append(org.saferebuild.app.changes.PackageChanges.versions(p.before())).append(" | ")
                            .append(org.saferebuild.app.changes.PackageChanges.versions(p.after())).append(" | ")
                            .append(org.saferebuild.app.changes.PackageChanges.size(p)).append(" |\n");
                }
            }
            md.append("\nUnit actions (").append(c.unitMethod()).append("):\n\n");
            for (InspectResult.UnitAction a : c.units()) {
                md.append("- ").append(a.action().name().toLowerCase()).append(" `").append(a.unit()).append("` — ")
                        .append(a.reason()).append(a.sessionCritical() == null ? "" : " (session-critical: "
                                + a.sessionCritical() + ")").append('\n');
            }
            md.append("\nReboot: ").append(c.reboot().advice()).append('\n');
        }
        if (!s.activationOutput().isEmpty()) {
            md.append("\n## Activation output\n\n```\n");
            s.activationOutput().forEach(l -> md.append(l).append('\n'));
            md.append("```\n");
        }
        return md.toString();
    }

    /** The apply in words: a test activation makes no generation; a switch goes from one to another. */
    static String applied(org.saferebuild.protocol.SystemResult.Applied a) {
        String system = "`" + a.storePath() + "`";
        return switch (a.mode()) {
            case TEST -> "test activation of " + system + " on top of generation " + a.generationBefore()
                    + " (no new generation; a reboot returns to generation " + a.generationBefore() + ")";
            case SWITCH -> "switch from generation " + a.generationBefore() + " to generation " + a.generationAfter()
                    + " (" + system + ")";
            case BOOT -> "generation " + a.generationAfter() + " (" + system + ") made the boot default; generation "
                    + a.generationBefore() + " keeps running until the next boot";
        };
    }

    private static String cell(String s) {
        return s == null ? "" : s.replace("|", "\\|").replace("\n", " ");
    }
}
