package io.quantbeam.pipelines;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.pipelines.CommandLine.Command;
import io.quantbeam.pipelines.flink.FlinkScalingBenchmark;
import java.util.Arrays;
import java.util.List;

/** {@code quantbeam <command> [words] [--option=value ...]}: dispatches to a command. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0 || args[0].equals("help") || args[0].equals("--help")) {
      System.out.println(usage());
      return;
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    try {
      switch (args[0]) {
        case "quantize" -> QuantizePipeline.main(rest);
        case "drift" -> DriftPipeline.main(rest);
        case "registry" -> RegistryCommand.main(rest);
        case "demo" -> DemoCommand.main(rest);
        case "bench" -> bench(rest);
        default -> {
          System.err.println("unknown command '" + args[0] + "'; try: quantbeam help");
          System.exit(2);
        }
      }
    } catch (QuantbeamException e) {
      System.err.println("error: " + e.getMessage());
      System.exit(1);
    }
  }

  /** {@code bench [sst2|calibration|memory|flink] [--option=value ...]}. */
  private static void bench(String[] rest) throws Exception {
    List<String> words = CommandLine.words(rest);
    String[] options = words.isEmpty() ? rest : Arrays.copyOfRange(rest, 1, rest.length);
    switch (words.isEmpty() ? "sst2" : words.get(0)) {
      case "sst2" -> Sst2Benchmark.main(options);
      case "calibration" -> CalibrationBenchmark.main(options);
      case "memory" -> MemoryBenchmark.main(options);
      case "flink" -> FlinkScalingBenchmark.main(options);
      default -> {
        System.err.println("unknown bench '" + words.get(0) + "': use sst2 (the default),"
            + " calibration, memory or flink");
        System.exit(2);
      }
    }
  }

  /** Every command with its one-line summary, from {@link Commands}. */
  static String usage() {
    StringBuilder u = new StringBuilder("usage: quantbeam <command> [--option=value ...]\n"
        + "`quantbeam <command> --help` lists a command's options; docs/options.md all of them.\n"
        + "commands:\n");
    for (Command<?> c : Commands.all(DemoCommand.root())) {
      if (c.name().startsWith("quantbeam ")) {
        u.append("  ").append(c.name().substring("quantbeam ".length()))
            .append(c.usage().isEmpty() ? "" : " " + c.usage()).append('\n')
            .append(CommandLine.wrap(c.summary(), "      ", 96));
      }
    }
    return u.append("Beam options (--runner, --targetParallelism, ...) pass through; DirectRunner"
        + " is the default.").toString();
  }
}
