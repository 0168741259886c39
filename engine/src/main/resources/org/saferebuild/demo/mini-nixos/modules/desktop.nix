# A graphical session (services.xserver) and NetworkManager.
{ config, pkgs, lib, ... }:
let
  x = config.services.xserver or { };
  sddm = ((x.displayManager or { }).sddm or { }).enable or false;
  nm = ((config.networking or { }).networkmanager or { }).enable or false;
in
{
  environment.systemPackages = lib.optionals sddm [ pkgs.sddm ] ++ lib.optionals nm [ pkgs.networkmanager ];
  services.dbus.packages = lib.optionals nm [ pkgs.networkmanager ];
  systemd.services = lib.optionalAttrs sddm {
    display-manager = {
      description = "Display Manager";
      wantedBy = [ "graphical.target" ];
      after = [ "systemd-user-sessions.service" "dbus.service" ];
      # As in NixOS: restarting the display manager would end the operator's session.
      restartIfChanged = false;
      serviceConfig.ExecStart = "${pkgs.sddm}/bin/sddm";
      serviceConfig.Restart = "always";
    };
  } // lib.optionalAttrs nm {
    NetworkManager = {
      description = "Network Manager";
      wantedBy = [ "multi-user.target" ];
      after = [ "dbus.service" ];
      serviceConfig.ExecStart = "${pkgs.networkmanager}/bin/NetworkManager --no-daemon";
    };
  };
}
