package org.saferebuild.app.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.saferebuild.protocol.Json;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The desktop and NixOS packaging (issue 6): the Nix files parse and the module and package
 * evaluate (with stand-ins for nixpkgs, which this machine does not have); the polkit policy,
 * the desktop entry, the icons and the engine wrapper template say what docs/install.md says.
 */
class PackagingTest {
    private static final Path REPO = repo();

    @Test
    @Tag("nix")
    void everyNixFileParses() throws Exception {
        List<Path> files = new ArrayList<>(List.of(REPO.resolve("flake.nix")));
        try (Stream<Path> s = Files.list(REPO.resolve("packaging/nix"))) {
            s.filter(p -> p.toString().endsWith(".nix")).sorted().forEach(files::add);
        }
        assertThat(files).extracting(p -> p.getFileName().toString()).contains("flake.nix", "package.nix", "module.nix");
        for (Path f : files) {
            Result r = run(List.of("nix-instantiate", "--parse", f.toString()));
            assertThat(r.exit).as("nix-instantiate --parse %s:\n%s", f, r.output).isZero();
        }
    }

    @Test
    @Tag("nix")
    void theModuleAndThePackageEvaluateWithStandInsForNixpkgs() throws Exception {
        Path expr = Files.createTempFile("safe-rebuild-eval-", ".nix");
        try {
            Files.writeString(expr, """
                    let
                      lib = {
                        mkEnableOption = d: { _type = "option"; description = "Whether to enable ${d}."; };
                        mkOption = o: o // { _type = "option"; };
                        mkIf = condition: content: { _type = "if"; inherit condition content; };
                        mkDefault = v: v;
                        literalExpression = t: { _type = "literalExpression"; text = t; };
                        types.package = "package";
                        cleanSource = p: p;
                        fakeHash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
                        makeLibraryPath = ps: builtins.concatStringsSep ":" (map (p: p + "/lib") ps);
                        platforms.linux = [ "x86_64-linux" ];
                      };
                      pkgs = {
                        formats.json = {}: { type = "json"; generate = name: value: "/nix/store/e-${name}"; };
                        callPackage = f: args: "package";
                      };
                      m = import REPO/packaging/nix/module.nix {
                        config.programs.safe-rebuild = { enable = true; package = "PKG"; settings = { }; };
                        inherit lib pkgs;
                      };
                      p = import REPO/packaging/nix/package.nix {
                        inherit lib; maven.buildMavenPackage = a: a; jdk17 = "/JDK"; makeWrapper = "MW";
                        bash = "/BASH"; coreutils = "/CU"; gtk3 = "/GTK"; glib = "/GLIB"; libGL = "/GL";
                        xorg = { libXxf86vm = "/XXF"; libXtst = "/XTST"; };
                      };
                    in {
                      options = builtins.attrNames m.options.programs.safe-rebuild;
                      condition = m.config.condition;
                      polkit = m.config.content.security.polkit.enable;
                      packages = m.config.content.environment.systemPackages;
                      etc = m.config.content.environment.etc."safe-rebuild/engine.json".source;
                      tmpfiles = m.config.content.systemd.tmpfiles.rules;
                      pname = p.pname;
                      mvnParameters = p.mvnParameters;
                      install = p.installPhase;
                    }
                    """.replace("REPO", REPO.toString()));
            // --readonly-mode: paths in strings get their store names without being copied.
            Result r = run(List.of("nix-instantiate", "--readonly-mode", "--eval", "--strict", "--json", expr.toString()));
            assertThat(r.exit).as(r.output).isZero();
            @SuppressWarnings("unchecked")
            Map<String, Object> v = Json.mapper().readValue(r.output.lines().reduce((a, b) -> b).orElseThrow(), Map.class);
            assertThat(v.get("options")).isEqualTo(List.of("enable", "package", "settings"));
            assertThat(v).containsEntry("condition", true).containsEntry("polkit", true)
                    .containsEntry("packages", List.of("PKG")).containsEntry("pname", "safe-rebuild")
                    .containsEntry("mvnParameters", "-DskipTests")
                    .containsEntry("etc", "/nix/store/e-safe-rebuild-engine.json");
            assertThat(v.get("tmpfiles")).asList().contains("d /var/lib/safe-rebuild 0700 root root -",
                    "d /var/log/safe-rebuild 0700 root root -");
            String install = (String) v.get("install");
            assertThat(install).contains("-safe-rebuild-engine.in $engine")
                    .contains("--subst-var-by BASH /BASH/bin/bash").contains("--subst-var-by ENV /CU/bin/env")
                    .contains("--subst-var-by JAVA /JDK/bin/java")
                    .contains("-org.saferebuild.engine.policy.in").contains("--subst-var-by ENGINE $engine")
                    .contains("-Dsaferebuild.engine=$engine")
                    .contains("$out/share/applications/safe-rebuild.desktop").contains("-hicolor $out/share/icons/hicolor");
        } finally {
            Files.deleteIfExists(expr);
        }
    }

