package org.saferebuild.engine.inspect;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;
import org.saferebuild.protocol.InspectResult.Reboot;
import org.saferebuild.protocol.InspectResult.RebootItem;

/**
 * Whether a switch is enough or a reboot is needed: switch-to-configuration cannot replace the
 * running kernel, its initrd, its modules or its command line. A NixOS system links these
 * ({@code kernel}, {@code initrd}, {@code kernel-modules}) to other store paths, so comparing the
 * link targets is exact; a file kept inside the system itself is compared by content.
 */
final class RebootCheck {
    static final List<String> ITEMS = List.of("kernel", "initrd", "kernel-modules", "kernel-params");
    private static final int MAX_DIR_ENTRIES = 50_000;

    private RebootCheck() {
    }

    static Reboot check(Path base, String baseLabel, Path next) {
        List<RebootItem> items = new ArrayList<>();
        for (String item : ITEMS) {
            Identity a = identity(base, item);
            Identity b = identity(next, item);
            if (!Objects.equals(a.key, b.key)) {
                items.add(new RebootItem(item, a.shown, b.shown));
            }
        }
        String advice;
        if (items.isEmpty()) {
            advice = "No reboot needed: kernel, initrd, kernel modules and kernel parameters are the same as in "
                    + baseLabel + ".";
        } else {
            advice = "Reboot after switching: the " + String.join(", ", items.stream().map(RebootItem::item).toList())
                    + (items.size() == 1 ? " differs" : " differ") + " from " + baseLabel
                    + ", and switch-to-configuration cannot replace them in a running system. Until the reboot the"
                    + " old kernel keeps running (new kernel modules may fail to load). Choosing \"boot\" instead of"
                    + " \"switch\" makes the new system the default for the next start without activating it now.";
        }
        return new Reboot(!items.isEmpty(), items, baseLabel, advice);
    }

    /** What to compare ({@code key}) and what to show ({@code shown}); both null when absent. */
    private record Identity(String key, String shown) {
    }

    private static Identity identity(Path system, String item) {
        Path p = system.resolve(item);
        if (!StoreFiles.exists(p)) {
            return new Identity(null, null);
        }
        Optional<Path> real = StoreFiles.real(p);
        if (real.isEmpty()) {
            return new Identity("unreadable", "(a link that leaves the store)");
        }
        Path r = real.get();
        try {
            if (item.equals("kernel-params") && Files.isRegularFile(r)) {
                String text = StoreFiles.smallText(r, 64 * 1024);
                return new Identity("text:" + text, text);
            }
            if (!r.startsWith(system.toRealPath())) {
                return new Identity("path:" + r, r.toString());
            }
            String hash = Files.isDirectory(r) ? dirHash(r) : fileHash(r);
            return new Identity("sha256:" + hash, item + " inside the system (sha256 " + hash.substring(0, 16) + "…)");
        } catch (IOException e) {
            return new Identity("unreadable", "(unreadable: " + e.getMessage() + ")");
        }
    }

    private static String fileHash(Path file) throws IOException {
        MessageDigest md = sha256();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[65536];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** Names, link targets and file contents of a directory tree (links are not followed). */
    private static String dirHash(Path dir) throws IOException {
        MessageDigest md = sha256();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.limit(MAX_DIR_ENTRIES).sorted().toList()) {
                md.update(dir.relativize(p).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                if (Files.isSymbolicLink(p)) {
                    md.update(("->" + Files.readSymbolicLink(p)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                } else if (Files.isRegularFile(p)) {
                    md.update(fileHash(p).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                }
                md.update((byte) 0);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
