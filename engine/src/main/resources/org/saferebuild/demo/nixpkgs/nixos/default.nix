# Stands in for nixpkgs' nixos/default.nix, which classic NixOS builds with
#   nix-build '<nixpkgs/nixos>' -A system        (nixos-config=/etc/nixos/configuration.nix)
{ configuration ? <nixos-config>, system ? builtins.currentSystem }:
let
  eval = import ../mini-nixos/eval-config.nix { modules = [ configuration ]; };
in
{
  inherit (eval) config options pkgs;
  system = eval.config.system.build.toplevel;
}
