#!/usr/bin/env bash
# Safe Rebuild's systemd test machine: a Debian 12 root with systemd as PID 1, D-Bus, Nix (Debian's
# nix-bin, set up as script/lib/common.sh's ensure_nix_setup does) and the host's Java, booted with
# systemd-nspawn. The tests tagged "systemd" and `script/demo --systemd` use it; docs/demo.md
# ("A machine with systemd") says what runs in it.
#
#   systemd-machine.sh build                 make sure the cached root exists (debootstrap once per
#                                            recipe, ~1 min); prints its directory
#   systemd-machine.sh run RUNDIR [--java-home DIR]
#                                            boots a throw-away copy (an overlay over the cached root,
#                                            its writes in a tmpfs) in the foreground; RUNDIR must be
#                                            a new, empty directory. Stops when the machine powers off.
#   systemd-machine.sh leader RUNDIR         waits until the machine has booted; prints its PID 1
#                                            (enter it with nsenter --target PID --all --root --wd)
#   systemd-machine.sh install-engine RUNDIR [ENTRY...]
#                                            installs the engine inside with packaging/install-engine.sh
#                                            (default entries: engine/target/safe-rebuild-engine.jar and
#                                            engine/target/lib/*.jar); prints the wrapper's path inside
#   systemd-machine.sh stop RUNDIR           systemctl poweroff inside, then waits; removes RUNDIR
#
# The cached root lives in $SAFE_REBUILD_TEST_MACHINES (default /var/lib/safe-rebuild-test), named
# after a hash of the recipe below, and is built again when the recipe changes. A running machine
# never writes to it: its writes land in a tmpfs that disappears with it. Everything it mounts is in
# a private mount namespace that ends with it, so the host's mount table never shows any of it.
# The host has no systemd as PID 1: the machine is not registered (--register=no) and runs in the
# caller's cgroup (--keep-unit). It has a network namespace of its own with only "lo".
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$(dirname "$here")")
. "$here/common.sh"

