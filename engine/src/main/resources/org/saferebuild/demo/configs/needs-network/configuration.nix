# BearsiMac with the chakra bridge firmware, which is downloaded from FIELD's release server
# at build time (a fixed-output derivation): it cannot be built with the network isolated.
{ config, pkgs, ... }:
{
  imports = [ ./hardware-configuration.nix ];

  networking.hostName = "BearsiMac";
  networking.networkmanager.enable = true;

  boot.kernelPackages = pkgs.linuxPackages_6_1;

  services.xserver.enable = true;
  services.xserver.displayManager.sddm.enable = true;
  services.openssh.enable = true;
  hardware.field.firmware.enable = true;

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
