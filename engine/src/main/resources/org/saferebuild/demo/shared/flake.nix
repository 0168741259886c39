{
  description = "NixOS configuration of BearsiMac";

  # The Safe Rebuild demo system: NixOS-shaped, built without nixpkgs and without network.
  # ./mini-nixos stands in for nixpkgs' nixos/lib/eval-config.nix.
  outputs = { self }: {
    nixosConfigurations.BearsiMac = import ./mini-nixos/eval-config.nix {
      modules = [ ./configuration.nix ];
    };
  };
}
