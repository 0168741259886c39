package org.saferebuild.app;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Layers (STYLE.md): the app uses the engine's protocol package and nothing else of the engine. */
class ArchitectureTest {
    private final JavaClasses classes = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("org.saferebuild");

    @Test
    void theAppUsesOnlyTheEnginesProtocolPackage() {
        noClasses().that().resideInAPackage("org.saferebuild.app..")
                .should().dependOnClassesThat().resideInAnyPackage("org.saferebuild.engine..", "org.saferebuild.demo..")
                .check(classes);
    }

    @Test
    void theEngineNeverImportsJavaFx() {
        noClasses().that().resideInAnyPackage("org.saferebuild.engine..", "org.saferebuild.protocol..")
                .should().dependOnClassesThat().resideInAnyPackage("javafx..", "org.saferebuild.app..")
                .check(classes);
    }

    @Test
    void theProtocolDependsOnNothingOfTheEngine() {
        noClasses().that().resideInAPackage("org.saferebuild.protocol..")
                .should().dependOnClassesThat().resideInAPackage("org.saferebuild.engine..")
                .check(classes);
    }
}
