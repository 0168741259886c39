# BearsiMac trying the field-translator 1.5 release candidate with a patch that does not apply.
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
  services.field.translator.package = pkgs.field-translator.overrideAttrs (old: {
    version = "1.5.0-rc1";
    patches = [ ./patches/translator-bridge-mode.patch ];
  });
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
