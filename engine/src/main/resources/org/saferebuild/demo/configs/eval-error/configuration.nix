# BearsiMac with chakra tuning that does not evaluate (see modules/chakra-tuning.nix).
{ config, pkgs, ... }:
{
  imports = [ ./hardware-configuration.nix ./modules/chakra-tuning.nix ];

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
