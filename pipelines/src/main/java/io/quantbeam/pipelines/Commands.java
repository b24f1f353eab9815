package io.quantbeam.pipelines;

import io.quantbeam.pipelines.CommandLine.Command;
import io.quantbeam.pipelines.flink.FlinkCommand;
import io.quantbeam.pipelines.flink.FlinkScalingBenchmark;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * Every command, its usage and its options interface: the source of {@code quantbeam help},
 * each command's {@code --help} and docs/options.md.
 */
public final class Commands {
  private Commands() {}

  public static final Command<QuantizeOptions> QUANTIZE = new Command<>("quantbeam quantize", "",
      "Calibrates on Parquet texts with Beam and writes model.int8.onnx, calibration.qbct and"
          + " report.json; with --validationData (and --labelColumn) also validates, sweeps"
          + " candidates, selects against --maxAccuracyDrop (exit code 3 when nothing passes)"
          + " and writes report.html.", QuantizeOptions.class);

  public static final Command<DriftOptions> DRIFT = new Command<>("quantbeam drift", "",
      "Checks a production sample against the registry's serving model; on drift recalibrates,"
          + " judges, and promotes only a better model.", DriftOptions.class);

  public static final Command<RegistryCommand.RegistryOptions> REGISTRY = new Command<>(
      "quantbeam registry", "register|list|rollback", "The versioned model registry by hand:"
          + " register a quantize run's model (--from) and make it current, list the versions,"
          + " or roll back to an earlier one (--to).", RegistryCommand.RegistryOptions.class);

  public static final Command<CalibrationBenchmark.CalibrationBenchOptions> CALIBRATION_BENCH =
      new Command<>("quantbeam bench calibration", "", "Calibration pipeline examples/s next to"
          + " plain FP32 inference of the same model, and peak RSS.",
          CalibrationBenchmark.CalibrationBenchOptions.class).withDefaults(Map.of("rounds", "3"));

  public static final Command<MemoryBenchmark.MemoryBenchOptions> MEMORY_BENCH = new Command<>(
      "quantbeam bench memory", "", "Peak RSS of quantize at each corpus size, each in a fresh JVM"
          + " (--maxExamples is set per run).", MemoryBenchmark.MemoryBenchOptions.class)
      .withDefaults(Map.of("sizes", "2000,20000"));

  public static final Command<FlinkScalingBenchmark.FlinkBenchOptions> FLINK_BENCH =
      new Command<>("quantbeam bench flink", "", "Calibration examples/s on a local Flink cluster"
          + " at each parallelism (--slots) and the parallel efficiency; the other options are"
          + " quantize's.", FlinkScalingBenchmark.FlinkBenchOptions.class)
          .withDefaults(ordered("slots", "1,2", "tmMemory", "3072m", "intraOpThreads", "1"))
          .lenient();

  public static final Command<FlinkCommand.FlinkStartOptions> FLINK_START = new Command<>(
      "quantbeam flink start", "", "Starts a local standalone Flink 1.19.3 cluster from"
          + " flink-conf/ (1 JobManager, --taskManagers TaskManagers).",
      FlinkCommand.FlinkStartOptions.class).withDefaults(Map.of("slots", "2"));

  public static final Command<PipelineOptions> FLINK_STATUS = new Command<>(
      "quantbeam flink status", "", "The local cluster's processes and what its REST API says.",
      null);

  public static final Command<PipelineOptions> FLINK_STOP = new Command<>("quantbeam flink stop",
      "", "Stops the local cluster's processes.", null);

  public static final Command<PipelineOptions> FLINK_SUBMIT = new Command<>(
      "quantbeam flink submit", "<command> [its options]", "Runs a command (e.g. quantize) on the"
          + " local cluster: adds --runner=FlinkRunner, --flinkMaster and --filesToStage (the"
          + " shaded jar) unless given, and checks the cluster and the jar first; Beam's"
          + " FlinkRunner options (--parallelism, ...) apply.", null);

  public static final Command<OpProfile.OpProfileOptions> OP_PROFILE = new Command<>(
      "java -cp pipelines/target/quantbeam-pipelines.jar io.quantbeam.pipelines.OpProfile",
      "TOKENIZER.json MODEL.onnx [MODEL.onnx ...]", "Where a model's time goes per op type, with"
          + " ONNX Runtime's profiler, on the first 320 SST-2 dev sentences.",
      OpProfile.OpProfileOptions.class);

  public static final Command<CompareRuns.CompareRunsOptions> COMPARE_RUNS = new Command<>(
      "java -cp pipelines/target/quantbeam-pipelines.jar io.quantbeam.pipelines.CompareRuns",
      "[OUTPUT_A OUTPUT_B]", "Compares two quantize output folders (models, table and"
          + " candidates byte for byte, report.json without timings); exit code 1 when they"
          + " differ.", CompareRuns.CompareRunsOptions.class);

  /** {@code demo}: quantize's options with the demo's settings under them. */
  public static Command<QuantizeOptions> demo(Path root) {
    return new Command<>("quantbeam demo", "", "The whole mission on the bundled MiniLM SST-2"
        + " classifier and data: calibrate, quantize, validate, sweep, select, report; every"
        + " quantize option can be given (--model and --tokenizer come from the demo"
        + " classifier's cache).", QuantizeOptions.class).withDefaults(DemoCommand.defaults(root));
  }

  /** {@code bench [sst2]}; paths default to the checkout's. */
  public static Command<Sst2Benchmark.Sst2BenchOptions> sst2Bench(Path root) {
    return new Command<>("quantbeam bench", "[sst2]", "SST-2 dev: FP32 vs the demo's INT8 model vs"
        + " ONNX Runtime's dynamic quantization (same head): accuracy, latency, sentences/s,"
        + " size, in one process.", Sst2Benchmark.Sst2BenchOptions.class)
        .withDefaults(Sst2Benchmark.defaults(root));
  }

  /** All of them, in the order {@code quantbeam help} and docs/options.md list them. */
  public static List<Command<?>> all(Path root) {
    return List.of(QUANTIZE, DRIFT, demo(root), REGISTRY, sst2Bench(root), CALIBRATION_BENCH,
        MEMORY_BENCH, FLINK_BENCH, FLINK_START, FLINK_STATUS, FLINK_STOP, FLINK_SUBMIT, OP_PROFILE,
        COMPARE_RUNS);
  }

  private static Map<String, String> ordered(String... kv) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }
}
