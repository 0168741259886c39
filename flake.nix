# Safe Rebuild as a flake: the package and the NixOS module (docs/install.md, "NixOS").
{
  description = "Safe Rebuild: safe, isolated NixOS rebuilds with sign-off and one-click rollback";

  inputs.nixpkgs.url = "nixpkgs";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAll (pkgs: { default = pkgs.callPackage ./packaging/nix/package.nix { }; });

      nixosModules.default = { pkgs, lib, ... }: {
        imports = [ ./packaging/nix/module.nix ];
        programs.safe-rebuild.package = lib.mkDefault self.packages.${pkgs.system}.default;
      };
    };
}
