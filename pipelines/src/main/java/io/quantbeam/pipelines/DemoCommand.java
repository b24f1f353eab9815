package io.quantbeam.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.datasets.DemoClassifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code quantbeam demo}: the whole mission on the bundled model and data, on DirectRunner. Builds
 * (or reads from its cache) the demo classifier, then runs {@code quantize} with validation on
 * SST-2 with the settings below, prints a short table and where the report is.
 *
 * <p>The demo settings keep the run within 15 minutes on 2 cores: the sensitivity ranking probes
 * every quantized node on 32 dev texts (not 128), the sweep is baseline + top-k (k = 1, 2) + one
 * block float at a time, latency is 3 rounds over 64 texts, and validation runs 2 shards on
 * 2 workers of 1 ONNX Runtime thread each (no oversubscription of 2 cores). The selection is
 * the smallest candidate that passes the accuracy criterion ({@code --speedTieTolerance=Infinity}):
 * the default rule would pick the same model unless another were shown faster call by call
 * (measured: the timing differences between these candidates are below the noise on a shared
 * 2-core machine, where the same pair swapped order by 15% between two runs), but only a choice
 * that timing cannot touch guarantees that a run and its restart write the same model byte for
 * byte ({@code .ci/restart-check}), and it saves the comparisons' time; latencies are still
 * measured and reported, and {@code ./quantbeam bench} measures the selected model properly.
 * Every option can be overridden: {@code ./quantbeam demo --sensitivitySamples=128}.
 */
public final class DemoCommand {
  /** Repository root: $QUANTBEAM_HOME (set by the launcher), else the working directory. */
  static Path root() {
    String home = System.getenv("QUANTBEAM_HOME");
    return Path.of(home != null && !home.isBlank() ? home : ".").toAbsolutePath().normalize();
  }

  private DemoCommand() {}

  /** The quantize options of the demo (model and tokenizer come from the classifier's cache). */
  static Map<String, String> defaults(Path root) {
    Map<String, String> o = new LinkedHashMap<>();
    Path data = root.resolve("datasets");
    o.put("calibrationData", data.resolve("sst2-glue-phrases/train.parquet").toString());
    o.put("maxExamples", "2000");
    o.put("validationData", data.resolve("sst2/dev.parquet").toString());
    o.put("labelColumn", "label");
    o.put("sweep", "baseline,topk,blocks");
    o.put("maxTopK", "2");
    o.put("sensitivitySamples", "32");
    o.put("validationShards", "2");
    o.put("latencyRounds", "3");
    o.put("latencyTexts", "64");
    o.put("speedTieTolerance", "Infinity");
    o.put("intraOpThreads", "1");
    o.put("targetParallelism", "2");
    o.put("output", root.resolve("target/demo").toString());
    return o;
  }

  /** The user's arguments, then the demo's defaults for the options they do not give. */
  static List<String> arguments(Map<String, String> defaults, String[] args) {
    return CommandLine.withDefaults(List.of(args), defaults);
  }

  public static void main(String[] args) {
    long t0 = System.nanoTime();
    Path root = root();
    if (Commands.demo(root).helpAsked(List.of(args))) {
      return; // before the classifier is built
    }
    Path datasets = root.resolve("datasets");
    if (!Files.isRegularFile(datasets.resolve("sst2/dev.parquet"))) {
      throw new QuantbeamException("No datasets/sst2/dev.parquet under " + root + ": run the demo"
          + " from the repository (./quantbeam demo), or set QUANTBEAM_HOME to it.");
    }
    try (Progress progress = Progress.start(t0)) {
      Path cache = DemoClassifier.defaultCache(datasets);
      progress.stage("1/2 demo classifier (all-MiniLM-L6-v2 + mean pooling + logistic-regression"
          + " head on SST-2 train; cached in " + cache + ")");
      boolean cached = Files.isRegularFile(cache.resolve(DemoClassifier.FILE))
          && Files.isRegularFile(cache.resolve(DemoClassifier.HEAD_FILE));
      if (!cached) {
        progress.note("first run: embedding 6,920 SST-2 train sentences in FP32 to fit the head"
            + " (about 2-3 minutes on 2 cores)");
      }
      DemoClassifier.Built built = DemoClassifier.build(cache, datasets);
      progress.note(String.format(Locale.ROOT, "%s (%.1f MB)%s", built.model(),
          sizeMb(built.model()), Double.isNaN(built.devAccuracy()) ? ", from the cache"
              : String.format(Locale.ROOT, ", FP32 SST-2 dev accuracy %.2f%%",
                  100 * built.devAccuracy())));

      Map<String, String> defaults = defaults(root);
      defaults.put("model", built.model().toString());
      defaults.put("tokenizer", built.tokenizer().toString());
      List<String> argv = arguments(defaults, args);
      progress.stage("2/2 quantize on DirectRunner: calibrate on 2,000 SST-2 train phrases,"
          + " rank node sensitivity, build candidates, validate FP32 and every candidate on the"
          + " 872 SST-2 dev sentences, time them, select");
      progress.note("./quantbeam quantize " + String.join(" ", argv));
      QuantizeOptions options = Commands.QUANTIZE.parse(List.of(
          LocalRunnerDefaults.withDefault(argv.toArray(String[]::new)))).orElseThrow();
      JsonNode report = QuantizePipeline.run(options);
      progress.close();
      System.out.println();
      System.out.println(summary(report, (System.nanoTime() - t0) / 1e9));
      Path out = Path.of(options.getOutput());
      System.out.println("Report: " + out.resolve(Validation.HTML_FILE) + " (and "
          + out.resolve(QuantizePipeline.REPORT_FILE) + "); model: "
          + report.path("model").path("path").asText());
      System.out.println("Next: ./quantbeam bench (FP32 vs this model vs ONNX Runtime's dynamic"
          + " quantization, same head, same process)");
      if (!report.path("passed").asBoolean(true)) {
        System.err.println("error: no candidate meets the accuracy criterion ("
            + report.path("criterion").asText() + ")");
        System.exit(QuantizePipeline.NO_CANDIDATE_PASSES);
      }
    }
  }

