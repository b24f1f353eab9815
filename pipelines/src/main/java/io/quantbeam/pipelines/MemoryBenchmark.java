package io.quantbeam.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quantbeam.core.QuantbeamException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.beam.sdk.options.Description;

/**
 * {@code quantbeam bench memory --sizes=2000,20000 --output=DIR <quantize options>}: runs
 * {@code quantize} once per corpus size, each in a fresh JVM (peak RSS is per process), and
 * prints each run's peak RSS from its report and how much the largest differs from the smallest.
 * Calibration keeps nothing per example, so the figures should barely move.
 */
public final class MemoryBenchmark {
  private MemoryBenchmark() {}

  /** Options of {@code bench memory}: quantize's (passed to each run), and the corpus sizes. */
  public interface MemoryBenchOptions extends QuantizeOptions {
    @Description("Corpus sizes, a comma list: one quantize run with --maxExamples=N each, its"
        + " output in <output>/examples-N")
    List<Integer> getSizes();

    void setSizes(List<Integer> value);
  }

  public static void main(String[] args) throws IOException, InterruptedException {
    MemoryBenchOptions options = Commands.MEMORY_BENCH.parseOrExit(List.of(args));
    List<Integer> sizes = options.getSizes();
    String output = options.getOutput();
    // what this command sets per run, or consumes itself, is not passed on
    List<String> passThrough = CommandLine.without(List.of(args), "sizes", "output", "maxExamples");
    String java = ProcessHandle.current().info().command().orElse("java");
    List<double[]> rows = new ArrayList<>();
    for (int n : sizes) {
      Path out = Path.of(output, "examples-" + n);
      List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
          Main.class.getName(), "quantize"));
      cmd.addAll(passThrough);
      cmd.add("--maxExamples=" + n);
      cmd.add("--output=" + out);
      System.out.println("running: quantize --maxExamples=" + n + " --output=" + out);
      int rc = new ProcessBuilder(cmd).inheritIO().start().waitFor();
      if (rc != 0) {
        throw new QuantbeamException("quantize with --maxExamples=" + n + " failed (exit " + rc
            + "); see its output above");
      }
      JsonNode report = new ObjectMapper().readTree(out.resolve(QuantizePipeline.REPORT_FILE)
          .toFile());
      rows.add(new double[] {n, report.path("calibration").path("examples").asDouble(),
          report.path("process").path("peakRssMb").asDouble()});
    }
    System.out.println();
    System.out.println("| --maxExamples | examples calibrated | peak RSS (MB) |");
    System.out.println("| --- | --- | --- |");
    for (double[] r : rows) {
      System.out.printf(Locale.ROOT, "| %.0f | %.0f | %.0f |%n", r[0], r[1], r[2]);
    }
    double first = rows.get(0)[2];
    double last = rows.get(rows.size() - 1)[2];
    System.out.printf(Locale.ROOT, "peak RSS, largest vs smallest corpus: %+.1f%%%n",
        100 * (last - first) / first);
  }
}
