package org.saferebuild.engine;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** STYLE.md's rules for the privileged side, checked on the compiled engine. */
class EngineArchitectureTest {
    private final JavaClasses engine = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("org.saferebuild");

    @Test
    void onlyExecStartsProcesses() {
        noClasses().that().doNotHaveFullyQualifiedName("org.saferebuild.engine.proc.Exec")
                .and().resideOutsideOfPackage("org.saferebuild.app..")
                .should().accessClassesThat().haveFullyQualifiedName("java.lang.ProcessBuilder")
                .orShould().callMethodWhere(DescribedPredicate.describe("Runtime.exec",
                        call -> call.getTargetOwner().isEquivalentTo(Runtime.class) && call.getName().equals("exec")))
                .because("one class starts processes: argv lists, absolute tools, cleared environment, timeouts")
                .check(engine);
    }

    @Test
    void theEngineCoreDoesNotDependOnTheDemo() {
        noClasses().that().resideInAnyPackage("org.saferebuild.engine..", "org.saferebuild.protocol..")
                .should().dependOnClassesThat().resideInAPackage("org.saferebuild.demo..")
                .check(engine);
    }

    @Test
    void loggingIsSlf4jOnly() {
        noClasses().that().resideInAnyPackage("org.saferebuild.engine..", "org.saferebuild.protocol..")
                .should().accessField(System.class, "out")
                .because("stdout is the protocol channel")
                .check(engine);
    }
}
