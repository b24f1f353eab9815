package io.quantbeam.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quantbeam.core.QuantbeamException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code quantbeam bench memory --sizes=2000,20000 --output=DIR <quantize options>}: runs
 * {@code quantize} once per corpus size, each in a fresh JVM (peak RSS is per process), and
 * prints each run's peak RSS from its report and how much the largest differs from the smallest.
 * Calibration keeps nothing per example, so the figures should barely move.
 */
public final class MemoryBenchmark {
  private MemoryBenchmark() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    List<Integer> sizes = List.of(2000, 20000);
    String output = null;
    List<String> passThrough = new ArrayList<>();
    for (String a : args) {
      if (a.startsWith("--sizes=")) {
        sizes = Arrays.stream(a.substring(8).split(",")).map(String::trim)
            .map(Integer::valueOf).toList();
      } else if (a.startsWith("--output=")) {
        output = a.substring(9);
      } else if (!a.startsWith("--maxExamples=")) {
        passThrough.add(a);
      }
    }
    if (output == null) {
      throw new QuantbeamException("bench memory needs --output=DIR (one sub-folder per size)");
    }
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
