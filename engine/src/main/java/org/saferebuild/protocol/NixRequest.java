package org.saferebuild.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;

/**
 * Runbook steps 3 and 4: validate and build the configuration of an open sandbox, inside it.
 * The sandbox names the configuration directory (mounted read-only at /etc/nixos); a flake is
 * built as {@code /etc/nixos#nixosConfigurations.<host>}, a classic configuration.nix through
 * {@code <nixpkgs/nixos>}.
 */
@JsonSubTypes({
        @JsonSubTypes.Type(value = NixRequest.Validate.class, name = "validate"),
        @JsonSubTypes.Type(value = NixRequest.Build.class, name = "build"),
})
public sealed interface NixRequest extends Request {

    /** The open sandbox to work in. */
    String sandbox();

    /**
     * The host under nixosConfigurations (nix's attribute-name rules, {@link Values#hostName});
     * null means the flake's only host. Classic configurations have no host attribute: their
     * networking.hostName is reported instead.
     */
    String host();

    /** Evaluates the configuration, then a dry build: what would be built and what fetched. */
    record Validate(long id, String sandbox, String host) implements NixRequest {
        public Validate {
            Values.positiveId(id);
            Values.sandboxId(sandbox);
            if (host != null) {
                Values.hostName(host);
            }
        }
    }

    /**
     * Builds the system in the sandbox. Progress comes as {@code build.progress} events,
     * every log line as {@code log} events (stream "build"); cancel stops the build.
     */
    record Build(long id, String sandbox, String host) implements NixRequest {
        public Build {
            Values.positiveId(id);
            Values.sandboxId(sandbox);
            if (host != null) {
                Values.hostName(host);
            }
        }
    }
}