    @Test
    void thePolicyHasOneActionPinnedToTheEngineWithAdminAuthentication() throws Exception {
        Document d = xml(REPO.resolve("packaging/org.saferebuild.engine.policy.in"));
        NodeList actions = d.getElementsByTagName("action");
        assertThat(actions.getLength()).isOne();
        Element action = (Element) actions.item(0);
        assertThat(action.getAttribute("id")).isEqualTo("org.saferebuild.engine");
        assertThat(text(action, "allow_any")).isEqualTo("auth_admin");
        assertThat(text(action, "allow_inactive")).isEqualTo("auth_admin");
        assertThat(text(action, "allow_active")).isEqualTo("auth_admin_keep");
        Map<String, String> annotations = new LinkedHashMap<>();
        NodeList an = action.getElementsByTagName("annotate");
        for (int i = 0; i < an.getLength(); i++) {
            Element a = (Element) an.item(i);
            annotations.put(a.getAttribute("key"), a.getTextContent());
        }
        assertThat(annotations).containsExactly(Map.entry("org.freedesktop.policykit.exec.path", "@ENGINE@"));
        assertThat(Files.readString(REPO.resolve("packaging/org.saferebuild.engine.policy.in")))
                .contains("auth_admin_keep").contains("pins that exact path");
    }

    @Test
    void theDesktopEntryStartsTheAppWithItsIcon() throws Exception {
        Map<String, String> entry = new LinkedHashMap<>();
        List<String> lines = Files.readAllLines(REPO.resolve("packaging/safe-rebuild.desktop"));
        assertThat(lines.get(0)).isEqualTo("[Desktop Entry]");
        for (String l : lines.subList(1, lines.size())) {
            if (!l.isBlank() && !l.startsWith("#")) {
                assertThat(l).as("key=value line").contains("=");
                assertThat(entry.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1)))
                        .as("duplicate key in %s", l).isNull();
            }
        }
        assertThat(entry).containsEntry("Type", "Application").containsEntry("Name", "Safe Rebuild")
                .containsEntry("Exec", "safe-rebuild").containsEntry("Icon", "safe-rebuild")
                .containsEntry("Terminal", "false");
        assertThat(entry.get("Categories")).startsWith("System;").endsWith(";");
        assertThat(entry.get("Keywords")).endsWith(";");
    }

    @Test
    void theIconIsAnSvgWithPngsOfEveryDesktopSize() throws Exception {
        Document svg = xml(REPO.resolve("icons/safe-rebuild.svg"));
        assertThat(svg.getDocumentElement().getTagName()).isEqualTo("svg");
        assertThat(svg.getDocumentElement().getAttribute("viewBox")).isEqualTo("0 0 256 256");
        assertThat(Files.mismatch(REPO.resolve("icons/safe-rebuild.svg"),
                REPO.resolve("icons/hicolor/scalable/apps/safe-rebuild.svg"))).isEqualTo(-1L);
        for (int size : new int[] {16, 24, 32, 48, 64, 128, 256, 512}) {
            Path png = REPO.resolve("icons/hicolor/" + size + "x" + size + "/apps/safe-rebuild.png");
            BufferedImage img = ImageIO.read(png.toFile());
            assertThat(img).as(png.toString()).isNotNull();
            assertThat(img.getWidth()).as(png.toString()).isEqualTo(size);
            assertThat(img.getHeight()).as(png.toString()).isEqualTo(size);
            assertThat(img.getColorModel().hasAlpha()).as("transparent corners").isTrue();
        }
    }

    @Test
    void theWrapperTemplateRunsPrivilegedBashClearsTheEnvironmentAndPinsTheClassPath() throws Exception {
        String t = Files.readString(REPO.resolve("packaging/safe-rebuild-engine.in"));
        assertThat(t.lines().findFirst().orElseThrow()).isEqualTo("#!@BASH@ -p");
        assertThat(t).contains("exec @ENV@ -i LANG=C.UTF-8 \"${pass[@]}\" @JAVA@ ")
                .contains("-cp @CLASSPATH@ org.saferebuild.engine.Main \"$@\"")
                .contains("umask 077").contains("cd / ||");
        Path copy = Files.createTempFile("safe-rebuild-engine-", ".sh");
        try {
            Files.writeString(copy, t.replace("@BASH@", "/bin/bash").replace("@ENV@", "/usr/bin/env")
                    .replace("@JAVA@", "/usr/bin/java").replace("@CLASSPATH@", "/x.jar"));
            Result r = run(List.of("/bin/bash", "-n", copy.toString()));
            assertThat(r.exit).as(r.output).isZero();
        } finally {
            Files.deleteIfExists(copy);
        }
    }

    // helpers

    private record Result(int exit, String output) {
    }

    private static Result run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }

    private static Document xml(Path file) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        // Never fetch the DTD the policy names: parse what is in the file only.
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        DocumentBuilder b = f.newDocumentBuilder();
        return b.parse(new ByteArrayInputStream(Files.readAllBytes(file)));
    }

    private static String text(Element parent, String tag) {
        return parent.getElementsByTagName(tag).item(0).getTextContent().strip();
    }

    private static Path repo() {
        Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("packaging/safe-rebuild-engine.in"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("repository not found above " + System.getProperty("user.dir"));
        }
        return p;
    }
}
