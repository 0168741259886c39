#!/usr/bin/env bash
# Installs Safe Rebuild's root engine on a Linux system that is not NixOS (the Nix package does the
# same in packaging/nix/package.nix). Run as root. It writes, all root-owned and not writable by
# others (the engine refuses to run otherwise, and pkexec must run exactly this file):
#   PREFIX/lib/safe-rebuild/engine/*.jar                      the engine and its libraries
#   PREFIX/libexec/safe-rebuild/safe-rebuild-engine           the wrapper pkexec runs (fixed path)
#   PREFIX/share/polkit-1/actions/org.saferebuild.engine.policy   its polkit action, path pinned
#
#   packaging/install-engine.sh [--prefix /usr] [--java /usr/lib/jvm/.../bin/java] [--bash /bin/bash]
#                               [--env /usr/bin/env] [CLASSPATH-ENTRY ...]
# Without entries it installs engine/target/safe-rebuild-engine.jar and engine/target/lib/*.jar
# (run "mvn -DskipTests package" first). An entry may be a jar or a classes directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

prefix=/usr
java=
bash_path=/bin/bash
env_path=/usr/bin/env
entries=()
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --java) java=$2; shift 2 ;;
    --bash) bash_path=$2; shift 2 ;;
    --env) env_path=$2; shift 2 ;;
    --) shift; entries+=("$@"); break ;;
    -*) echo "install-engine.sh: unknown option $1 (see the comment at the top of this file)" >&2; exit 64 ;;
    *) entries+=("$1"); shift ;;
  esac
done

die() { echo "install-engine.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run me as root: the engine must be installed root-owned"
case "$prefix" in /*) ;; *) die "--prefix must be an absolute path, not $prefix" ;; esac

if [ -z "$java" ]; then
  java=$(command -v java) || die "no java on PATH; pass --java /path/to/bin/java (Java 17 or later)"
fi
java=$(readlink -f "$java")
[ -x "$java" ] || die "$java is not an executable java"
for tool in "$bash_path" "$env_path"; do
  case "$tool" in /*) [ -x "$tool" ] || die "$tool is not executable" ;; *) die "$tool must be an absolute path" ;; esac
done
if [ ${#entries[@]} -eq 0 ]; then
  [ -f "$repo/engine/target/safe-rebuild-engine.jar" ] \
    || die "engine/target/safe-rebuild-engine.jar is missing: run 'mvn -DskipTests package' first"
  entries=("$repo/engine/target/safe-rebuild-engine.jar" "$repo"/engine/target/lib/*.jar)
fi

libdir=$prefix/lib/safe-rebuild/engine
libexec=$prefix/libexec/safe-rebuild
actions=$prefix/share/polkit-1/actions
engine=$libexec/safe-rebuild-engine
install -d -m 0755 -o root -g root "$libdir" "$libexec" "$actions"

# A fixed class path of absolute, root-owned entries: no wildcard, nothing from the caller.
classpath=
n=0
for e in "${entries[@]}"; do
  n=$((n + 1))
  name=$(basename "$e")
  case "$name" in *[!A-Za-z0-9._+-]*) die "unexpected characters in class path entry name: $name" ;; esac
  if [ -d "$e" ]; then
    dest=$libdir/$n-$name
    rm -rf -- "$dest"
    cp -R -- "$e" "$dest"
    chown -R root:root -- "$dest"
    chmod -R u=rwX,go=rX -- "$dest"
  elif [ -f "$e" ]; then
    dest=$libdir/$name
    install -m 0644 -o root -g root -- "$e" "$dest"
  else
    die "class path entry $e does not exist"
  fi
  classpath=${classpath:+$classpath:}$dest
done

case "$classpath$java$bash_path$env_path" in *[!A-Za-z0-9/._+:-]*) die "unexpected characters in a path: keep install paths plain" ;; esac
tmp=$(mktemp "$libexec/.safe-rebuild-engine.XXXXXX")
sed -e "s|@BASH@|$bash_path|g" -e "s|@ENV@|$env_path|g" -e "s|@JAVA@|$java|g" -e "s|@CLASSPATH@|$classpath|g" \
  "$here/safe-rebuild-engine.in" > "$tmp"
chown root:root "$tmp"
chmod 0755 "$tmp"
mv -f -- "$tmp" "$engine"
sed -e "s|@ENGINE@|$engine|g" "$here/org.saferebuild.engine.policy.in" > "$actions/org.saferebuild.engine.policy"
chmod 0644 "$actions/org.saferebuild.engine.policy"
echo "$engine"
