# A small system with the link structure of a real NixOS toplevel, built with real nix and no
# nixpkgs: etc -> an "etc" store path, etc/systemd/system -> a "system-units" store path, each
# unit a link to its own store path, drop-ins, aliases, a template instance, kernel/initrd/
# kernel-modules as links to other store paths. The inspect tests use it to check that links are
# followed; the demo system (org.saferebuild.demo) is the flat, operator-facing fixture.
#
#   nix-build nixos-shaped.nix --argstr variant base|update|kernel --argstr stateDir DIR
{ variant ? "base", stateDir }:
let
  system = builtins.currentSystem;
  mk = name: script: derivation {
    inherit name system;
    builder = "/bin/sh";
    args = [ "-c" script ];
    PATH = "/usr/bin:/bin";
  };
  update = variant == "update";
  kernelVariant = variant == "kernel";

  # Packages: text store paths named name-version, some referencing others.
  libchakra = builtins.toFile "libchakra-1.4.0" "libchakra";
  python310 = builtins.toFile "python3-3.10.13" "python 3.10";
  python311 = builtins.toFile "python3-3.11.6" "python 3.11";
  python312 = builtins.toFile "python3-3.12.1" "python 3.12";
  hello = builtins.toFile "hello-${if update then "2.13" else "2.12"}" "hello uses ${libchakra}";
  # hello-2.12-dev is the "dev" output of the derivation hello-2.12, so it is version 2.12 of
  # hello, not version "2.12-dev" (the store records the derivation that made it).
  hellodev = (derivation {
    name = "hello-${if update then "2.13" else "2.12"}";
    inherit system;
    builder = "/bin/sh";
    outputs = [ "dev" ];
    args = [ "-c" "echo 'hello headers' > $dev" ];
  }).dev;
  oldtool = builtins.toFile "oldtool-1.0" "old tool";
  newtool = builtins.toFile "newtool-0.5" "new tool";
  packages = [ hello hellodev libchakra python311 ]
    ++ (if update then [ newtool python312 ] else [ oldtool python310 ]);

  # Store names cannot hold "@" (NixOS's own unit-getty-.service does the same).
  safe = builtins.replaceStrings [ "@" ] [ "-" ];
  unitFile = name: text: mk "unit-${safe name}" "mkdir -p $out && cp ${builtins.toFile (safe name) text} $out/${name}";

  chakra = unitFile "muladhara-chakra.service" ''
    [Unit]
    Description=Muladhara chakra (root) of the FIELD ecosystem

    [Service]
    ExecStart=${hello}/bin/muladhara --field.chakra=root
    Restart=always
  '';
  translator = unitFile "field-translator.service" ''
    [Unit]
    Description=FIELD translator

    [Service]
    ExecStart=/bin/false
  '';
  translatorOverride = builtins.toFile "overrides.conf" ''
    [Service]
    ExecStart=
    ExecStart=${hello}/bin/field-translator --mode ${if update then "fast" else "safe"}
  '';
  displayManager = unitFile "display-manager.service" ''
    [Unit]
    Description=${if update then "Display manager (X11 and Wayland)" else "Display manager"}

    [Service]
    ExecStart=/run/current-system/sw/bin/display-manager
  '';
  sshd = unitFile "sshd.service" ''
    [Unit]
    Description=SSH daemon

    [Service]
    ExecStart=/run/current-system/sw/bin/sshd -D${if update then " -e" else ""}
    X-RestartIfChanged=false
  '';
  nginx = unitFile "nginx.service" ''
    [Unit]
    Description=nginx

    [Service]
    ExecStart=/run/current-system/sw/bin/nginx -c /etc/nginx/nginx.conf${if update then " -g 'daemon off;'" else ""}
    ExecReload=/run/current-system/sw/bin/kill -HUP $MAINPID
    X-ReloadIfChanged=true
  '';
  oldDaemon = unitFile "old-daemon.service" ''
    [Service]
    ExecStart=${oldtool}/bin/old-daemon
  '';
  svadhisthana = unitFile "svadhisthana-chakra.service" ''
    [Unit]
    Description=Svadhisthana chakra (sacral)

    [Service]
    ExecStart=${newtool}/bin/svadhisthana --field.chakra=sacral
  '';
  getty = unitFile "getty@.service" ''
    [Service]
    ExecStart=/run/current-system/sw/bin/agetty %I
  '';
  logind = unitFile "systemd-logind.service" ''
    [Service]
    ExecStart=/run/current-system/sw/lib/systemd/systemd-logind${if update then " --debug" else ""}
  '';
  multiUser = unitFile "multi-user.target" ''
    [Unit]
    Description=Multi-User System
  '';

  wanted = [ "muladhara-chakra.service" "field-translator.service" "sshd.service" "nginx.service" ]
    ++ (if update then [ "svadhisthana-chakra.service" ] else [ "old-daemon.service" ]);
  units = [ chakra translator displayManager sshd nginx getty logind multiUser ]
    ++ (if update then [ svadhisthana ] else [ oldDaemon ]);

  systemUnits = mk "system-units" ''
    mkdir -p $out/multi-user.target.wants $out/graphical.target.wants $out/getty.target.wants \
      $out/field-translator.service.d
    for u in ${toString units}; do
      for f in $u/*; do ln -s $f $out/''${f##*/}; done
    done
    for w in ${toString wanted}; do ln -s ../$w $out/multi-user.target.wants/$w; done
    ln -s ../display-manager.service $out/graphical.target.wants/display-manager.service
    ln -s ../getty@.service $out/getty.target.wants/getty@tty1.service
    ln -s systemd-logind.service $out/dbus-org.freedesktop.login1.service
    ln -s ${translatorOverride} $out/field-translator.service.d/overrides.conf
    ln -s /dev/null $out/systemd-journald-audit.socket
  '';

  chakraConf = builtins.toFile "chakra.conf" ''
    # FIELD chakra settings
    services.field.chakra.enable = true
    services.field.chakra.level = ${if update then "2" else "1"}
    translator = on
  '';
  binaryBlob = mk "blob" "printf 'field.chakra\\000binary' > $out";
  etc = mk "etc" ''
    mkdir -p $out/etc/systemd $out/etc/field
    ln -s ${systemUnits} $out/etc/systemd/system
    ln -s ${chakraConf} $out/etc/field/chakra.conf
    ln -s ${binaryBlob} $out/etc/field/chakra.db
    printf 'NAME=NixOS\nID=nixos\n' > $out/etc/os-release
    ln -s /etc/shadow $out/etc/escape
    echo 'mentions field-chakra with a dash' > $out/etc/field/notes.txt
  '';

  kernelName = if kernelVariant then "linux-6.6.8" else "linux-6.1.69";
  kernel = mk kernelName "mkdir -p $out && echo ${kernelName} > $out/bzImage";
  modules = mk "${kernelName}-modules" "mkdir -p $out/lib/modules && echo ${kernelName} > $out/lib/modules/version";
  initrd = mk "initrd-${kernelName}" "mkdir -p $out && echo ${kernelName} > $out/initrd";

  # Records each call and, for dry-activate, prints what the real one would (fixed lines per variant).
  stc = builtins.toFile "switch-to-configuration" ''
    #!/bin/sh
    echo "$1 $0" >> ${stateDir}/activations.log
    if [ "$1" = dry-activate ]; then
      ${if variant != "update" then "true" else ''
      echo "would stop the following units: field-translator.service, muladhara-chakra.service, old-daemon.service, systemd-logind.service" >&2
      echo "would NOT stop the following changed units: sshd.service" >&2
      echo "would start the following units: field-translator.service, muladhara-chakra.service, systemd-logind.service" >&2
      echo "would reload the following units: nginx.service" >&2
      ''}
    fi
    exit 0
  '';
in
mk "nixos-system-shaped-24.05.${variant}" ''
  mkdir -p $out/bin $out/sw
  ln -s ${etc}/etc $out/etc
  ln -s ${kernel}/bzImage $out/kernel
  ln -s ${initrd}/initrd $out/initrd
  ln -s ${modules} $out/kernel-modules
  echo "24.05.${variant}" > $out/nixos-version
  echo 'loglevel=4' > $out/kernel-params
  cp ${stc} $out/bin/switch-to-configuration
  chmod 555 $out/bin/switch-to-configuration
  for p in ${toString packages}; do ln -s $p $out/sw/''${p#/nix/store/}; done
''
