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
  # Other machines (issue 14, docs/remote.md): the tests run a second machine in network and mount
  # namespaces with Debian's sshd on a veth address (iproute2), reached with OpenSSH's client.
  "openssh-client:/usr/bin/ssh"
  "openssh-server:/usr/sbin/sshd"
  "iproute2:/usr/sbin/ip"
  # chattr: the fleet test makes one machine's run directory immutable so its switch cannot take effect
  "e2fsprogs:/usr/bin/chattr"
)

# Only the tests (script/test, script/screenshots). xdotool types into GTK's own file dialog, which
# Browse… opens outside the JavaFX scene that TestFX drives (app/.../testing/GtkDialogs.java).
SAFE_REBUILD_TEST_PACKAGES=(
  "xdotool:/usr/bin/xdotool"
  # strace: SafeFilesTest watches which system calls a removal that must survive a power cut makes
  "strace:/usr/bin/strace"
)

# The systemd test machine (script/lib/systemd-machine.sh): script/test and script/demo --systemd.
SAFE_REBUILD_MACHINE_PACKAGES=(
  "systemd-container:/usr/bin/systemd-nspawn"
  "debootstrap:/usr/sbin/debootstrap"
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
    # Packages must not start their services here (openssh-server would listen on every address):
    # Debian's policy-rc.d says no for the time of the install, where the machine has none of its own.
    local policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      policy=/usr/sbin/policy-rc.d
      printf '#!/bin/sh\n# safe-rebuild script/lib/common.sh: no service starts while packages install\nexit 101\n' > "$policy"
      chmod 0755 "$policy"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
      || { [ -z "$policy" ] || rm -f "$policy"; return 1; }
    [ -z "$policy" ] || rm -f "$policy"
  fi
}

# Sets Nix up on a test or demo machine the way Nix's own multi-user installer does, where that
# was never done (Debian's nix-bin installs the tools only): the nixbld group with 32 build users,
# then the store and its database (nix-store --init). It never creates, edits or replaces
# /etc/nix/nix.conf: a user's settings stay theirs, and what only the demo needs (building without
# Nix's sandbox) is in the demo's own engine settings and passed on nix's command line.
NIX_BUILD_GROUP=nixbld
NIX_BUILD_GID=30000      # the installer's numbers, where they are free
NIX_BUILD_USERS=32
ensure_nix_setup() {
  local n uid made=()
  if ! getent group "$NIX_BUILD_GROUP" >/dev/null; then
    if getent group "$NIX_BUILD_GID" >/dev/null; then
      groupadd --system "$NIX_BUILD_GROUP"
    else
      groupadd --system --gid "$NIX_BUILD_GID" "$NIX_BUILD_GROUP"
    fi
    made+=("group $NIX_BUILD_GROUP")
  fi
  for n in $(seq 1 "$NIX_BUILD_USERS"); do
    if ! getent passwd "$NIX_BUILD_GROUP$n" >/dev/null; then
      uid=$((NIX_BUILD_GID + n))
      local uid_args=(--uid "$uid")
      getent passwd "$uid" >/dev/null && uid_args=()
      useradd --system --no-create-home --home-dir /var/empty --shell /usr/sbin/nologin \
        --comment "Nix build user $n" --gid "$NIX_BUILD_GROUP" --groups "$NIX_BUILD_GROUP" \
        ${uid_args[@]+"${uid_args[@]}"} "$NIX_BUILD_GROUP$n" 2> >(grep -v 'greater than SYS_UID_MAX' >&2)
      made+=("$NIX_BUILD_GROUP$n")
    elif ! id -nG "$NIX_BUILD_GROUP$n" | tr ' ' '\n' | grep -qx "$NIX_BUILD_GROUP"; then
      die "the user $NIX_BUILD_GROUP$n exists but is not in the group $NIX_BUILD_GROUP; nix would refuse to build. Fix it by hand (usermod -a -G $NIX_BUILD_GROUP $NIX_BUILD_GROUP$n) and run me again."
    fi
  done
  if [ ! -d /nix/store ] || [ ! -d /nix/var/nix/db ]; then
    nix-store --init
    made+=("the Nix store (/nix)")
  fi
  if [ ${#made[@]} -gt 0 ]; then
    echo "$(basename "$0"): set Nix up as its installer does: ${made[0]}${made[1]:+, ${made[1]}}$([ ${#made[@]} -gt 2 ] && echo " … ${made[-1]}") (${#made[@]} item(s)); /etc/nix was not touched" >&2
  fi
}

# Mounts of ours that are visible in this mount namespace (there must be none).
our_mounts() {
  awk '{print $5}' /proc/self/mountinfo | grep -E 'safe-rebuild|/sandboxes/sb-' || true
}

# systemd test machines that are still running (systemd-nspawn processes it started; there must be
# none after the tests).
our_machines() {
  local p cmd
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
    case "$cmd" in "systemd-nspawn "*--machine=sr-machine-*) echo "${p#/proc/}: $cmd" ;; esac
  done
}
