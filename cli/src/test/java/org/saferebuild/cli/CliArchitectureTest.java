package org.saferebuild.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The command line runs where no display is: it never touches JavaFX, and of the app it uses only
 * the engine launchers (app/launch), the client (app/client) and the log-line classifier the
 * wizard's checklist uses (app/log/LogLine); of the engine only its protocol package.
 */
class CliArchitectureTest {
    private final JavaClasses classes = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("org.saferebuild");

    @Test
    void theCommandLineNeverTouchesJavaFx() {
        noClasses().that().resideInAPackage("org.saferebuild.cli..")
                .should().dependOnClassesThat().resideInAnyPackage("javafx..", "org.controlsfx..", "org.fxmisc..",
                        "atlantafx..", "org.kordamp..")
                .check(classes);
    }

    @Test
    void whatItUsesOfTheAppHasNoJavaFxEither() {
        noClasses().that().resideInAnyPackage("org.saferebuild.app.launch..", "org.saferebuild.app.client..")
                .or().haveFullyQualifiedName("org.saferebuild.app.log.LogLine")
                .should().dependOnClassesThat().resideInAnyPackage("javafx..", "org.controlsfx..", "org.fxmisc..",
                        "atlantafx..", "org.kordamp..")
                .check(classes);
    }

    @Test
    void itUsesOnlyTheLaunchersTheClientAndTheProtocol() {
        classes().that().resideInAPackage("org.saferebuild.cli..")
                .should().onlyDependOnClassesThat(com.tngtech.archunit.base.DescribedPredicate.describe(
                        "the JDK, Jackson, the protocol, app/launch, app/client or app/log/LogLine",
                        c -> c.getPackageName().startsWith("java")
                                || c.getPackageName().startsWith("com.fasterxml.jackson")
                                || c.getPackageName().equals("org.saferebuild.protocol")
                                || c.getPackageName().equals("org.saferebuild.cli")
                                || c.getPackageName().equals("org.saferebuild.app.launch")
                                || c.getPackageName().equals("org.saferebuild.app.client")
                                || c.getName().startsWith("org.saferebuild.app.log.LogLine")))
                .check(classes);
    }
}
