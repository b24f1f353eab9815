package io.quantbeam.pipelines.flink;

import com.fasterxml.jackson.databind.JsonNode;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.pipelines.CommandLine;
import io.quantbeam.pipelines.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * {@code quantbeam bench flink --slots=1,2,4 --model=... --tokenizer=... --calibrationData=...
 * [--maxExamples=2000] [--intraOpThreads=1] [quantize options]}: calibration examples/s on a local
 * Flink cluster at each parallelism, and the parallel efficiency.
 *
 * <p>Starts one cluster (1 JobManager, 1 TaskManager with max(slots) slots: the slots share one
 * model session), runs a small warm-up job, then {@code quantize} at each parallelism with the
 * same options, and stops the cluster. The rate is examples / the job's run time as the cluster
 * reports it (submission of the job jar excluded; the end-to-end time is printed as well).
 * Efficiency at p = rate(p) / (p x rate(1)); with {@code --intraOpThreads=1} (the default) each
 * slot uses one core, so on a C-core machine efficiency is bounded by min(p, C) / p.
 */
public final class FlinkScalingBenchmark {
  private FlinkScalingBenchmark() {}

  public static void main(String[] args) {
    try {
      run(Arrays.asList(args));
    } catch (QuantbeamException e) {
      System.err.println("error: " + e.getMessage());
      System.exit(1);
    }
  }

  /**
   * Options of {@code bench flink}; the others are quantize's, passed to each run. No annotated
   * defaults: flink start has a --slots and a --tmMemory with other defaults (see
   * {@link Commands#FLINK_BENCH}).
   */
  public interface FlinkBenchOptions extends PipelineOptions {
    @Description("Parallelisms to measure, a comma list; the TaskManager gets the largest as slots")
    List<Integer> getSlots();

    void setSlots(List<Integer> value);

    @Description("Process memory of the TaskManager")
    String getTmMemory();

    void setTmMemory(String value);
  }

  static void run(List<String> args) {
    FlinkBenchOptions options = Commands.FLINK_BENCH.parseOrExit(args);
    List<Integer> slots = options.getSlots();
    int maxSlots = slots.stream().mapToInt(Integer::intValue).max().orElse(1);
    // this command sets the output, parallelism and master of each run itself
    List<String> quantize = CommandLine.without(
        CommandLine.withDefaults(args, Commands.FLINK_BENCH.defaults()),
        "slots", "tmMemory", "output", "parallelism", "flinkMaster");
    Path root = FlinkCommand.repoRoot();
    Path work;
    try {
      work = Files.createTempDirectory("quantbeam-bench-flink-");
    } catch (IOException e) {
      throw new QuantbeamException("Cannot create a temporary folder: " + e, e);
    }
    FlinkCluster.Settings settings = FlinkCluster.Settings.defaults(root)
        .withRunDir(root.resolve("flink-conf/target/bench-cluster"))
        .withTaskManagers(1, maxSlots)
        .withPorts(FlinkCluster.freePort(), FlinkCluster.freePort())
        .withTaskManagerMemory(options.getTmMemory())
        .attached(true);
    int cores = Runtime.getRuntime().availableProcessors();
    try (FlinkCluster cluster = FlinkCluster.start(settings)) {
      System.out.printf(Locale.ROOT, "cluster: 1 TaskManager x %d slots, %d cores, web UI %s%n",
          maxSlots, cores, cluster.webUrl());
      long w0 = System.nanoTime();
      List<String> warm = CommandLine.without(quantize, "maxExamples");
      warm.add("--maxExamples=64");
      submit(cluster, warm, work.resolve("warmup"), 1);
      System.out.printf(Locale.ROOT, "warm-up job (64 examples): %.1f s%n",
          (System.nanoTime() - w0) / 1e9);
      Map<Integer, double[]> results = new LinkedHashMap<>();
      String sha = null;
      System.out.println(" slots | examples | job s | end-to-end s | examples/s | speedup |"
          + " efficiency | model sha256");
      for (int p : slots) {
        long t0 = System.nanoTime();
        JsonNode report = submit(cluster, quantize, work.resolve("p" + p), p);
        double wall = (System.nanoTime() - t0) / 1e9;
        double jobSeconds = FlinkClusterJobs.lastJobSeconds(cluster);
        long examples = report.path("calibration").path("examples").asLong();
        double rate = examples / jobSeconds;
        results.put(p, new double[] {rate});
        double base = results.values().iterator().next()[0] * slots.get(0);
        double speedup = rate / (base / slots.get(0));
        String modelSha = report.path("model").path("sha256").asText();
        System.out.printf(Locale.ROOT, " %5d | %8d | %5.1f | %12.1f | %10.1f | %7.2f | %10.2f | %s%s%n",
            p, examples, jobSeconds, wall, rate, speedup, speedup / p * slots.get(0),
            modelSha.substring(0, 16), sha == null || sha.equals(modelSha) ? "" : " DIFFERS");
        sha = sha == null ? modelSha : sha;
      }
    } finally {
      deleteQuietly(work);
    }
  }

  private static JsonNode submit(FlinkCluster cluster, List<String> quantize, Path out, int p) {
    List<String> a = new ArrayList<>(quantize);
    a.add("--output=" + out);
    a.add("--parallelism=" + p);
    a.add("--flinkMaster=" + cluster.restAddress());
    return FlinkSubmit.quantize(FlinkSubmit.withFlinkDefaults(a, cluster.restAddress()));
  }

  private static void deleteQuietly(Path dir) {
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException ignored) {
      // a temporary folder; best effort
    }
  }

  /** The cluster's view of its jobs. */
  static final class FlinkClusterJobs {
    private FlinkClusterJobs() {}

    /** Run time in seconds of the most recently started job. */
    static double lastJobSeconds(FlinkCluster cluster) {
      JsonNode last = null;
      for (JsonNode j : cluster.rest("/jobs/overview").path("jobs")) {
        if (last == null || j.path("start-time").asLong() > last.path("start-time").asLong()) {
          last = j;
        }
      }
      if (last == null) {
        throw new QuantbeamException("The cluster at " + cluster.restAddress() + " reports no job");
      }
      return last.path("duration").asLong() / 1000.0;
    }
  }
}
