package org.saferebuild.engine.inspect;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;
import org.saferebuild.protocol.Values;

/**
 * Reading a built system as root, safely. On a real NixOS the system's etc/, its unit directory
 * and every unit file are links into other store paths, so links must be followed (the runbook's
 * {@code grep -r result/etc/} silently skips them all). But a link may point anywhere, and the
 * engine reads as root: only targets inside the store are read (plus /dev/null, which is how a
 * masked unit looks).
 */
final class StoreFiles {
    static final String STORE = "/nix/store/";
    static final Path DEV_NULL = Path.of("/dev/null");
    private static final int MAX_LINKS = 40;

    private StoreFiles() {
    }

    /** The real path behind {@code p} if it exists and is inside the store or /dev/null. */
    static Optional<Path> real(Path p) {
        try {
            Path r = p.toRealPath();
            if (r.equals(DEV_NULL) || r.startsWith(STORE)) {
                return Optional.of(r);
            }
            return Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * The top-level store path a link (chain) ends at: /run/current-system → /nix/store/…-system.
     * Links are followed one at a time so that the answer is the store path itself, never a path
     * inside it or behind a bind mount.
     */
    static Optional<String> storePathBehind(Path link) {
        Path p = link.toAbsolutePath().normalize();
        for (int i = 0; i < MAX_LINKS; i++) {
            if (Values.isStorePath(p.toString())) {
                return Files.isDirectory(p) ? Optional.of(p.toString()) : Optional.empty();
            }
            if (!Files.isSymbolicLink(p)) {
                return Optional.empty();
            }
            try {
                Path t = Files.readSymbolicLink(p);
                p = (t.isAbsolute() ? t : p.getParent().resolve(t)).normalize();
            } catch (IOException e) {
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    static boolean isDirectory(Path real) {
        return Files.isDirectory(real);
    }

    /** Reads at most {@code max} bytes; null if it is larger. */
    static byte[] readBounded(Path real, int max) throws IOException {
        if (Files.size(real) > max) {
            return null;
        }
        try (InputStream in = Files.newInputStream(real)) {
            byte[] b = in.readNBytes(max + 1);
            return b.length > max ? null : b;
        }
    }

    /** UTF-8 text, with undecodable bytes replaced rather than failing. */
    static String decode(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    /** A small text file of a system (nixos-version), or null. */
    static String smallText(Path p, int max) {
        Optional<Path> r = real(p);
        if (r.isEmpty() || !Files.isRegularFile(r.get())) {
            return null;
        }
        try {
            byte[] b = readBounded(r.get(), max);
            return b == null ? null : decode(b).strip();
        } catch (IOException e) {
            return null;
        }
    }

    static boolean isLink(Path p) {
        return Files.isSymbolicLink(p);
    }

    static boolean exists(Path p) {
        return Files.exists(p, LinkOption.NOFOLLOW_LINKS);
    }
}
