package org.saferebuild.engine.preflight;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a configuration says about itself, as the Target screen shows it. */
class ConfigCatalogTest {

    @Test
    void theFlakesDescriptionAndTheFirstParagraphOfTheLeadingComment(@TempDir Path dir) throws Exception {
        Path flake = Files.writeString(dir.resolve("flake.nix"), "{\n  description = \"Bear's \\\"iMac\\\"\";\n"
                + "  outputs = { self }: { };\n}\n");
        Path conf = Files.writeString(dir.resolve("configuration.nix"), "# The iMac in the hive:\n# chakras and the"
                + " translator.\n#\n# Second paragraph, not shown.\n{ ... }: { }\n");
        assertThat(ConfigCatalog.description(flake)).isEqualTo("Bear's \"iMac\"");
        assertThat(ConfigCatalog.leadingComment(conf)).isEqualTo("The iMac in the hive: chakras and the translator.");
    }

    @Test
    void nixosGenerateConfigsTemplateSaysNothingAboutTheConfiguration(@TempDir Path dir) throws Exception {
        Path conf = Files.writeString(dir.resolve("configuration.nix"), "# Edit this configuration file to define what"
                + " should be installed on\n# your system.  Help is available in the configuration.nix(5) man page\n"
                + "{ config, pkgs, ... }:\n{ }\n");
        assertThat(ConfigCatalog.leadingComment(conf)).isNull();
        assertThat(ConfigCatalog.description(dir.resolve("flake.nix"))).as("no flake").isNull();
    }
}