CACHE=${SAFE_REBUILD_TEST_MACHINES:-/var/lib/safe-rebuild-test}
RELEASE=bookworm
MIRROR=${SAFE_REBUILD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# dbus: systemd-run --wait/--pipe (how activation runs, as in nixos-rebuild) needs the system bus.
# libdbi-perl: provides perl-dbdabi-94, which nix-bin's libdbd-sqlite3-perl needs (debootstrap does
# not resolve virtual packages).
PACKAGES=systemd,systemd-sysv,dbus,nix-bin,libdbi-perl
# Timers of Debian's that could fail offline during a test and show up as new failed units.
MASKED="apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer"
MARKER=etc/safe-rebuild-test-machine
HOSTNAME_INSIDE=BearsiMac

# Everything that decides what the cached root contains; its hash names the cache entry.
recipe() {
  echo "release=$RELEASE packages=$PACKAGES masked=$MASKED marker=$MARKER hostname=$HOSTNAME_INSIDE"
  declare -f make_root ensure_nix_setup
  declare -p NIX_BUILD_GROUP NIX_BUILD_GID NIX_BUILD_USERS
}

# Runs in a mount namespace of its own (see cmd_build): whatever debootstrap mounts in the new root
# (proc, sys) and the proc mounted for the steps in a chroot end with it, even after a failure, so
# removing a failed attempt cannot cross a mount.
make_root() { # directory
  local root=$1
  debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE/debs" "$RELEASE" "$root" "$MIRROR" \
    >"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; die "debootstrap failed (the whole log: $root.log)"; }
  mount -t proc proc "$root/proc"
  # Nix set up inside exactly as on a test host.
  { declare -p NIX_BUILD_GROUP NIX_BUILD_GID NIX_BUILD_USERS; declare -f die ensure_nix_setup
    echo ensure_nix_setup; } | chroot "$root" /bin/bash -euo pipefail
  # shellcheck disable=SC2086
  chroot "$root" systemctl mask --quiet $MASKED
  umount "$root/proc"
  echo "$HOSTNAME_INSIDE" >"$root/etc/hostname"
  echo "Safe Rebuild's systemd test machine (script/lib/systemd-machine.sh). The demo system installs" \
    "its units into this machine's systemd only where this file exists." >"$root/$MARKER"
  rm -f "$root"/var/cache/apt/archives/*.deb "$root.log"
}

entry() {
  echo "$CACHE/machine-$(recipe | sha256sum | cut -c1-16)"
}

# Removes a directory tree that this script made, but never if anything is mounted below it.
remove_tree() {
  local dir=$1 table
  for table in /proc/self/mountinfo /proc/1/mountinfo; do
    if awk '{print $5}' "$table" | grep -qE "^$dir(/|$)"; then
      echo "$(basename "$0"): not removing $dir: something is mounted below it" >&2
      return 0
    fi
  done
  rm -rf --one-file-system -- "$dir"
}

cmd_build() {
  local target tmp start old
  target=$(entry)
  if [ -d "$target/root" ]; then
    echo "$target/root"
    return 0
  fi
  command -v debootstrap >/dev/null && command -v systemd-nspawn >/dev/null \
    || die "debootstrap and systemd-nspawn are missing: apt-get install debootstrap systemd-container (script/test does)"
  install -d -m 0700 "$CACHE" "$CACHE/debs"
  exec 8>"$CACHE/.build.lock"
  flock 8
  if [ ! -d "$target/root" ]; then
    start=$(date +%s)
    echo "$(basename "$0"): building the systemd test machine in $target (debootstrap $RELEASE, about a minute)…" >&2
    tmp=$(mktemp -d "$CACHE/building.XXXXXX")
    if ! unshare --mount --propagation private -- bash "$0" _make-root "$tmp/root"; then
      remove_tree "$tmp"
      die "building the systemd test machine failed"
    fi
    mv -T "$tmp" "$target"
    echo "$(basename "$0"): built in $(( $(date +%s) - start )) s" >&2
  fi
  # Entries of older recipes, unless a machine still runs on them (it holds their lock shared).
  for old in "$CACHE"/machine-*; do
    [ "$old" != "$target" ] && [ -d "$old" ] || continue
    exec 7>"$old.lock"
    if flock -n 7; then remove_tree "$old"; rm -f "$old.lock"; fi
    exec 7>&-
  done
  exec 8>&-
  echo "$target/root"
}

cmd_run() {
  local rundir=${1:?usage: run RUNDIR [--java-home DIR]} java_home=/usr/lib/jvm/java-17-openjdk-amd64 target
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --java-home) java_home=$2; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  target=$(entry)
  [ -d "$target/root" ] || die "the systemd test machine is not built: run $0 build first"
  [ -d "$rundir" ] && [ -z "$(ls -A "$rundir")" ] || die "$rundir must be an existing, empty directory"
  [ -x "$java_home/bin/java" ] || die "no Java at $java_home (--java-home)"
  chmod 0700 "$rundir"
  mkdir "$rundir/rw"
  echo "$java_home" >"$rundir/java-home"
  # Held (shared) for the machine's life, through the file descriptor nspawn inherits: the cache
  # entry is not removed under a running machine.
  exec 9>"$target.lock"
  flock -s 9
  exec unshare --mount --propagation private -- bash "$0" _boot "$rundir" "$target/root" "$java_home"
}

# In the private mount namespace: the overlay, then systemd-nspawn in its place (same process).
cmd__boot() {
  local rundir=$1 lower=$2 java_home=$3 name
  mount -t tmpfs -o mode=0755,size=4g safe-rebuild-machine "$rundir/rw"
  mkdir "$rundir/rw/upper" "$rundir/rw/work" "$rundir/rw/root"
  mount -t overlay safe-rebuild-machine -o "lowerdir=$lower,upperdir=$rundir/rw/upper,workdir=$rundir/rw/work" \
    "$rundir/rw/root"
  name=sr-machine-$$
  # The host's Java, read-only; Debian's keeps its configuration in /etc/java-N-openjdk (links).
  binds=(--bind-ro="$java_home")
  for d in $(find "$java_home" -type l -lname '/etc/java-*' -printf '%l\n' | cut -d/ -f1-3 | sort -u); do
    binds+=(--bind-ro="$d")
  done
  echo $$ >"$rundir/nspawn.pid"
  exec systemd-nspawn --quiet --directory="$rundir/rw/root" --boot --register=no --keep-unit \
    --private-network --machine="$name" --console=passive "${binds[@]}" --setenv=SYSTEMD_COLORS=0
}

# Runs a command inside the machine whose PID 1 is $1: its namespaces, and its root and working
# directory (where this script runs in a chroot, entering the mount namespace alone would land at
# that namespace's own root, outside the machine).
inside() {
  local pid=$1
  shift
  nsenter --target "$pid" --all --root --wd "$@"
}

nspawn_pid() {
  local rundir=$1 pid
  pid=$(cat "$rundir/nspawn.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && echo "$pid"
}

# The container's PID 1: nspawn's child that runs systemd.
leader_pid() {
  local pid child
  pid=$(nspawn_pid "$1") || return 1
  for child in $(cat "/proc/$pid/task/"*/children 2>/dev/null); do
    if [ "$(cat "/proc/$child/comm" 2>/dev/null)" = systemd ]; then
      echo "$child"
      return 0
    fi
  done
  return 1
}

