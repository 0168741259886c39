# Two closures for the differential test of package names and versions (NixNamesDifferentialTest):
# real derivations (single and multiple outputs) and a few paths added directly (builtins.toFile),
# with tricky names and many version forms. Variant "a" is the old system, "b" the new one.
# Built with the demo's nix options (no build sandbox: the builder is the host's /bin/sh).
{ variant }:
let
  b = variant == "b";
  pick = old: new: if b then new else old;

  # One derivation; every output is a file holding its name, the salt and its dependencies'
  # paths (so they are references), and `kib` KiB of zeros in "out" (for size changes).
  mk = { name, outputs ? [ "out" ], kib ? 0, salt ? "", deps ? [ ] }: derivation {
    inherit name outputs deps;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    args = [ "-c" ''
      for o in $outputs; do
        eval p=\$$o
        { echo "$name $o ${salt}"; echo "$deps"; } > "$p"
        if [ "$o" = out ] && [ ${toString kib} -gt 0 ]; then head -c ${toString (kib * 1024)} /dev/zero >> "$p"; fi
      done
    '' ];
  };
  # all outputs of a derivation, as a system's closure would hold them
  all = d: map (o: d.${o}) d.outputs;

  # Version forms: package "formN" goes from the first version to the second.
  forms = [
    [ "1.0" "1.0.1" ] [ "1.9" "1.10" ] [ "1.0" "1.0a" ] [ "1.0a" "1.0b" ] [ "1.0pre1" "1.0" ]
    [ "2.3a" "2.3.1" ] [ "1.5.0-rc1" "1.5.0" ] [ "007" "7" ] [ "2.0.4" "2.0.3000000000" ]
    [ "2.0.2147483647" "2.0.2147483648" ] [ "1.0.0" "1.0" ] [ "2023-01-01" "2023-1-2" ]
    [ "1.0+build.1" "1.0+build.2" ] [ "3.0_beta1" "3.0" ] [ "1.2.3.4.5" "1.2.3.4.6" ]
    [ "r1234" "r1235" ] [ "unstable-2023-05-01" "unstable-2024-01-01" ] [ "1.0" "1.0.0.0" ]
    [ "10" "9" ] [ "2.0" "pre2.1" ] [ "1.0pre" "1.0pre2" ] [ "1.0.pre" "1.0" ] [ "1.0-2" "1.0-10" ]
    [ "4294967296" "4294967297" ] [ "99999999999" "100000000000" ] [ "0.0.0+git" "0.0.1" ]
    [ "1.0.x" "1.0.y" ] [ "1.0" "1.0-1" ] [ "5" "5.0" ] [ "1_2" "1_3" ] [ "0.9.9" "0.10" ]
    [ "2.0rc1" "2.0rc2" ] [ "1.0.alpha" "1.0.beta" ] [ "6.1-2.el9" "6.1-3.el9" ]
  ];
  formPkgs = builtins.genList (i: let f = builtins.elemAt forms i; in
    mk { name = "form${toString i}-${pick (builtins.elemAt f 0) (builtins.elemAt f 1)}"; }) (builtins.length forms);

  # Names Nix splits at a dash followed by something other than a letter or a digit.
  tricky = [
    (mk { name = "foo--bar-${pick "1.0" "1.1"}"; })
    (mk { name = "weird-+plus-${pick "1.0" "2.0"}"; })
    (mk { name = "dot-.hidden-${pick "1.0" "1.0.1"}"; })
    (mk { name = "1password-${pick "8.10.20" "8.10.23"}"; })
    (mk { name = "SDL2-${pick "2.28.5" "2.30.0"}"; })
    (mk { name = "python3.11-requests-${pick "2.31.0" "2.32.0"}"; })
    (mk { name = "perl5.38.2-Foo-Bar-${pick "1.0" "1.1"}"; })
    (mk { name = "date-unstable-${pick "2023-01-01" "2024-02-02"}"; })
    (mk { name = "a-${pick "1" "2"}"; })
    (mk { name = "trail-"; salt = pick "a" "b"; })
    (mk { name = if b then "tool-1.0" else "tool"; })
    (mk { name = "hello-${pick "2.12" "2.12.1"}"; })
  ];

  # Multiple-output derivations: outputs with common and uncommon names.
  multi = [
    (mk { name = "util-linux-${pick "2.39.2" "2.39.3"}"; outputs = [ "out" "bin" "lib" "login" "mount" "swap" ]; })
    (mk { name = "glibc-${pick "2.38-27" "2.38-44"}"; outputs = [ "out" "getent" "dev" ]; })
    (mk { name = "python3.11-numpy-${pick "1.26.2" "1.26.4"}"; outputs = [ "out" "dist" ]; })
    (mk { name = "gcc-${pick "13.2.0" "13.2.1"}"; outputs = [ "out" "lib64" "man" ]; })
    (mk { name = "wine-8.0"; outputs = [ "out" "lib32" ]; salt = pick "1" "2"; })
    (mk { name = "git-${pick "2.43.0" "2.44.0"}"; outputs = [ "out" "doc" ]; })
    # version-less: mydocs, mydocs-dev, mydocs-man are one package; rebuilt 12 KiB larger
    (mk { name = "mydocs"; outputs = [ "out" "dev" "man" ]; kib = pick 1 13; })
    (mk { name = "systemd-254.6"; outputs = [ "out" "man" "dev" ]; salt = pick "1" "2"; })
  ];

  # Where diff-closures' guess at the output name (any trailing lowercase word) is wrong.
  guessedWrong = [
    (mk { name = "X-Restart-Triggers"; salt = pick "1" "2"; })
  ] ++ (if b then [ ] else [ (mk { name = "X-Restart-Triggers-dbus"; }) ]) ++ [
    (mk { name = "pretest-${pick "1.0" "1.0-pre"}"; })
    (mk { name = "snap-${pick "0.9" "1.0-unstable"}"; })
    (mk { name = "linux-${pick "6.1.69" "6.6.8"}"; })
    (mk { name = "linux-${pick "6.1.69" "6.6.8"}-modules"; })
  ];

  # Same name and version, rebuilt: 20 KiB larger (shown), 1 KiB larger (under the threshold).
  rebuilt = [
    (mk { name = "firefox-121.0"; kib = pick 100 120; })
    (mk { name = "small-1.0"; kib = pick 4 5; })
    (mk { name = "etc"; salt = pick "1" "2"; })
  ];

  # Added and removed; several versions of one name.
  changes = (if b then [ (mk { name = "ripgrep-14.0.3"; }) (mk { name = "unit-sshd.service"; }) ]
             else [ (mk { name = "nano-7.2"; }) (mk { name = "unit-dbus.service"; }) ])
    ++ map (v: mk { name = "python3-${v}"; }) (pick [ "3.10.13" "3.11.6" ] [ "3.11.6" "3.12.1" ]);

  # Added to the store directly (no deriver): never an output, whatever the name ends with.
  direct = [
    (builtins.toFile "notes-${pick "1.0" "1.0-pre"}" "notes")
    (builtins.toFile "readme-dev" "a file named like an output")
    (builtins.toFile "cfg-${pick "2.0" "2.1"}" "configuration")
  ];

  everything = builtins.concatMap all (formPkgs ++ tricky ++ multi ++ guessedWrong ++ rebuilt ++ changes);
in
mk { name = "nixos-system-names-${pick "23.11.1" "24.05.2"}"; deps = everything ++ direct; }
