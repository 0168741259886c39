# BearsiMac with the translator moved to a port that does not exist: it builds, but the
# service fails when the configuration is activated.
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
  services.field.translator.listen = "[::1]:70000"; # the new hive port range
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
