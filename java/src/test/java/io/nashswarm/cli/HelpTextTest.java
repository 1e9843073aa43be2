package io.nashswarm.cli;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Renders the help of every command and subcommand as a user asks for it ({@code CMD --help} and
 * {@code help CMD}); picocli reports descriptions it cannot format (an unescaped {@code %}) as
 * {@code [picocli WARN]} lines on System.err, which CliRun captures.
 */
class HelpTextTest {
    static void collect(CommandLine cmd, List<String> path, List<List<String>> out) {
        out.add(path);
        for (var e : cmd.getSubcommands().entrySet()) {
            if (!e.getKey().equals(e.getValue().getCommandName())) {
                continue; // an alias: the same command again
            }
            List<String> sub = new ArrayList<>(path);
            sub.add(e.getKey());
            collect(e.getValue(), sub, out);
        }
    }

    @TestFactory
    Stream<DynamicTest> everyCommandsHelpRendersWithoutWarnings() {
        List<List<String>> paths = new ArrayList<>();
        collect(Main.commandLine(), List.of(), paths);
        assertTrue(paths.size() > 8, "commands found: " + paths);
        return paths.stream().flatMap(path -> {
            List<String> asOption = new ArrayList<>(path);
            asOption.add("--help");
            Stream<List<String>> forms = Stream.of(asOption);
            if (path.size() == 1 && !path.get(0).equals("help")) {
                forms = Stream.concat(forms, Stream.of(List.of("help", path.get(0))));
            }
            return forms.map(args -> DynamicTest.dynamicTest(String.join(" ", args), () -> {
                CliRun.Result r = CliRun.run(args.toArray(String[]::new));
                assertEquals(0, r.code(), "exit code; stderr:\n" + r.err());
                assertTrue(r.out().contains("Usage: nashswarm"), "usage on stdout:\n" + r.out());
                assertFalse(r.err().contains("picocli WARN") || r.out().contains("picocli WARN"),
                        "picocli warnings:\n" + r.err() + r.out());
                assertFalse(r.out().contains("%n") || r.out().matches("(?s).*%[^%\\s].*"),
                        "an unrendered format specifier:\n" + r.out());
            }));
        });
    }
}
