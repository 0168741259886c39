package org.saferebuild.protocol;

import java.util.List;

/**
 * What preflight found. {@code checks} is the summary the checklist and the "Common Issues"
 * help read: one line per thing that must be true, each with the fix when it is not.
 */
public record PreflightReport(
        int euid,
        Namespaces namespaces,
        List<Tool> tools,
        String nixVersion,
        List<Disk> disks,
        ConfigDir config,
        List<Check> checks) implements ResultBody {

    public PreflightReport {
        tools = List.copyOf(tools);
        disks = List.copyOf(disks);
        checks = List.copyOf(checks);
    }

    /** True when no check failed (warnings do not block). */
    public boolean ready() {
        return checks.stream().noneMatch(c -> c.status() == Status.FAIL);
    }

    /**
     * @param unprivilegedUsernsClone value of kernel.unprivileged_userns_clone, null where the
     *                                sysctl does not exist (mainline kernels)
     * @param available               namespace types listed in /proc/self/ns
     * @param unshareWorks            whether a real {@code unshare --mount --pid --fork} succeeded
     */
    public record Namespaces(Integer unprivilegedUsernsClone, List<String> available, boolean unshareWorks,
                             String detail) {
        public Namespaces {
            available = List.copyOf(available);
        }
    }

    /** An absolute tool path the engine resolved itself; {@code path} is null when not found. */
    public record Tool(String name, String path, List<String> searched) {
        public Tool {
            searched = List.copyOf(searched);
        }
    }

    /** Free space on the filesystem holding {@code path}. */
    public record Disk(String label, String path, long freeBytes, long totalBytes, long thresholdBytes) {
        public boolean ok() {
            return freeBytes >= thresholdBytes;
        }
    }

    public enum ConfigKind { FLAKE, CLASSIC, NONE }

    /**
     * The configuration directory. {@code hosts} are the names under nixosConfigurations, found by
     * evaluation without building; {@code error} says why they could not be listed.
     */
    public record ConfigDir(String path, boolean present, ConfigKind kind, List<String> hosts, String error) {
        public ConfigDir {
            hosts = List.copyOf(hosts);
        }
    }

    public enum Status { PASS, WARN, FAIL }

    /**
     * One thing that must be true before the sandbox opens. {@code fix} is set whenever the
     * status is not PASS, and is written for the operator (the runbook's "Common Issues").
     */
    public record Check(String name, Status status, String message, String fix) {
        public Check {
            Values.require(name, "name");
            Values.require(message, "message");
            if (status == null) {
                throw new IllegalArgumentException("status is required");
            }
            if (status != Status.PASS) {
                Values.require(fix, "fix");
            }
        }
    }
}
