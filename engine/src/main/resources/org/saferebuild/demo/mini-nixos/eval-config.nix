# Stands in for nixpkgs' nixos/lib/eval-config.nix: evaluates a list of modules into a
# configuration whose config.system.build.toplevel is a NixOS-shaped system. No nixpkgs, no
# network: every package is a small derivation built with the host's /bin/sh (see pkgs.nix).
{ modules, site ? import ./site.nix }:
let
  lib = import ./lib.nix;
  pkgs = import ./pkgs.nix { inherit lib site; };
  args = { inherit config pkgs lib; modulesPath = ./modules; };

  load = m: if builtins.isPath m || builtins.isString m then import m else m;
  call = m: let v = load m; in if builtins.isFunction v then v args else v;
  # A module and everything it imports, depth first, each without its "imports".
  collect = m:
    let v = call m;
    in [ (builtins.removeAttrs v [ "imports" ]) ] ++ lib.concatMap collect (v.imports or [ ]);

  defined = builtins.foldl' lib.recursiveMerge { }
    (lib.concatMap collect ([ ./modules/defaults.nix ./modules/field.nix ./modules/desktop.nix ] ++ modules));

  config = lib.recursiveMerge defined {
    system.build.toplevel = import ./system.nix { inherit config pkgs lib site; };
  };
in
{
  inherit config pkgs lib;
  options = { };
}
