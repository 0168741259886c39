# The FIELD chakra ecosystem: services.field.chakra, services.field.translator,
# services.field.beacon and hardware.field.firmware.
{ config, pkgs, lib, ... }:
let
  cfg = config.services.field or { };
  chakra = cfg.chakra or { };
  chakraOn = chakra.enable or false;
  chakras = chakra.chakras or [ "muladhara" ];
  translator = cfg.translator or { };
  translatorOn = translator.enable or false;
  translatorPkg = translator.package or pkgs.field-translator;
  listen = translator.listen or "[::1]:7700";
  mode = translator.mode or "direct";
  hiveSocket = translator.hiveSocket or null;
  port = builtins.fromJSON (builtins.head (builtins.match ".*:([0-9]+)" listen));
  beaconOn = (cfg.beacon or { }).enable or false;
  firmwareOn = ((config.hardware or { }).field or { }).firmware.enable or false;
  hive = "/var/log/iNixos-Hive";

  chakraService = name: {
    name = "${name}-chakra";
    value = {
      description = "FIELD ${name} chakra";
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" "field-translator.service" ];
      serviceConfig.ExecStart = "${pkgs.chakra-tools}/bin/chakra-daemon --chakra ${name} --config /etc/field/chakra.toml";
      serviceConfig.Restart = "on-failure";
      serviceConfig.StandardOutput = "append:${hive}/chakra-${name}.log";
      serviceConfig.StandardError = "journal";
    };
  };
in
{
  environment.systemPackages = lib.optionals chakraOn [ pkgs.chakra-tools ]
    ++ lib.optionals translatorOn [ translatorPkg ]
    ++ lib.optionals beaconOn [ pkgs.field-beacon ];

  environment.etc."field/chakra.toml" = lib.optionalAttrs chakraOn {
    text = ''
      # FIELD chakra ecosystem, written by NixOS (services.field.chakra)
      [field.chakra]
      chakras = [ ${lib.concatStringsSep ", " (map (c: "\"${c}\"") chakras)} ]
      log_dir = "${hive}"

      [field.chakra.translator]
      listen = "${listen}"
    '';
  };
  environment.etc."iNixos-Hive/translator.conf" = lib.optionalAttrs translatorOn {
    mode = "0444";
    text = ''
      # field-translator: bridges field.chakra events to the hive
      source = "field.chakra"
      mode = "${mode}"
      listen = "${listen}"
    '';
  };

  systemd.services = builtins.listToAttrs (lib.optionals chakraOn (map chakraService chakras))
    // lib.optionalAttrs translatorOn {
      field-translator = {
        description = "FIELD translator (chakra field bridge)";
        wantedBy = [ "multi-user.target" ];
        after = [ "network.target" ];
        stopIfChanged = false;
        serviceConfig.ExecStart = "${translatorPkg}/bin/field-translator --listen ${listen} --mode ${mode}"
          + lib.optionalString (hiveSocket != null) " --hive ${hiveSocket}";
        serviceConfig.Restart = "always";
        serviceConfig.StandardOutput = "append:${hive}/translator.log";
        serviceConfig.StandardError = "journal";
      };
    } // lib.optionalAttrs beaconOn {
      field-beacon = {
        description = "FIELD beacon (legacy announcer)";
        wantedBy = [ "multi-user.target" ];
        serviceConfig.ExecStart = "${pkgs.field-beacon}/bin/field-beacon --interval 30";
      };
    } // lib.optionalAttrs chakraOn {
      field-chakra-audit = {
        description = "FIELD chakra audit";
        serviceConfig.Type = "oneshot";
        serviceConfig.ExecStart = "${pkgs.chakra-tools}/bin/chakra-audit --all";
      };
    };

  systemd.timers = lib.optionalAttrs chakraOn {
    field-chakra-audit = {
      description = "Daily FIELD chakra audit";
      wantedBy = [ "timers.target" ];
      timerConfig.OnCalendar = "daily";
      timerConfig.Persistent = "true";
    };
  };

  hardware.firmware = lib.optionals firmwareOn [ pkgs.field-firmware ];

  # What the demo's switch-to-configuration makes fail, as systemd would: a translator that
  # cannot bind its port builds fine but does not start.
  system.demo.failingUnits = lib.optionals (translatorOn && port > 65535) [{
    unit = "field-translator.service";
    message = "error: invalid listen address \"${listen}\": port ${toString port} is out of range (1-65535)";
  }];
}
