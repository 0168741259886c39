# Shared by script/test and script/demo. Sourced, not run.

# Packages a fresh Debian 12 machine needs. Each line: package, then a file that proves it is there.
SAFE_REBUILD_PACKAGES=(
  "openjdk-17-jdk-headless:/usr/lib/jvm/java-17-openjdk-amd64/bin/javac"
  "maven:/usr/bin/mvn"
  "nix-bin:/usr/bin/nix"
  "util-linux:/usr/bin/unshare"
  "mount:/usr/bin/mount"
  "coreutils:/usr/sbin/chroot"
  # the configuration backup records a git work tree's commit and dirtiness (docs/apply.md)
  "git:/usr/bin/git"
  # The wizard's TestFX tests and script/demo: a real X server (Xvfb), GTK for JavaFX's glass, fonts.
  "xvfb:/usr/bin/Xvfb"
  "xauth:/usr/bin/xauth"
  "libgtk-3-0:/usr/lib/x86_64-linux-gnu/libgtk-3.so.0"
  "fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
  # Privilege separation (issue 6): real pkexec + polkitd on a system D-Bus; sudo for the sudo -n launcher.
  "dbus:/usr/bin/dbus-daemon"
  "polkitd:/usr/lib/polkit-1/polkitd"
  "pkexec:/usr/bin/pkexec"
  "sudo:/usr/bin/sudo"
)

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      echo "$(basename "$0"): needs root (it creates namespaces and mounts); re-running with sudo" >&2
      exec sudo --preserve-env=DISPLAY,XAUTHORITY,GDK_SCALE "$0" "$@"
    fi
    die "run me as root: the tests create namespaces and mount filesystems"
  fi
}

# Installs whatever of the given "package:proof" entries is missing, with one apt-get update.
ensure_packages() {
  local missing=() entry pkg proof
  for entry in "$@"; do
    pkg=${entry%%:*}; proof=${entry#*:}
    if [ ! -e "$proof" ] && ! dpkg -s "$pkg" >/dev/null 2>&1; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  fi
}

# Mounts of ours that are visible in this mount namespace (there must be none).
our_mounts() {
  awk '{print $5}' /proc/self/mountinfo | grep -E 'safe-rebuild|/sandboxes/sb-' || true
}