cmd_leader() {
  local rundir=${1:?usage: leader RUNDIR} pid state i
  for i in $(seq 1 300); do
    pid=$(leader_pid "$rundir") && break
    sleep 0.1
  done
  [ -n "${pid:-}" ] || die "the machine in $rundir did not start (no systemd under nspawn)"
  # Until systemd inside answers (its socket appears a moment after it starts), then until boot ends.
  for i in $(seq 1 600); do
    state=$(timeout 120 nsenter --target "$pid" --all --root --wd systemctl is-system-running --wait 2>/dev/null) || true
    case "$state" in ''|offline|initializing|starting) sleep 0.1 ;; *) break ;; esac
  done
  case "$state" in
    running) ;;
    degraded) echo "$(basename "$0"): the machine booted degraded: $(inside "$pid" systemctl --failed --plain --no-legend --no-pager)" >&2 ;;
    *) die "the machine in $rundir did not finish booting (systemctl is-system-running: ${state:-no answer})" ;;
  esac
  echo "$pid"
}

cmd_install_engine() {
  local rundir=${1:?usage: install-engine RUNDIR [ENTRY...]} pid java entries=() e n inside args=()
  shift
  pid=$(leader_pid "$rundir") || die "no machine runs in $rundir"
  if [ $# -gt 0 ]; then entries=("$@"); else
    [ -f "$repo/engine/target/safe-rebuild-engine.jar" ] || die "engine/target/safe-rebuild-engine.jar is missing: run 'mvn -DskipTests package' first"
    entries=("$repo/engine/target/safe-rebuild-engine.jar" "$repo"/engine/target/lib/*.jar)
  fi
  java=$(cat "$rundir/java-home")/bin/java
  # Copied in through the machine's root (as root may), then installed inside as on any machine.
  inside=/var/tmp/safe-rebuild-install
  rm -rf "/proc/$pid/root$inside"
  mkdir -p "/proc/$pid/root$inside/entries"
  cp "$repo/packaging/install-engine.sh" "$repo/packaging/safe-rebuild-engine.in" \
    "$repo/packaging/org.saferebuild.engine.policy.in" "/proc/$pid/root$inside/"
  n=0
  for e in "${entries[@]}"; do
    n=$((n + 1))
    mkdir "/proc/$pid/root$inside/entries/$n"
    cp -R -- "$e" "/proc/$pid/root$inside/entries/$n/"
    args+=("$inside/entries/$n/$(basename "$e")")
  done
  inside "$pid" "$inside/install-engine.sh" --java "$java" -- "${args[@]}" | tail -n 1
}

cmd_stop() {
  local rundir=${1:?usage: stop RUNDIR} pid leader i
  if pid=$(nspawn_pid "$rundir"); then
    if leader=$(leader_pid "$rundir"); then
      inside "$leader" systemctl poweroff --no-block >/dev/null 2>&1 || true
    fi
    for i in $(seq 1 300); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    # nspawn turns SIGTERM into a clean shutdown of the machine; SIGKILL ends it at once (the
    # machine's PID 1 dies with nspawn: it was started with PR_SET_PDEATHSIG).
    if [ -d "/proc/$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
    for i in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    if [ -d "/proc/$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
    [ ! -d "/proc/$pid" ] || die "systemd-nspawn (pid $pid) did not stop"
  fi
  # The tmpfs and the overlay were mounted in the machine's own namespace: gone with it.
  rm -f "$rundir/nspawn.pid" "$rundir/java-home"
  rmdir "$rundir/rw/root" "$rundir/rw" 2>/dev/null || true
  rmdir "$rundir/rw" 2>/dev/null || true
  [ ! -e "$rundir/rw" ] || die "$rundir/rw is still there; not removing $rundir"
  rmdir "$rundir" 2>/dev/null || true
}

[ "$(id -u)" -eq 0 ] || die "run me as root (debootstrap, mounts, systemd-nspawn)"
command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  build) cmd_build "$@" ;;
  run) cmd_run "$@" ;;
  _boot) cmd__boot "$@" ;;
  _make-root) make_root "$@" ;;
  leader) cmd_leader "$@" ;;
  install-engine) cmd_install_engine "$@" ;;
  stop) cmd_stop "$@" ;;
  *) die "usage: $0 build | run RUNDIR [--java-home DIR] | leader RUNDIR | install-engine RUNDIR [ENTRY...] | stop RUNDIR" ;;
esac
