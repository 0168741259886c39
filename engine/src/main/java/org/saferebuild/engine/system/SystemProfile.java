package org.saferebuild.engine.system;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotLinkException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.saferebuild.engine.Problem;
import org.saferebuild.engine.nix.NixEnv;
import org.saferebuild.engine.proc.Command;
import org.saferebuild.engine.proc.Exec;
import org.saferebuild.engine.proc.Tools;
import org.saferebuild.protocol.ProblemCode;
import org.saferebuild.protocol.Values;

/**
 * The system profile (/nix/var/nix/profiles/system on NixOS, {@code <demo>/profiles/system} for
 * the demo): its generations are the {@code system-N-link} links beside it, read from the
 * filesystem; every change goes through {@code nix-env -p}, as nixos-rebuild does (runbook step 6,
 * "Emergency Rollback").
 */
public final class SystemProfile {
    private static final Duration NIX_ENV_TIMEOUT = Duration.ofMinutes(2);

    private final Path profile;
    private final Tools tools;
    private final NixEnv nixEnv;
    private final Pattern linkName;

    /** One {@code <name>-N-link}: its number, target and the time nix made it. */
    public record Link(int number, Path link, String storePath, Instant made) {
    }

    public SystemProfile(Path profile, Tools tools, NixEnv nixEnv) {
        this.profile = profile;
        this.tools = tools;
        this.nixEnv = nixEnv;
        this.linkName = Pattern.compile(Pattern.quote(profile.getFileName().toString()) + "-(\\d{1,9})-link");
    }

    public Path path() {
        return profile;
    }

    /** The current generation: the number in the profile link's target, if there is one. */
    public Optional<Integer> current() {
        try {
            Matcher m = linkName.matcher(Files.readSymbolicLink(profile).toString());
            return m.matches() ? Optional.of(Integer.parseInt(m.group(1))) : Optional.empty();
        } catch (NoSuchFileException | NotLinkException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the system profile " + profile + ": " + e.getMessage(), e);
        }
    }

    /** The store path the current generation points at, if any. */
    public Optional<String> currentPath() {
        return current().flatMap(this::storePath);
    }

    public List<Link> generations() throws IOException {
        List<Link> out = new ArrayList<>();
        Path dir = profile.getParent();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (var entries = Files.list(dir)) {
            for (Path p : entries.toList()) {
                Matcher m = linkName.matcher(p.getFileName().toString());
                if (m.matches() && Files.isSymbolicLink(p)) {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    out.add(new Link(Integer.parseInt(m.group(1)), p, Files.readSymbolicLink(p).toString(),
                            a.lastModifiedTime().toInstant()));
                }
            }
        }
        out.sort(Comparator.comparingInt(Link::number));
        return out;
    }

    /** The numbers of the profile's generations now; what an apply must never remove. */
    public List<Integer> numbers() throws Problem {
        try {
            return generations().stream().map(Link::number).toList();
        } catch (IOException e) {
            throw Problem.internal("Cannot list the generations of " + profile + ": " + e.getMessage()
                    + ". Nothing was changed.", e);
        }
    }

    public Optional<Link> generation(int n) throws IOException {
        return generations().stream().filter(l -> l.number() == n).findFirst();
    }

    public Optional<String> storePath(int n) {
        try {
            Path link = profile.resolveSibling(profile.getFileName() + "-" + n + "-link");
            return Optional.of(Files.readSymbolicLink(link).toString());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The generation for {@code n}, or a NOT_FOUND problem that lists the ones there are. */
    public Link require(int n) throws Problem {
        try {
            Optional<Link> l = generation(n);
            if (l.isPresent()) {
                return l.get();
            }
            List<Integer> have = generations().stream().map(Link::number).toList();
            throw Problem.notFound("The system profile " + profile + " has no generation " + n
                    + (have.isEmpty() ? " (it has none)." : " (it has " + have + ")."),
                    "Choose one of the generations listed; deleted generations cannot be restored.");
        } catch (IOException e) {
            throw Problem.internal("Cannot list the generations of " + profile + ": " + e.getMessage(), e);
        }
    }

    // Commands (each is one nix-env call, as nixos-rebuild makes them)

    /** {@code nix-env -p <profile> --set <path>}: a new generation (unless it is already current). */
    public int set(String storePath) throws Problem {
        Values.storePath(storePath, "storePath");
        nixEnv("--set", storePath);
        return current().orElseThrow(() -> Problem.internal("nix-env --set left " + profile + " without a generation",
                null));
    }

    /** {@code nix-env -p <profile> --switch-generation N}. */
    public void switchTo(int n) throws Problem {
        nixEnv("--switch-generation", Integer.toString(n));
    }

    /** {@code nix-env -p <profile> --delete-generations N} (never the current one). */
    public void delete(int n) throws Problem {
        nixEnv("--delete-generations", Integer.toString(n));
    }

    private void nixEnv(String... args) throws Problem {
        Path nixEnvTool = tools.require("nix-env");
        try {
            Files.createDirectories(profile.getParent());
            Command c = Command.of(nixEnvTool).args("-p", profile.toString()).args(args)
                    .env(nixEnv.hostEnv()).timeout(NIX_ENV_TIMEOUT).build();
            Exec.Outcome o = Exec.run(c);
            if (!o.ok()) {
                throw new Problem(ProblemCode.INTERNAL, "nix-env " + String.join(" ", args) + " on " + profile
                        + " failed: " + NixEnv.firstError(o.stderr()),
                        "The profile was not changed by this step. Check that " + profile.getParent()
                                + " is writable by root and that the nix store is healthy (nix-store --verify).");
            }
        } catch (IOException e) {
            throw Problem.internal("Cannot run nix-env on " + profile + ": " + e.getMessage(), e);
        }
    }
}
