package org.saferebuild.protocol;

import java.util.Set;
import java.util.regex.Pattern;

/** Typed checkers shared by the protocol records (flatpak's helper validates the same way). */
public final class Values {
    /** Nix base32 hash (32 chars of 0-9a-z without e o u t) + name (nix's allowed characters). */
    private static final Pattern STORE_PATH =
            Pattern.compile("/nix/store/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\\-_?=][A-Za-z0-9+\\-._?=]{0,210}");
    /** sha256 in Nix's base32 (52 characters), as nix-store --query --hash prints a NAR hash. */
    private static final Pattern NAR_HASH = Pattern.compile("sha256:[0-9a-df-np-sv-z]{52}");
    /** An unquoted Nix identifier, which is what an attribute name in a flake attr path may be. */
    private static final Pattern NIX_IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_'\\-]{0,62}");
    private static final Set<String> NIX_KEYWORDS =
            Set.of("if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or");
    private static final Pattern SANDBOX_ID = Pattern.compile("sb-[a-z0-9]{6,32}");

    private Values() {
    }

    public static String require(String value, String field) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(field + " is required");
        }
        return value;
    }

    public static long positiveId(long id) {
        if (id <= 0) {
            throw new IllegalArgumentException("id must be a positive number, got " + id);
        }
        return id;
    }

    public static boolean isStorePath(String s) {
        return s != null && STORE_PATH.matcher(s).matches();
    }

    public static String storePath(String s, String field) {
        if (!isStorePath(s)) {
            throw new IllegalArgumentException(field + " is not a Nix store path: " + abbreviate(s));
        }
        return s;
    }

    /** A NAR hash as {@code nix-store --query --hash} prints it: sha256 in Nix's base32. */
    public static boolean isNarHash(String s) {
        return s != null && NAR_HASH.matcher(s).matches();
    }

    public static String narHash(String s, String field) {
        if (!isNarHash(s)) {
            throw new IllegalArgumentException(field + " is not a NAR hash as nix-store --query --hash prints it"
                    + " (sha256: and 52 characters of Nix's base32): " + abbreviate(s));
        }
        return s;
    }

    /** Nix attribute-name rules for a host under nixosConfigurations. */
    public static String hostName(String s) {
        require(s, "host");
        if (!NIX_IDENTIFIER.matcher(s).matches() || NIX_KEYWORDS.contains(s)) {
            throw new IllegalArgumentException("host \"" + abbreviate(s) + "\" is not a valid Nix attribute name"
                    + " (letters, digits, _, ' and -, not starting with a digit or -)");
        }
        return s;
    }

    public static boolean isHostName(String s) {
        return s != null && NIX_IDENTIFIER.matcher(s).matches() && !NIX_KEYWORDS.contains(s);
    }

    public static String sandboxId(String s) {
        if (s == null || !SANDBOX_ID.matcher(s).matches()) {
            throw new IllegalArgumentException("sandbox id is malformed: " + abbreviate(s));
        }
        return s;
    }

    /**
     * An absolute, normalised path without "..", "." or control characters. Whether the engine
     * accepts it for a given purpose (an allow-list) is decided by the engine, not here.
     */
    public static String absolutePath(String s, String field) {
        require(s, field);
        if (s.length() > 4096 || !s.startsWith("/")) {
            throw new IllegalArgumentException(field + " must be an absolute path: " + abbreviate(s));
        }
        for (int i = 0; i < s.length(); i++) {
            if (Character.isISOControl(s.charAt(i))) {
                throw new IllegalArgumentException(field + " contains a control character");
            }
        }
        for (String part : s.split("/")) {
            if (part.equals("..") || part.equals(".")) {
                throw new IllegalArgumentException(field + " must not contain . or .. : " + abbreviate(s));
            }
        }
        if (s.contains("//") || (s.length() > 1 && s.endsWith("/"))) {
            throw new IllegalArgumentException(field + " is not normalised: " + abbreviate(s));
        }
        return s;
    }

    public static String abbreviate(String s) {
        if (s == null) {
            return "(none)";
        }
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    public static String text(String s, String field, int max) {
        require(s, field);
        if (s.length() > max) {
            throw new IllegalArgumentException(field + " is longer than " + max + " characters");
        }
        return s;
    }
}
