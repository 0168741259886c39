package org.saferebuild.cli;

import java.util.List;
import org.saferebuild.protocol.Event;
import org.saferebuild.protocol.InspectResult;
import org.saferebuild.protocol.NixEvent;
import org.saferebuild.protocol.NixResult;
import org.saferebuild.protocol.PreflightReport;
import org.saferebuild.protocol.SandboxResult;
import org.saferebuild.protocol.Sizes;
import org.saferebuild.protocol.SystemResult;

/** Results as an operator reads them on a terminal: one fact per line, the fix beside every problem. */
final class Render {
    private Render() {
    }

    static String failure(Event.Failure f) {
        return "error: " + f.message() + "\n  code: " + f.code() + "\n  what to do: " + f.fix();
    }

    static String preflight(PreflightReport r) {
        StringBuilder b = new StringBuilder();
        for (PreflightReport.Check c : r.checks()) {
            b.append(String.format("%-4s %s: %s%n", c.status(), c.name(), c.message()));
            if (c.status() != PreflightReport.Status.PASS) {
                b.append("     fix: ").append(c.fix()).append('\n');
            }
        }
        PreflightReport.ConfigDir d = r.config();
        if (d != null) {
            b.append("configuration: ").append(d.path()).append(" (").append(d.kind()).append(')');
            if (!d.hosts().isEmpty()) {
                b.append(", hosts: ").append(String.join(", ", d.hosts()));
            }
            b.append('\n');
        }
        b.append(r.ready() ? "Ready: everything the runbook needs is in place."
                : "Not ready: " + r.checks().stream().filter(c -> c.status() == PreflightReport.Status.FAIL).count()
                + " check(s) failed; each says how to fix it.");
        return b.toString();
    }

    static String mounts(SandboxResult.Opened o, SandboxResult.MountTree t) {
        StringBuilder b = new StringBuilder("Sandbox " + o.sandbox() + " (holder pid " + t.holderPid() + ", network "
                + o.network().name().toLowerCase() + ", plan " + o.plan() + ", set up in " + o.setupMillis() + " ms)\n");
        b.append("The mount tree as the kernel reports it (/proc/").append(t.holderPid()).append("/mountinfo):\n");
        for (SandboxResult.Mount m : t.mounts()) {
            String root = m.root() == null || m.root().equals("/") ? "" : m.root();
            b.append(String.format("  %-16s %-3s %-9s %s%s%n", m.mountPoint(), m.readOnly() ? "ro" : "rw",
                    m.fsType(), m.source(), root.isEmpty() ? "" : " [" + root + "]"));
        }
        return b.toString().stripTrailing();
    }

    static String built(NixResult.Built b) {
        return "Built " + b.storePath() + "\n  host " + b.host() + ", " + b.built() + " derivation(s) built, " + b.fetched()
                + " fetched, " + String.format("%.1f", b.millis() / 1000.0) + " s\n  kept by " + b.gcRoot()
                + "\n  build log " + b.logFile();
    }

    static String buildProgress(NixEvent.BuildProgress p) {
        StringBuilder b = new StringBuilder("building: " + p.done() + "/" + p.planned() + " done");
        if (p.failed() > 0) {
            b.append(", ").append(p.failed()).append(" failed");
        }
        if (!p.active().isEmpty()) {
            NixEvent.Active a = p.active().get(0);
            b.append(", running ").append(a.name()).append(a.phase() == null ? "" : " (" + a.phase() + ")");
            if (p.active().size() > 1) {
                b.append(" and ").append(p.active().size() - 1).append(" more");
            }
        }
        if (p.fetchPlanned() > 0) {
            b.append(", fetched ").append(p.fetchDone()).append('/').append(p.fetchPlanned());
        }
        return b.toString();
    }

