# Two closures of about 7,000 store paths each for the closure-diff benchmark, built cheaply
# with real nix: text store paths (builtins.toFile) named like packages ("app123-1.3.0") that
# reference each other, under a toplevel derivation built by /bin/sh.
#   variant "a": the old system;  variant "b": about 190 version bumps, 53 packages removed,
#   50 added, python3 {3.10, 3.11} → {3.11, 3.12}, one library bumped (so ~115 packages that
#   use it are rebuilt: new store paths, same name and version), a new toplevel version.
#   size "small": the same shape with about 60 paths (a small system, or a comparison of two
#   small closures, where starting processes is most of the cost).
{ variant, size ? "large" }:
let
  b = variant == "b";
  small = size == "small";
  nLibs = if small then 6 else 60;
  nPkgs = if small then 40 else 6900;
  perGroup = if small then 10 else 100;
  mod = x: m: x - (x / m) * m;

  libs = builtins.genList (i: builtins.toFile
    "benchlib${toString i}-${if b && i == 7 then "2.1" else "2.0"}"
    "library ${toString i} ${if i > 0 then builtins.elemAt libs (i / 2) else ""}") nLibs;

  version = i: "1.${toString (mod i 10)}.${if b && mod i 37 == 0 then "1" else "0"}";
  present = i: !(b && mod i 131 == 5);
  pkg = i: builtins.toFile "app${toString i}-${version i}"
    "package ${toString i} uses ${builtins.elemAt libs (mod i nLibs)}";
  pkgs = builtins.genList pkg nPkgs;

  groupOf = g: builtins.toFile "group${toString g}-1.0" (builtins.concatStringsSep "\n"
    (builtins.genList (j: let i = g * perGroup + j; in if present i then builtins.elemAt pkgs i else "") perGroup));
  groups = builtins.genList groupOf (nPkgs / perGroup);

  added = if b then [ (builtins.toFile "group-new-1.0" (builtins.concatStringsSep "\n"
    (builtins.genList (j: builtins.toFile "newapp${toString j}-0.${toString j}" "new ${toString j}") (if small then 3 else 50)))) ] else [ ];
  python = map (v: builtins.toFile "python3-${v}" "python ${v}")
    (if b then [ "3.11.6" "3.12.1" ] else [ "3.10.13" "3.11.6" ]);
in
derivation {
  name = "nixos-system-bench${if small then "-small" else ""}-${if b then "24.05.2" else "24.05.1"}";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  PATH = "/usr/bin:/bin";
  # a directory, as a system is
  args = [ "-c" "mkdir $out && echo ${builtins.concatStringsSep " " (groups ++ added ++ python)} > $out/references" ];
}
