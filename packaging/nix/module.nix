# NixOS module: programs.safe-rebuild.enable = true; installs the app (menu entry and icon) and
# the command line (safe-rebuild COMMAND, docs/cli.md) beside it, the engine at a fixed store path
# with the polkit action that pins it (and at /run/current-system/sw/bin/safe-rebuild-engine, where
# another machine's safe-rebuild reaches it over ssh: docs/remote.md), and the engine's settings
# file (docs/install.md, "NixOS").
{ config, lib, pkgs, ... }:

let
  cfg = config.programs.safe-rebuild;
  json = pkgs.formats.json { };
in
{
  options.programs.safe-rebuild = {
    enable = lib.mkEnableOption "Safe Rebuild, a desktop assistant for safe NixOS rebuilds with one-click rollback";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage ./package.nix { }";
      description = "The Safe Rebuild package (app, engine, polkit policy, desktop entry, icons).";
    };

    settings = lib.mkOption {
      type = json.type;
      default = { };
      example = lib.literalExpression ''
        {
          configDirs = [ "/etc/nixos" ];
          watchedServices = [ "*-chakra.service" "field-translator.service" ];
          watchedLogs = [ "/var/log/iNixos-Hive/*.log" ];
          confirmSeconds = 120;
        }
      '';
      description = ''
        Engine settings, written to /etc/safe-rebuild/engine.json (in the store: owned by root and
        read-only, as the engine requires). Missing fields take the NixOS defaults; see
        docs/security.md for the fields. The app can never change them.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    # safe-rebuild on PATH (the window, and the command line with a command), its .desktop entry and icons; share/polkit-1 of system packages is linked
    # into /run/current-system/sw, where NixOS's polkitd reads actions.
    environment.systemPackages = [ cfg.package ];

    security.polkit.enable = true;

    environment.etc."safe-rebuild/engine.json".source =
      json.generate "safe-rebuild-engine.json" cfg.settings;

    # The engine's state and audit trail: root's alone (it refuses anything else).
    systemd.tmpfiles.rules = [
      "d /var/lib/safe-rebuild 0700 root root -"
      "d /var/log/safe-rebuild 0700 root root -"
    ];
  };
}
