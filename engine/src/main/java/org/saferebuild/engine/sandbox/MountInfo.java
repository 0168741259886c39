package org.saferebuild.engine.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.saferebuild.protocol.SandboxResult;

/**
 * Parses /proc/&lt;pid&gt;/mountinfo (proc(5)): what the kernel says is mounted, which is the only
 * source the engine trusts for the mount tree.
 */
public final class MountInfo {

    /** One mountinfo line with its mount point in absolute (namespace) form. */
    public record Line(int mountId, int parentId, String root, String mountPoint, String options,
                       String propagation, String fsType, String source, String superOptions) {
        public boolean readOnly() {
            for (String o : options.split(",")) {
                if (o.equals("ro")) {
                    return true;
                }
            }
            return false;
        }

        public boolean isAtOrBelow(String dir) {
            return mountPoint.equals(dir) || mountPoint.startsWith(dir.endsWith("/") ? dir : dir + "/");
        }
    }

    private MountInfo() {
    }

    public static List<Line> read(long pid) throws IOException {
        return parse(Files.readAllLines(Path.of("/proc", Long.toString(pid), "mountinfo")));
    }

    public static List<Line> readSelf() throws IOException {
        return parse(Files.readAllLines(Path.of("/proc/self/mountinfo")));
    }

    public static List<Line> parse(List<String> lines) {
        List<Line> out = new ArrayList<>();
        for (String l : lines) {
            if (l.isBlank()) {
                continue;
            }
            String[] f = l.split(" ");
            int sep = -1;
            for (int i = 6; i < f.length; i++) {
                if (f[i].equals("-")) {
                    sep = i;
                    break;
                }
            }
            if (sep < 0 || f.length < sep + 3) {
                throw new IllegalArgumentException("unexpected mountinfo line: " + l);
            }
            List<String> optional = new ArrayList<>();
            for (int i = 6; i < sep; i++) {
                optional.add(f[i]);
            }
            out.add(new Line(Integer.parseInt(f[0]), Integer.parseInt(f[1]), unescape(f[3]), unescape(f[4]), f[5],
                    propagation(optional), f[sep + 1], unescape(f[sep + 2]),
                    f.length > sep + 3 ? f[sep + 3] : ""));
        }
        return out;
    }

    /** All mounts at or below {@code dir}, in mount order. */
    public static List<Line> under(List<Line> lines, String dir) {
        return lines.stream().filter(l -> l.isAtOrBelow(dir)).toList();
    }

    /**
     * The protocol's view: mount points relative to the sandbox root ("/" for a table read from a
     * process whose root is the sandbox's, as the holder's is).
     */
    public static List<SandboxResult.Mount> forProtocol(List<Line> lines, String root) {
        List<SandboxResult.Mount> out = new ArrayList<>();
        String prefix = root.equals("/") ? "" : root;
        for (Line l : under(lines, root)) {
            String rel = l.mountPoint().equals(root) ? "/" : l.mountPoint().substring(prefix.length());
            out.add(new SandboxResult.Mount(l.mountId(), l.parentId(), rel, l.root(), l.source(), l.fsType(),
                    l.options(), l.readOnly(), l.propagation()));
        }
        return out;
    }

    static String propagation(List<String> optionalFields) {
        List<String> p = new ArrayList<>();
        for (String o : optionalFields) {
            if (o.startsWith("shared:") || o.startsWith("master:") || o.startsWith("propagate_from:")
                    || o.equals("unbindable")) {
                p.add(o);
            }
        }
        return p.isEmpty() ? "private" : String.join(" ", p);
    }

    /** mountinfo escapes space, tab, newline and backslash as \ooo. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && isOctal(s, i + 1) && isOctal(s, i + 2) && isOctal(s, i + 3)) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean isOctal(String s, int i) {
        return i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '7';
    }
}
