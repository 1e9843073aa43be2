package io.nashswarm.cli;

import io.nashswarm.EngineException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** Entry point: {@code nashswarm <command>}, in the spirit of llama.cpp's tools. */
@Command(name = "nashswarm",
        mixinStandardHelpOptions = true,
        version = "nashswarm 0.1.0",
        description = "Runs GPT-2 and LLaMA models on packed low-bit weights.",
        subcommands = {
                CommandLine.HelpCommand.class,
                PullCommand.class,
                InspectCommand.class,
                GenerateCommand.class,
                PerplexityCommand.class,
                BenchCommand.class,
                ExportCommand.class,
                QuantizeCommand.class,
                WeightStudyCommand.class,
                DistortionStudyCommand.class,
                CompareCommand.class,
        })
public final class Main implements Runnable {
    @Option(names = "--verbose", description = "Print stack traces of errors.", scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "a command is required");
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code; tests call this directly. */
    public static int run(String... args) {
        CommandLine cli = commandLine();
        return cli.execute(args);
    }

    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler(Main::handle);
        return cli;
    }

    /** Known user errors print one line; anything else is a bug and keeps its stack trace. */
    private static int handle(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        boolean verbose = parsed.hasMatchedOption("--verbose")
                || parsed.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"));
        Throwable t = e;
        while (!(t instanceof EngineException) && t.getCause() != null && t != t.getCause()) {
            t = t.getCause();
        }
        if (t instanceof EngineException) {
            err.println("error: " + t.getMessage());
            if (verbose) {
                e.printStackTrace(err);
            }
            err.flush();
            return 1;
        }
        if (t instanceof OutOfMemoryError) {
            err.println("error: out of memory (" + t.getMessage() + "); try a smaller --ctx or more -Xmx");
            err.flush();
            return 1;
        }
        err.println("internal error: " + e);
        e.printStackTrace(err);
        err.flush();
        return 2;
    }
}