  /** FP32 and the selected candidate, side by side. */
  static String summary(JsonNode r, double seconds) {
    JsonNode fp32 = r.path("fp32");
    String selected = r.path("selected").path("name").asText();
    JsonNode sel = null;
    for (JsonNode c : r.path("candidates")) {
      if (c.path("name").asText().equals(selected)) {
        sel = c;
      }
    }
    StringBuilder t = new StringBuilder();
    t.append(String.format(Locale.ROOT, "Demo done in %.1f min. SST-2 dev, %d sentences:%n",
        seconds / 60, r.path("validation").path("examples").asLong()));
    t.append(String.format(Locale.ROOT, "  %-22s %9s %7s %10s %12s %8s %8s%n", "model",
        "accuracy", "drop", "agreement", "b32 p50 ms", "vs FP32", "MB"));
    t.append(String.format(Locale.ROOT, "  %-22s %8.2f%% %7s %10s %12.1f %8s %8.1f%n", "FP32",
        100 * fp32.path("accuracy").asDouble(), "", "",
        fp32.path("latencyMs").path("batch32").asDouble(), "1.00x",
        fp32.path("sizeBytes").asLong() / 1e6));
    if (sel != null) {
      t.append(String.format(Locale.ROOT, "  %-22s %8.2f%% %7.2f %9.2f%% %12.1f %7.2fx %8.1f%n",
          "INT8 " + selected, 100 * sel.path("accuracy").asDouble(),
          sel.path("accuracyDropPoints").asDouble(), 100 * sel.path("agreement").asDouble(),
          sel.path("latencyMs").path("batch32").asDouble(),
          sel.path("speedupBatch32").asDouble(), sel.path("sizeBytes").asLong() / 1e6));
    }
    t.append("  selection: ").append(r.path("selected").path("reason").asText());
    return t.toString();
  }

  private static double sizeMb(Path p) {
    try {
      return Files.size(p) / 1e6;
    } catch (java.io.IOException e) {
      return Double.NaN;
    }
  }

  /** Stage lines with elapsed time, and a heartbeat every 30 s while a stage runs. */
  static final class Progress implements AutoCloseable {
    private final long t0;
    private final Thread beat;
    private volatile String stage = "starting";
    private volatile boolean done;

    private Progress(long t0) {
      this.t0 = t0;
      this.beat = new Thread(() -> {
        while (!done) {
          try {
            Thread.sleep(30_000);
          } catch (InterruptedException e) {
            return;
          }
          if (!done) {
            System.out.printf(Locale.ROOT, "[demo %s] still running: %s%n", clock(),
                stage.replaceAll("[(:].*", "").trim());
          }
        }
      }, "demo-progress");
      beat.setDaemon(true);
      beat.start();
    }

    static Progress start(long t0) {
      return new Progress(t0);
    }

    void stage(String s) {
      stage = s;
      System.out.printf(Locale.ROOT, "[demo %s] %s%n", clock(), s);
    }

    void note(String s) {
      System.out.printf(Locale.ROOT, "[demo %s]   %s%n", clock(), s);
    }

    private String clock() {
      long s = (System.nanoTime() - t0) / 1_000_000_000L;
      return String.format(Locale.ROOT, "%02d:%02d", s / 60, s % 60);
    }

    @Override
    public void close() {
      done = true;
      beat.interrupt();
    }
  }
}
