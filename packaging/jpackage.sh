#!/usr/bin/env bash
# Builds the desktop app as a jpackage app image (bin/SafeRebuild with its own trimmed Java
# runtime) in out/jpackage/SafeRebuild, for Linux desktops that are not NixOS (docs/install.md).
# The image is the app only, which runs as the operator; install the root engine separately with
# packaging/install-engine.sh (root-owned, at the fixed path the polkit policy pins).
#
#   packaging/jpackage.sh              build (mvn package) and make the image
#   packaging/jpackage.sh --measure    also print its size and how long until its window is shown,
#                                      next to the same app started from the plain jars (needs Xvfb
#                                      and xwininfo from x11-utils)
set -euo pipefail
cd "$(dirname "$0")/.."
measure=no
for a in "$@"; do
  case "$a" in
    --measure) measure=yes ;;
    *) echo "jpackage.sh: unknown option $a (see the comment at the top)" >&2; exit 64 ;;
  esac
done
die() { echo "jpackage.sh: $*" >&2; exit 1; }
JAVA_HOME=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}
[ -x "$JAVA_HOME/bin/jpackage" ] || die "no jpackage in $JAVA_HOME (install a full JDK 17 or later)"

mvn -B -ntp -q -DskipTests package

out=out/jpackage
input=$out/input
# out/ is this script's own build directory (git-ignored, nothing is ever mounted there).
rm -rf "$out"
mkdir -p "$input"
cp app/target/safe-rebuild-app.jar app/target/lib/*.jar "$input/"

# The runtime: the JDK modules the app's jars use (jdeps), plus what JavaFX loads by reflection;
# with a CDS archive (class data sharing), without which the image starts about twice as slow.
modules=$("$JAVA_HOME/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 17 \
  --class-path "$input/*" "$input/safe-rebuild-app.jar" 2>/dev/null || true)
modules=${modules:+$modules,}java.base,java.desktop,java.logging,java.xml,java.scripting,java.sql,jdk.unsupported,jdk.jsobject,jdk.xml.dom
echo "runtime modules: $modules" >&2

"$JAVA_HOME/bin/jpackage" --type app-image --dest "$out" --name SafeRebuild --app-version 0.1.0 \
  --vendor "Safe Rebuild" --description "Safe, isolated NixOS rebuilds with one-click rollback" \
  --input "$input" --main-jar safe-rebuild-app.jar --main-class org.saferebuild.app.Launcher \
  --icon icons/hicolor/256x256/apps/safe-rebuild.png \
  --add-modules "$modules" \
  --jlink-options "--strip-debug --no-header-files --no-man-pages --generate-cds-archive" \
  --java-options "-Dsaferebuild.engine=/usr/libexec/safe-rebuild/safe-rebuild-engine"
rm -rf "$input"
image=$out/SafeRebuild
echo "app image: $image ($(du -sh "$image" | cut -f1))"

[ "$measure" = yes ] || exit 0

command -v xwininfo >/dev/null || die "--measure needs xwininfo (Debian: apt install x11-utils)"
command -v Xvfb >/dev/null || die "--measure needs Xvfb (Debian: apt install xvfb)"

# Milliseconds from exec until a top-level window named "Safe Rebuild" exists on the X server.
time_to_window() {
  local start now pid
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 &
  pid=$!
  while ! xwininfo -root -tree 2>/dev/null | grep -q '"Safe Rebuild'; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "the app exited before showing a window" >&2; return 1; fi
    now=$(date +%s%N)
    [ $(( (now - start) / 1000000 )) -lt 60000 ] || { kill "$pid"; echo "no window within 60 s" >&2; return 1; }
    sleep 0.01
  done
  now=$(date +%s%N)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo $(( (now - start) / 1000000 ))
}

display=:$(( 90 + RANDOM % 100 ))
Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
export DISPLAY=$display
for _ in $(seq 100); do xwininfo -root >/dev/null 2>&1 && break; sleep 0.05; done

# The app starts an engine at once (directly, when run as root): give it private settings so it
# never touches the machine's /var/lib or /var/log. No sandbox is opened, so nothing is mounted.
private=$(mktemp -d)
trap 'kill $xvfb 2>/dev/null || true; rm -rf "$private"' EXIT
printf '{"stateDir":"%s/state","auditLog":"%s/audit/audit.jsonl","plans":["debian-test"]}\n' "$private" "$private" \
  > "$private/engine.json"
plain=(java -cp "app/target/safe-rebuild-app.jar:app/target/lib/*" org.saferebuild.app.Launcher
  --engine-config "$private/engine.json")
size_image=$(du -sb "$image" | cut -f1)
size_jars=$(cat app/target/safe-rebuild-app.jar app/target/lib/*.jar | wc -c)
echo "size: app image $((size_image / 1048576)) MiB (runtime $(( $(du -sb "$image/lib/runtime" | cut -f1) / 1048576 )) MiB);" \
  "plain jars $((size_jars / 1048576)) MiB plus a system JDK"
for run in 1 2 3 4 5; do
  a=$(time_to_window "$image/bin/SafeRebuild" --engine-config "$private/engine.json")
  b=$(time_to_window "${plain[@]}")
  echo "start to window, run $run: app image ${a} ms, plain jars on the system JDK ${b} ms (ratio $(awk "BEGIN{printf \"%.2f\", $a/$b}"))"
done
