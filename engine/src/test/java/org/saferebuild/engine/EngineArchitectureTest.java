package org.saferebuild.engine;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.AccessTarget;
import com.tngtech.archunit.core.domain.JavaAccess;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.io.File;
import java.io.FileOutputStream;
import java.io.FileWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.Set;
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

    /**
     * Ways to write, create, replace or remove a file. In the engine only {@code sys.SafeFiles} does
     * that (never through a link, exclusive create, fsync, rename within a directory it opened:
     * issue 11); the rest of this list is the allow-list, each with why.
     */
    private static final Map<Class<?>, Set<String>> WRITERS = Map.of(
            Files.class, Set.of("write", "writeString", "newOutputStream", "newBufferedWriter", "newByteChannel",
                    "createFile", "createTempFile", "createTempDirectory", "move", "copy", "createLink",
                    "createSymbolicLink", "createDirectory", "createDirectories", "delete", "deleteIfExists",
                    "setPosixFilePermissions", "setAttribute", "setOwner", "setLastModifiedTime"),
            FileChannel.class, Set.of("open"),
            AsynchronousFileChannel.class, Set.of("open"),
            File.class, Set.of("createNewFile", "createTempFile", "delete", "deleteOnExit", "mkdir", "mkdirs",
                    "renameTo", "setWritable", "setReadable", "setExecutable", "setLastModified"),
            FileOutputStream.class, Set.of("<init>"),
            RandomAccessFile.class, Set.of("<init>"),
            FileWriter.class, Set.of("<init>"),
            PrintWriter.class, Set.of("<init>"),
            PrintStream.class, Set.of("<init>"));

    /** Class → the write calls it may make, and why. */
    private static final Map<String, List<String>> ALLOWED = Map.of(
            "org.saferebuild.engine.sys.SafeFiles", List.of("*"), // the one writer
            "org.saferebuild.engine.sys.LibC", List.of("Files.createTempDirectory", "Files.deleteIfExists"),
            // JNA's native part is unpacked into a fresh 0700 directory with a random name, then removed
            "org.saferebuild.engine.Main", List.of("FileOutputStream.<init>", "PrintStream.<init>"),
            // FileDescriptor.out and .err: the protocol channel and the log, not files
            "org.saferebuild.engine.sandbox.WorkDirs", List.of("Files.createDirectory", "Files.setPosixFilePermissions",
                    "Files.delete"),
            // fresh private directories (mkdir fails on anything there, links included) and the
            // rmdir-style removal that refuses to cross into a mount; SymlinkRaceTest, SandboxSafetyTest
            "org.saferebuild.engine.system.SystemProfile", List.of("Files.createDirectories"),
            // the system profile's directory (nix's, not the engine's state), before nix-env runs
            "org.saferebuild.engine.system.VerifyService", List.of("RandomAccessFile.<init>"));
            // reads the tails of watched logs (mode "r")

    /**
     * The system calls that create, remove or mount, bound from the C library: only the one writer
     * and the code that builds a sandbox's root inside its namespace (a fresh tmpfs only that
     * namespace has, each entry made exclusively; docs/security.md) may call them.
     */
    @Test
    void onlySafeFilesAndTheSandboxRootCallTheWritingSystemCalls() {
        Set<String> writing = Set.of("mkdirat", "unlinkat", "renameat", "openat", "openat2", "pwrite", "ftruncate",
                "fallocate", "fchmod", "symlinkat", "mount", "umount2", "pivotRoot", "unshare", "setns", "chroot");
        noClasses().that().haveNameNotMatching("org\\.saferebuild\\.engine\\.(sys\\.(SafeFiles|LibC)"
                        + "|sandbox\\.(MountCalls|SandboxRoot))(\\$.*)?")
                .should().callMethodWhere(DescribedPredicate.describe("a writing system call of LibC or MountCalls",
                        call -> (call.getTargetOwner().getName().equals("org.saferebuild.engine.sys.LibC")
                                || call.getTargetOwner().getName().equals("org.saferebuild.engine.sandbox.MountCalls"))
                                && writing.contains(call.getName())))
                .because("files are written through SafeFiles; mounts are made only in a sandbox's own namespace")
                .check(engine);
    }

    @Test
    void onlySafeFilesWritesFiles() {
        com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes()
                .that().resideInAnyPackage("org.saferebuild.engine..", "org.saferebuild.protocol..")
                .should(writeOnlyThroughSafeFiles())
                .because("every file the engine writes goes through SafeFiles (issue 11); docs/security.md")
                .check(engine);
    }

    private static com.tngtech.archunit.lang.ArchCondition<com.tngtech.archunit.core.domain.JavaClass>
            writeOnlyThroughSafeFiles() {
        return new com.tngtech.archunit.lang.ArchCondition<>("write files only through SafeFiles or as allowed") {
            @Override
            public void check(com.tngtech.archunit.core.domain.JavaClass c,
                              com.tngtech.archunit.lang.ConditionEvents events) {
                String outer = c.getName().replaceAll("\\$.*", "");
                List<String> allowed = ALLOWED.getOrDefault(outer, List.of());
                for (JavaAccess<?> a : c.getAccessesFromSelf()) {
                    AccessTarget t = a.getTarget();
                    for (Map.Entry<Class<?>, Set<String>> w : WRITERS.entrySet()) {
                        if (t.getOwner().isEquivalentTo(w.getKey()) && w.getValue().contains(t.getName())) {
                            String call = w.getKey().getSimpleName() + "." + t.getName();
                            if (!allowed.contains("*") && !allowed.contains(call)) {
                                events.add(com.tngtech.archunit.lang.SimpleConditionEvent.violated(a,
                                        a.getDescription() + ": " + call + " outside SafeFiles"));
                            }
                        }
                    }
                }
            }
        };
    }
}
