# A tiny stdenv: the phases of nixpkgs' stdenv, announced to nix the way stdenv announces them
# (an "@nix setPhase" line on NIX_LOG_FD), so build progress shows real phase changes.
PATH=/usr/bin:/bin
export PATH
set -eu

phase() {
  if [ -n "${NIX_LOG_FD:-}" ]; then
    echo "@nix { \"action\": \"setPhase\", \"phase\": \"$1\" }" >&"$NIX_LOG_FD"
  fi
}

phase unpackPhase
echo "unpacking sources"
echo "unpacking source archive $src"
echo "source root is $pname-$version"

phase patchPhase
echo "patching sources"
# The demo has no real sources to patch, so a patch never applies: it fails the way patch(1)
# reports a hunk that does not match.
for p in $patches; do
  echo "applying patch $p"
  for f in $(sed -n 's|^+++ b/||p' "$p"); do
    echo "patching file $f"
    echo "Hunk #1 FAILED at $(sed -n 's/^@@ -\([0-9]*\).*/\1/p' "$p" | head -n 1)."
    echo "1 out of 1 hunk FAILED -- saving rejects to file $f.rej"
  done
  exit 1
done

phase configurePhase
echo "configuring"
echo "configure flags: --prefix=$out --disable-static"

phase buildPhase
echo "building"
echo "build flags: -j2 SHELL=/bin/sh"
for f in $sources; do
  echo "  CC       $f"
  if [ -n "$delay" ]; then sleep "$delay"; fi
done
# Intermediate objects, where a package asks for them (scratch, scratchKiB): the disk-full variant
# points this at /dev/full, where every write fails with ENOSPC as on a full disk.
if [ -n "${scratch:-}" ]; then
  echo "writing $scratchKiB KiB of intermediate objects to $scratch"
  head -c "$((scratchKiB * 1024))" /dev/zero > "$scratch"
fi

phase installPhase
echo "installing"
mkdir -p "$out/nix-support" "$out/share/doc/$pname"
case "$kind" in
  kernel)
    mkdir -p "$out/lib/modules/$version"
    echo "Linux kernel x86 boot executable bzImage, version $version (nixbld@localhost) #1-NixOS SMP PREEMPT_DYNAMIC" > "$out/bzImage"
    head -c "$((sizeKiB * 1024))" /dev/zero >> "$out/bzImage"
    echo "ffffffff81000000 T _stext" > "$out/System.map"
    ;;
  modules)
    d="$out/lib/modules/$modVersion"
    mkdir -p "$d/kernel/drivers/field" "$d/kernel/drivers/net"
    echo "kernel/drivers/field/chakra.ko:" > "$d/modules.dep"
    echo "kernel/drivers/net/e1000e.ko:" >> "$d/modules.dep"
    head -c "$((sizeKiB * 1024))" /dev/zero > "$d/kernel/drivers/field/chakra.ko"
    echo "e1000e for $modVersion" > "$d/kernel/drivers/net/e1000e.ko"
    ;;
  initrd)
    { echo "initrd for Linux $modVersion"; for d in $deps; do echo "includes $d"; done; } > "$out/initrd"
    head -c "$((sizeKiB * 1024))" /dev/zero >> "$out/initrd"
    ;;
  *)
    mkdir -p "$out/bin" "$out/lib"
    for b in $bins; do
      case " ${daemons:-} " in
        *" $b "*)
          {
            echo "#!/bin/bash"
            for d in $deps; do echo "# links against $d"; done
            echo "bin='$b' pname='$pname' version='$version'"
            cat "$daemonScript"
          } > "$out/bin/$b" ;;
        *)
          {
            echo "#!/bin/sh"
            for d in $deps; do echo "# links against $d"; done
            echo "echo '$b ($pname) $version'"
          } > "$out/bin/$b" ;;
      esac
      chmod 555 "$out/bin/$b"
    done
    head -c "$((sizeKiB * 1024))" /dev/zero > "$out/lib/lib$pname.so"
    ;;
esac
echo "$pname $version" > "$out/share/doc/$pname/README"
echo "$deps" > "$out/nix-support/propagated-build-inputs"

phase fixupPhase
echo "post-installation fixup"
echo "shrinking RPATHs of ELF executables and libraries in $out"
echo "patching script interpreter paths in $out"
echo "checking for references to /build/ in $out..."
