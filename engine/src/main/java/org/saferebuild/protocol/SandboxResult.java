package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import java.util.List;

/** Answers to {@link SandboxRequest}s. */
@JsonSubTypes({
        @JsonSubTypes.Type(value = SandboxResult.Opened.class, name = "sandbox.opened"),
        @JsonSubTypes.Type(value = SandboxResult.MountTree.class, name = "sandbox.mounts"),
        @JsonSubTypes.Type(value = SandboxResult.Closed.class, name = "sandbox.closed"),
})
public sealed interface SandboxResult extends ResultBody {

    /**
     * One line of /proc/&lt;holder&gt;/mountinfo under the sandbox root, as the kernel reports it.
     *
     * @param mountPoint  where it is mounted, relative to the sandbox root ("/nix", "/etc/nixos")
     * @param root        the part of the source filesystem that is mounted (a bind's subtree)
     * @param propagation "private", "shared:N", "master:N" or "unbindable"
     */
    record Mount(int mountId, int parentId, String mountPoint, String root, String source, String fsType,
                 String options, boolean readOnly, String propagation) {
    }

    record Opened(String sandbox, String configDir, String plan, SandboxRequest.Network network,
                  long holderPid, String workDir, List<Mount> mounts, long setupMillis) implements SandboxResult {
        public Opened {
            mounts = List.copyOf(mounts);
        }
    }

    record MountTree(String sandbox, long holderPid, List<Mount> mounts) implements SandboxResult {
        public MountTree {
            mounts = List.copyOf(mounts);
        }
    }

    /** {@code workDirRemoved} is false when something unexpected was left there (listed in {@code left}). */
    record Closed(String sandbox, boolean workDirRemoved, List<String> left) implements SandboxResult {
        public Closed {
            left = List.copyOf(left);
        }
    }
}
