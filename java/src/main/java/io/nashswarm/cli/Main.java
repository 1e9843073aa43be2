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
        return execute(commandLine(), args);
    }

    /** Runs the CLI with its output and errors going to the given writers (the fuzzer runs many commands in one JVM this way). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = commandLine();
        cli.setOut(out);
        cli.setErr(err);
        return execute(cli, args);
    }

    /** picocli passes Errors through rather than to {@link #handle}; the one a user can cause is caught here. */
    private static int execute(CommandLine cli, String[] args) {
        try {
            return cli.execute(args);
        } catch (InternalError e) {
            if (!isMappingFault(e)) {
                throw e;
            }
            return mappingFault(e, cli.getErr(), cli.getParseResult(), java.util.Arrays.asList(args).contains("--verbose"));
        }
    }

    /** The JVM's answer to SIGBUS on a mapped page whose file was cut short: weights are read in place from the file. */
    private static boolean isMappingFault(Throwable t) {
        return t instanceof InternalError && String.valueOf(t.getMessage()).contains("unsafe memory access");
    }

    private static int mappingFault(Throwable e, PrintWriter err, CommandLine.ParseResult parsed, boolean verbose) {
        String model = parsed == null ? null : modelPath(parsed);
        err.println("error: " + (model == null ? "a model file" : model) + ": the file was truncated or changed while it was mapped "
                + "(weights are read in place from the file); run again once it is complete");
        if (verbose) {
            e.printStackTrace(err);
        }
        err.flush();
        return 1;
    }

    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler(Main::handle);
        return cli;
    }

    /** The {@code -m} of the command that ran, if it has one. */
    private static String modelPath(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--model")) {
                return String.valueOf(p.matchedOptionValue("--model", (Object) null));
            }
        }
        return null;
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
        Throwable fault = e;
        while (!isMappingFault(fault) && fault.getCause() != null && fault != fault.getCause()) {
            fault = fault.getCause();
        }
        if (isMappingFault(fault)) { // from a worker thread, wrapped
            return mappingFault(e, err, parsed, verbose);
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
