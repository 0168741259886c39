# config.system.build.toplevel with the shape of a real NixOS system:
#   etc -> …-etc/etc          (etc/systemd/system -> …-system-units, entries link to store files)
#   sw -> …-system-path       kernel, initrd, kernel-modules, kernel-params, nixos-version
#   bin/switch-to-configuration (switch | boot | test | dry-activate)
{ config, pkgs, lib, site }:
let
  inherit (lib) concatStringsSep concatMapStrings mapAttrsToList optionalString;
  hostName = config.networking.hostName;
  label = config.system.nixos.label;
  kp = config.boot.kernelPackages;

  # Unit files as NixOS writes them (nixos/lib/systemd-lib.nix), X- keys included.
  serviceText = name: s:
    let
      line = k: v: "${k}=${v}\n";
      sc = s.serviceConfig or { };
    in
    "[Unit]\n"
    + optionalString ((s.after or [ ]) != [ ]) (line "After" (concatStringsSep " " s.after))
    + line "Description" s.description
    + optionalString (s ? reloadTriggers) (line "X-Reload-Triggers" (concatStringsSep " " (map toString s.reloadTriggers)))
    + optionalString (s.reloadIfChanged or false) (line "X-ReloadIfChanged" "true")
    + optionalString (!(s.restartIfChanged or true)) (line "X-RestartIfChanged" "false")
    + optionalString (!(s.stopIfChanged or true)) (line "X-StopIfChanged" "false")
    + "\n[Service]\n"
    + line "Environment" "\"PATH=${pkgs.coreutils}/bin:${pkgs.systemd}/bin\""
    + concatMapStrings (k: line k (toString sc.${k})) (builtins.attrNames sc);

  timerText = name: t:
    "[Unit]\n" + "Description=${t.description}\n\n[Timer]\n"
    + concatMapStrings (k: "${k}=${t.timerConfig.${k}}\n") (builtins.attrNames t.timerConfig);

  targetText = description: "[Unit]\nDescription=${description}\n";

  units =
    mapAttrsToList (n: s: { name = "${n}.service"; text = serviceText n s; wantedBy = s.wantedBy or [ ]; })
      (config.systemd.services or { })
    ++ mapAttrsToList (n: t: { name = "${n}.timer"; text = timerText n t; wantedBy = t.wantedBy or [ ]; })
      (config.systemd.timers or { })
    ++ [
      { name = "multi-user.target"; text = targetText "Multi-User System"; wantedBy = [ "graphical.target" ]; }
      { name = "graphical.target"; text = targetText "Graphical Interface"; wantedBy = [ ]; }
      { name = "timers.target"; text = targetText "Timer Units"; wantedBy = [ "multi-user.target" ]; }
      { name = "network.target"; text = targetText "Network"; wantedBy = [ ]; }
    ];

  unitDrv = u: pkgs.runCommand "unit-${u.name}" { text = u.text; unitName = u.name; } ''
    mkdir -p "$out"
    printf '%s' "$text" > "$out/$unitName"
  '';

  systemUnits = pkgs.runCommand "system-units" { } ("mkdir -p $out\n" + concatMapStrings
    (u: ''
      ln -s ${unitDrv u}/${u.name} $out/${u.name}
    '' + concatMapStrings (t: ''
      mkdir -p $out/${t}.wants
      ln -sfn ../${u.name} $out/${t}.wants/${u.name}
    '') u.wantedBy)
    units);

  etcEntries = lib.filter (e: e.value ? text || e.value ? source)
    (mapAttrsToList (name: value: { inherit name value; }) (config.environment.etc or { }));
  etcSource = e:
    if e.value ? source then e.value.source
    else pkgs.writeText (baseNameOf e.name) e.value.text;

  etc = pkgs.runCommand "etc" { } (''
    mkdir -p $out/etc/systemd
    ln -s ${systemUnits} $out/etc/systemd/system
  '' + concatMapStrings
    (e: ''
      mkdir -p "$(dirname $out/etc/${e.name})"
    '' + (if e.value ? mode then ''
      cp ${etcSource e} $out/etc/${e.name}
      chmod ${e.value.mode} $out/etc/${e.name}
    '' else ''
      ln -s ${etcSource e} $out/etc/${e.name}
    ''))
    etcEntries);

  packages = lib.unique (config.environment.systemPackages or [ ]);
  systemPath = pkgs.runCommand "system-path" { } (''
    mkdir -p $out/bin $out/share
  '' + concatMapStrings
    (p: ''
      if [ -d ${p}/bin ]; then
        for f in ${p}/bin/*; do [ -e "$out/bin/$(basename "$f")" ] || ln -s "$f" $out/bin/; done
      fi
      ln -s ${p} $out/share/${p.pname}
    '')
    packages);

  firmware = config.hardware.firmware or [ ];
  firmwareDir = pkgs.runCommand "firmware" { } (''
    mkdir -p $out/lib/firmware
  '' + concatMapStrings (f: "ln -s ${f} $out/lib/firmware/${f.pname}\n") firmware);

  failing = config.system.demo.failingUnits or [ ];
  fail = if failing == [ ] then { unit = ""; message = ""; } else builtins.head failing;

  # "systemd" where the demo was installed on a machine whose systemd runs its units (docs/demo.md).
  services = site.services or "simulated";

  # The activation script (switch-to-configuration runs it with the system as its argument, as
  # NixOS's does): NixOS's sets up /etc, users and /run/current-system. On a machine with systemd
  # this one also puts the system's units where systemd finds them: links in /run/systemd/system
  # (the machine's runtime unit directory) to each unit file and to each unit a target wants. Only
  # links into the store are ever removed there, and a unit the machine has itself (dbus.service)
  # is left to the machine; targets are the machine's own.
  activate = ''
    #!/bin/sh
    echo "setting up /etc..."
  '' + optionalString (services == "systemd") ''
    PATH=/usr/bin:/bin
    new="$1/etc/systemd/system"
    units=/run/systemd/system
    mkdir -p "$units" /var/log/iNixos-Hive
    for l in "$units"/* "$units"/*.wants/*; do
      if [ -L "$l" ]; then
        case "$(readlink "$l")" in /nix/store/*) rm -f "$l" ;; esac
      fi
    done
    rmdir "$units"/*.wants 2>/dev/null || true
    own() { for d in /etc/systemd/system /usr/local/lib/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
      [ -e "$d/$1" ] && return 0; done; return 1; }
    for f in "$new"/*; do
      u=$(basename "$f")
      case "$u" in
        *.target) ;;
        *.wants)
          for w in "$f"/*; do
            n=$(basename "$w")
            case "$n" in *.target) continue ;; esac
            own "$n" && continue
            mkdir -p "$units/$u"
            ln -sfn "$(readlink -f "$w")" "$units/$u/$n"
          done ;;
        *) own "$u" || ln -sfn "$(readlink -f "$f")" "$units/$u" ;;
      esac
    done
  '';
  dryActivate = ''
    #!/bin/sh
    echo "would set up /etc..."
  '';
in
pkgs.runCommand "nixos-system-${hostName}-${label}"
{
  inherit hostName label activate dryActivate services;
  kernelParams = concatStringsSep " " (config.boot.kernelParams or [ ]);
  demoRoot = site.root;
  failUnit = fail.unit;
  failMessage = fail.message;
  template = ./switch-to-configuration.sh;
} ''
  mkdir -p $out/bin $out/specialisation
  ln -s ${etc}/etc $out/etc
  ln -s ${systemPath} $out/sw
  ln -s ${kp.kernel}/bzImage $out/kernel
  ln -s ${kp.modules} $out/kernel-modules
  ln -s ${kp.initrd}/initrd $out/initrd
  ln -s ${pkgs.systemd} $out/systemd
  ln -s ${firmwareDir} $out/firmware
  printf '%s' "$kernelParams" > $out/kernel-params
  printf '%s' "$label" > $out/nixos-version
  printf '%s' "${site.system}" > $out/system
  printf '%s' systemd > $out/init-interface-version
  printf '%s' "$activate" > $out/activate
  printf '%s' "$dryActivate" > $out/dry-activate
  chmod 555 $out/activate $out/dry-activate
  {
    echo '#!/bin/sh'
    echo "out='$out'"
    echo "root='$demoRoot'"
    echo "hostName='$hostName'"
    echo "label='$label'"
    echo "failUnit='$failUnit'"
    echo "failMessage='$failMessage'"
    echo "services='$services'"
    cat "$template"
  } > $out/bin/switch-to-configuration
  chmod 555 $out/bin/switch-to-configuration
''