    static String comparison(InspectResult.Comparison c) {
        StringBuilder b = new StringBuilder("What changes: " + c.from().label() + " → " + c.to().label() + "\n");
        InspectResult.Packages p = c.packages();
        b.append("Packages: ").append(p.added().size()).append(" added, ").append(p.removed().size())
                .append(" removed, ").append(p.changed().size()).append(" changed; closure ")
                .append(signed(c.bytesDelta())).append('\n');
        for (List<InspectResult.Package> list : List.of(p.changed(), p.added(), p.removed())) {
            for (InspectResult.Package k : list) {
                b.append(String.format("  %-10s %-34s %s → %s%n", k.change(), k.name(), versions(k.before()),
                        versions(k.after())));
            }
        }
        b.append("Units (").append(c.unitSource() == InspectResult.Source.DRY_ACTIVATE
                ? "from switch-to-configuration dry-activate" : "from the unit files").append("):");
        if (c.units().isEmpty()) {
            b.append(" none change\n");
        } else {
            b.append('\n');
            for (InspectResult.UnitAction u : c.units()) {
                b.append(String.format("  %-8s %s%s%n", u.action(), u.unit(),
                        u.sessionCritical() == null ? "" : "  (" + u.sessionCritical() + ")"));
            }
        }
        b.append("Reboot: ").append(c.reboot().advice());
        return b.toString();
    }

    private static String versions(List<String> v) {
        if (v == null || v.isEmpty()) {
            return "-";
        }
        String joined = String.join(", ", v.stream().filter(s -> !s.isBlank()).toList());
        return joined.isEmpty() ? "(no version)" : joined;
    }

    private static String signed(long bytes) {
        return (bytes >= 0 ? "+" : "-") + Sizes.human(Math.abs(bytes));
    }

    static String applied(SystemResult.Applied a) {
        boolean newGeneration = a.generationAfter() != null && !a.generationAfter().equals(a.generationBefore());
        return a.message() + (newGeneration ? "\n  generation " + a.generationBefore() + " → " + a.generationAfter()
                : "") + "\n  running " + a.runningSystem();
    }

    static String status(SystemResult.ApplyState s) {
        if (!s.awaitingConfirm()) {
            return s.message();
        }
        return s.message() + "\n  " + s.mode() + " of " + s.storePath() + "; reverts to generation " + s.revertsTo()
                + " at " + s.deadline() + " (in " + s.secondsLeft() + " s) unless confirmed: safe-rebuild confirm";
    }

    static String verify(SystemResult.VerifyReport v) {
        StringBuilder b = new StringBuilder("Verify: " + v.verdict() + " — " + v.summary() + "\n");
        for (SystemResult.Check c : v.checks()) {
            b.append(String.format("  %-7s %s: %s%n", c.status(), c.name(), c.detail() == null ? "" : c.detail()));
            if (c.fix() != null && c.status() != SystemResult.CheckStatus.PASS) {
                b.append("          fix: ").append(c.fix()).append('\n');
            }
        }
        return b.toString().stripTrailing();
    }

    static String generations(SystemResult.GenerationList g) {
        StringBuilder b = new StringBuilder("Generations of " + g.profile() + ":\n");
        b.append(String.format("  %4s  %-19s  %-24s %-8s %s%n", "GEN", "DATE", "NIXOS", "SIZE", "STATE"));
        for (SystemResult.Generation x : g.generations()) {
            StringBuilder state = new StringBuilder();
            if (x.current()) {
                state.append("current ");
            }
            if (x.running()) {
                state.append("running ");
            }
            if (x.booted()) {
                state.append("booted ");
            }
            if (x.pinned()) {
                state.append("pinned ");
            }
            if (!x.onDisk() || !x.closureComplete()) {
                state.append("INCOMPLETE (cannot roll back to it) ");
            }
            String date = x.date() == null ? "?" : x.date().replace('T', ' ');
            b.append(String.format("  %4d  %-19.19s  %-24.24s %-8s %s%n", x.number(), date,
                    x.nixosVersion() == null ? "?" : x.nixosVersion(),
                    x.closureBytes() == null ? "?" : Sizes.human(x.closureBytes()), state.toString().strip()));
        }
        return b.toString().stripTrailing();
    }

    static String audit(SystemResult.AuditVerdict v) {
        if (v.intact()) {
            return "Audit trail " + v.file() + ": intact, " + v.lines() + " line(s), last SHA-256 " + v.lastSha256();
        }
        return "Audit trail " + v.file() + ": BROKEN at line " + v.firstBadLine() + " — " + v.reason();
    }
}
