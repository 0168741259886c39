# The demo's stand-in for a nixpkgs channel: <nixpkgs> is its package set, <nixpkgs/nixos>
# evaluates a classic configuration.nix.
{ ... }:
import ./mini-nixos/pkgs.nix { lib = import ./mini-nixos/lib.nix; site = import ./mini-nixos/site.nix; }
