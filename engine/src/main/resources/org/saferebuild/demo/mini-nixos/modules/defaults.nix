# What every NixOS system has: systemd, dbus, polkit, sshd if asked, and the base packages.
{ config, pkgs, lib, ... }:
let
  ssh = config.services.openssh.enable or false;
  dbusPackages = config.services.dbus.packages or [ ];
  # Like NixOS, dbus.service is reloaded, not restarted, when its configuration changes.
  dbusConfig = pkgs.writeText "dbus-system.conf" (lib.concatStrings ([
    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\">\n"
    "<busconfig>\n  <type>system</type>\n  <includedir>/etc/dbus-1/system.d</includedir>\n"
  ] ++ map (p: "  <servicedir>${p}/share/dbus-1/system-services</servicedir>\n") dbusPackages
    ++ [ "</busconfig>\n" ]));
in
{
  networking.hostName = "nixos";
  system.stateVersion = "23.11";
  system.nixos.label = "23.11.20240115.b8dd8be";
  boot.kernelPackages = pkgs.linuxPackages;
  boot.kernelParams = [ "loglevel=4" ];
  environment.systemPackages = with pkgs; [ bash coreutils systemd dbus polkit ];

  environment.etc."os-release".text = ''
    NAME=NixOS
    ID=nixos
    VERSION="${config.system.nixos.label} (Tapir)"
    VERSION_CODENAME=tapir
    PRETTY_NAME="NixOS 23.11 (Tapir)"
  '';
  environment.etc."hostname".text = "${config.networking.hostName}\n";
  environment.etc."dbus-1/system.conf".source = dbusConfig;
  environment.etc."ssh/sshd_config" = lib.optionalAttrs ssh {
    text = "UsePAM yes\nPermitRootLogin ${config.services.openssh.settings.PermitRootLogin or "prohibit-password"}\n";
  };

  systemd.services = {
    dbus = {
      description = "D-Bus System Message Bus";
      wantedBy = [ "multi-user.target" ];
      reloadIfChanged = true;
      reloadTriggers = [ dbusConfig ];
      serviceConfig.ExecStart = "${pkgs.dbus}/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only";
      serviceConfig.ExecReload = "${pkgs.dbus}/bin/dbus-send --print-reply --system --type=method_call --dest=org.freedesktop.DBus / org.freedesktop.DBus.ReloadConfig";
    };
    polkit = {
      description = "Authorization Manager";
      serviceConfig.ExecStart = "${pkgs.polkit}/bin/polkitd --no-debug";
      serviceConfig.Type = "dbus";
      serviceConfig.BusName = "org.freedesktop.PolicyKit1";
    };
  } // lib.optionalAttrs ssh {
    sshd = {
      description = "SSH Daemon";
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ];
      stopIfChanged = false;
      serviceConfig.ExecStart = "${pkgs.openssh}/bin/sshd -D -f /etc/ssh/sshd_config";
      serviceConfig.Restart = "always";
    };
  };
}
