# BearsiMac building the field-translator 1.5 release candidate on a disk that is full: its build
# writes 4 MiB of intermediate objects and the write fails with "No space left on device". (The
# demo writes them to /dev/full, where every write fails with ENOSPC, instead of filling the disk.)
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
    scratch = "/dev/full";
    scratchKiB = 4096;
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
