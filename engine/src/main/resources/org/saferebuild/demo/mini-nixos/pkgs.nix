# The demo's package set: small derivations with real-looking names (name-version), built by
# builder.sh with the host's /bin/sh and coreutils. Each installation has its own instance
# salt, so a fresh demo really builds its packages.
{ lib, site }:
let
  common = {
    system = site.system;
    demoInstance = site.instance;
  };

  # daemons: the bins that are services (daemon.sh), started by systemd where it runs.
  mkDerivation = { pname, version, sizeKiB ? 16, deps ? [ ], bins ? [ pname ], sources ? [ "src/main.c" ]
                 , delay ? "", src ? null, kind ? "package", modVersion ? version
                 , patches ? [ ], scratch ? "", scratchKiB ? 0, daemons ? [ ] }@args:
    let
      drv = derivation (common // {
        name = "${pname}-${version}";
        builder = "/bin/sh";
        args = [ "-e" ./builder.sh ];
        inherit pname version sizeKiB deps bins sources delay kind modVersion patches;
        src = if src != null then src
          else builtins.toFile "${pname}-${version}.tar.gz" "source of ${pname} ${version}\n";
      } // (if scratch != "" then { inherit scratch scratchKiB; } else { })
        // (if daemons != [ ] then { inherit daemons; daemonScript = ./daemon.sh; } else { }));
    in
    drv // {
      inherit pname version;
      overrideAttrs = f: mkDerivation (args // (if builtins.isFunction f then f args else f));
    };

  # Like nixpkgs' <nix/fetchurl.nix>: a fixed-output derivation that downloads at build time.
  fetchurl = { url, sha256, name ? baseNameOf url }: derivation {
    inherit name url sha256;
    urls = [ url ];
    system = "builtin";
    builder = "builtin:fetchurl";
    outputHashMode = "flat";
    outputHashAlgo = "sha256";
    outputHash = sha256;
    executable = false;
    unpack = false;
    preferLocalBuild = true;
    impureEnvVars = [ "http_proxy" "https_proxy" "ftp_proxy" "all_proxy" "no_proxy" ];
  };

  runCommand = name: env: script: derivation (common // env // {
    inherit name;
    builder = "/bin/sh";
    args = [ "-e" "-c" ("PATH=/usr/bin:/bin; export PATH\n" + script) ];
  });

  writeText = name: text: runCommand name { inherit text; } ''printf '%s' "$text" > "$out"'';

  many = prefix: n: map (i: "${prefix}${toString i}.c") (builtins.genList (i: i + 1) n);

  linuxFor = version: sizeKiB: rec {
    kernel = mkDerivation { pname = "linux"; inherit version; kind = "kernel"; sizeKiB = sizeKiB; bins = [ ];
      sources = [ "init/main.c" "kernel/fork.c" "mm/memory.c" "fs/namei.c" "arch/x86/boot/compressed/misc.c" ]; };
    modules = mkDerivation { pname = "linux"; version = "${version}-modules"; modVersion = version;
      kind = "modules"; sizeKiB = sizeKiB / 2; bins = [ ]; deps = [ kernel ];
      sources = [ "drivers/field/chakra.c" "drivers/net/ethernet/intel/e1000e/netdev.c" ]; };
    initrd = mkDerivation { pname = "initrd-linux"; inherit version; modVersion = version; kind = "initrd";
      sizeKiB = sizeKiB / 4; bins = [ ]; deps = [ modules ]; sources = [ "init.sh" ]; };
  };

  self = rec {
    inherit mkDerivation fetchurl runCommand writeText;

    glibc = mkDerivation { pname = "glibc"; version = "2.38-27"; sizeKiB = 96; bins = [ "ldd" ]; };
    bash = mkDerivation { pname = "bash"; version = "5.2p21"; deps = [ glibc ]; };
    coreutils = mkDerivation { pname = "coreutils"; version = "9.4"; deps = [ glibc ]; bins = [ "ls" "cp" "mv" ]; };
    systemd = mkDerivation { pname = "systemd"; version = "254.6"; sizeKiB = 64; deps = [ glibc ];
      bins = [ "systemctl" "journalctl" ]; };
    dbus = mkDerivation { pname = "dbus"; version = "1.14.10"; deps = [ glibc systemd ]; bins = [ "dbus-daemon" "dbus-send" ]; };
    polkit = mkDerivation { pname = "polkit"; version = "123"; deps = [ glibc dbus ]; bins = [ "pkexec" "polkitd" ]; };
    networkmanager = mkDerivation { pname = "networkmanager"; version = "1.44.2"; deps = [ glibc dbus ];
      bins = [ "NetworkManager" "nmcli" ]; daemons = [ "NetworkManager" ]; };
    openssh = mkDerivation { pname = "openssh"; version = "9.5p1"; deps = [ glibc ]; bins = [ "ssh" "sshd" ];
      daemons = [ "sshd" ]; };
    sddm = mkDerivation { pname = "sddm"; version = "0.20.0"; deps = [ glibc dbus ]; daemons = [ "sddm" ]; };
    # The one slow build: about 3 s of compiler lines, so progress and cancel have something to show.
    firefox = mkDerivation { pname = "firefox"; version = "120.0.1"; sizeKiB = 512; deps = [ glibc dbus ];
      sources = many "dom/base/nsFrame" 60; delay = "0.05"; };
    htop = mkDerivation { pname = "htop"; version = "3.2.2"; deps = [ glibc ]; };
    git = mkDerivation { pname = "git"; version = "2.42.0"; sizeKiB = 48; deps = [ glibc bash ]; };
    vim = mkDerivation { pname = "vim"; version = "9.0.2116"; sizeKiB = 32; deps = [ glibc ]; };
    nano = mkDerivation { pname = "nano"; version = "7.2"; deps = [ glibc ]; };
    ripgrep = mkDerivation { pname = "ripgrep"; version = "14.0.3"; deps = [ glibc ]; bins = [ "rg" ]; };

    libchakra = mkDerivation { pname = "libchakra"; version = "2.1.0"; deps = [ glibc ]; bins = [ ]; };
    chakra-tools = mkDerivation { pname = "chakra-tools"; version = "0.9.1"; deps = [ glibc libchakra ];
      bins = [ "chakra-daemon" "chakra-audit" ]; daemons = [ "chakra-daemon" ]; sources = many "src/chakra" 6; };
    field-translator = mkDerivation { pname = "field-translator"; version = "1.4.2"; deps = [ glibc libchakra ];
      sources = [ "src/translator.c" "src/bridge.c" "src/field.c" ]; daemons = [ "field-translator" ]; };
    field-beacon = mkDerivation { pname = "field-beacon"; version = "0.3.0"; deps = [ glibc ];
      daemons = [ "field-beacon" ]; };

    field-firmware-src = fetchurl {
      url = "https://releases.field-chakra.invalid/firmware/field-firmware-2.0.1.tar.gz";
      sha256 = "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73";
    };
    field-firmware = mkDerivation { pname = "field-firmware"; version = "2.0.1"; src = field-firmware-src;
      bins = [ ]; sources = [ "firmware/chakra-bridge.bin" ]; };

    linuxPackages_6_1 = linuxFor "6.1.69" 64;
    linuxPackages_6_6 = linuxFor "6.6.8" 72;
    linuxPackages = linuxPackages_6_1;
  };
in
self
