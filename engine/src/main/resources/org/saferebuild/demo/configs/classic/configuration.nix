# BearsiMac as a classic configuration (/etc/nixos/configuration.nix, no flake), built with
# nix-build '<nixpkgs/nixos>' -A system.
{ config, pkgs, ... }:
{
  imports = [ ./hardware-configuration.nix ];

  networking.hostName = "BearsiMac";
  networking.networkmanager.enable = true;

  boot.kernelPackages = pkgs.linuxPackages_6_1;

  services.xserver.enable = true;
  services.xserver.displayManager.sddm.enable = true;
  services.openssh.enable = true;

  services.field.chakra.enable = true;
  services.field.chakra.chakras = [ "muladhara" ];
  services.field.translator.enable = true;
  services.field.beacon.enable = true;

  environment.systemPackages = with pkgs; [
    firefox
    git
    htop
    nano
    vim
  ];

  system.stateVersion = "23.11";
}
