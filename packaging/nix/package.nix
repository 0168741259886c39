# Safe Rebuild, built from this repository with Maven (docs/install.md, "NixOS"): the window, the
# command line (bin/safe-rebuild with a command, docs/cli.md) and the root engine.
#
# The engine wrapper and the polkit policy are made from the same templates as on other Linux
# (packaging/safe-rebuild-engine.in, packaging/org.saferebuild.engine.policy.in): the policy pins
# this package's store path of the wrapper, and the app is told the same path, so pkexec can run
# exactly this engine and nothing else. Used by module.nix and flake.nix.
{ lib
, maven
, jdk17
, makeWrapper
, bash
, coreutils
, gtk3
, glib
, libGL
, xorg
}:

maven.buildMavenPackage {
  pname = "safe-rebuild";
  version = "0.1.0";

  src = lib.cleanSource ../..;

  mvnJdk = jdk17;
  # The hash of the Maven dependencies (a fixed-output fetch). It was not computed here (no
  # nixpkgs on the build machine); the first build prints the real one to put in its place.
  mvnHash = lib.fakeHash;
  # The tests need root, namespaces and polkitd; they run in script/test, not in the Nix sandbox.
  mvnParameters = "-DskipTests";

  nativeBuildInputs = [ makeWrapper ];

  installPhase = ''
    runHook preInstall

    install -d $out/lib/safe-rebuild/engine $out/share/safe-rebuild/app \
      $out/libexec/safe-rebuild $out/share/polkit-1/actions $out/share/applications

    # The engine: its jar and libraries, a fixed class path, the wrapper pkexec runs.
    install -m 0644 engine/target/safe-rebuild-engine.jar engine/target/lib/*.jar $out/lib/safe-rebuild/engine/
    classpath=""
    for jar in $out/lib/safe-rebuild/engine/*.jar; do
      classpath="''${classpath:+$classpath:}$jar"
    done
    engine=$out/libexec/safe-rebuild/safe-rebuild-engine
    substitute ${../safe-rebuild-engine.in} $engine \
      --subst-var-by BASH ${bash}/bin/bash \
      --subst-var-by ENV ${coreutils}/bin/env \
      --subst-var-by JAVA ${jdk17}/bin/java \
      --subst-var-by CLASSPATH "$classpath"
    chmod 0555 $engine
    substitute ${../org.saferebuild.engine.policy.in} \
      $out/share/polkit-1/actions/org.saferebuild.engine.policy \
      --subst-var-by ENGINE $engine

    # The app: runs as the operator; JavaFX's native code needs GTK and GL at run time.
    install -m 0644 app/target/safe-rebuild-app.jar app/target/lib/*.jar $out/share/safe-rebuild/app/
    appcp=""
    for jar in $out/share/safe-rebuild/app/*.jar; do
      appcp="''${appcp:+$appcp:}$jar"
    done
    makeWrapper ${jdk17}/bin/java $out/libexec/safe-rebuild/safe-rebuild-app \
      --add-flags "-Dsaferebuild.engine=$engine -cp $appcp org.saferebuild.app.Launcher" \
      --prefix LD_LIBRARY_PATH : ${lib.makeLibraryPath [ gtk3 glib libGL xorg.libXxf86vm xorg.libXtst ]}

    # The command line (docs/cli.md): the same engine, no JavaFX on its class path.
    install -d $out/share/safe-rebuild/cli
    install -m 0644 cli/target/safe-rebuild-cli.jar cli/target/lib/*.jar $out/share/safe-rebuild/cli/
    clicp=""
    for jar in $out/share/safe-rebuild/cli/*.jar; do
      clicp="''${clicp:+$clicp:}$jar"
    done
    makeWrapper ${jdk17}/bin/java $out/libexec/safe-rebuild/safe-rebuild-cli \
      --add-flags "-Dsaferebuild.engine=$engine -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp $clicp org.saferebuild.cli.Main"

    # safe-rebuild: the window without a command, the command line with one.
    substitute ${../safe-rebuild.in} $out/bin/safe-rebuild \
      --subst-var-by BASH ${bash}/bin/bash \
      --subst-var-by APP $out/libexec/safe-rebuild/safe-rebuild-app \
      --subst-var-by CLI $out/libexec/safe-rebuild/safe-rebuild-cli
    chmod 0555 $out/bin/safe-rebuild
    # A fixed path for other machines' ssh (docs/remote.md): /run/current-system/sw/bin/safe-rebuild-engine.
    # It only refuses when run by anyone but root; pkexec's policy still pins the libexec path.
    ln -s $engine $out/bin/safe-rebuild-engine

    install -m 0644 ${../safe-rebuild.desktop} $out/share/applications/safe-rebuild.desktop
    install -d $out/share/icons
    cp -r ${../../icons/hicolor} $out/share/icons/hicolor

    runHook postInstall
  '';

  meta = {
    description = "Safe, isolated NixOS rebuilds with sign-off, confirm-or-revert and one-click rollback";
    platforms = lib.platforms.linux;
    mainProgram = "safe-rebuild";
  };
}
