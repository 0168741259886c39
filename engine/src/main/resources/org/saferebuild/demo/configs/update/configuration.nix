# BearsiMac after the planned change: a second chakra, the translator in bridge mode (with its
# D-Bus policy), Firefox 121, ripgrep instead of nano, and the legacy beacon retired.
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
  services.field.chakra.chakras = [ "muladhara" "svadhisthana" ];
  services.field.translator.enable = true;
  services.field.translator.mode = "bridge";
  services.dbus.packages = [ pkgs.field-translator ];

  environment.systemPackages = with pkgs; [
    (firefox.overrideAttrs { version = "121.0"; }) # security update
    git
    htop
    ripgrep
    vim
  ];

  system.stateVersion = "23.11";
}
