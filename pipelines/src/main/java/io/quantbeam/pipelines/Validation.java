package io.quantbeam.pipelines;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.graph.GraphView;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.NodeDecision;
import io.quantbeam.core.quant.PredictedNoise;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.quant.QuantParams;
import io.quantbeam.core.report.HtmlReport;
import io.quantbeam.core.report.ValidationReport;
import io.quantbeam.core.report.ValidationReport.CandidateRow;
import io.quantbeam.core.report.ValidationReport.LatencyMs;
import io.quantbeam.core.report.ValidationReport.SensitivityRow;
import io.quantbeam.core.report.ValidationReport.TensorRow;
import io.quantbeam.core.stats.AbsHistogram;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.stats.Range;
import io.quantbeam.core.stats.RangeEstimator;
import io.quantbeam.core.stats.TensorStats;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.LabeledText;
import io.quantbeam.core.text.TextTokenizer;
import io.quantbeam.core.validate.Candidates;
import io.quantbeam.core.validate.Candidates.Candidate;
import io.quantbeam.core.validate.Criterion;
import io.quantbeam.core.validate.EvalAccumulator;
import io.quantbeam.core.validate.LatencyBench;
import io.quantbeam.core.validate.Selection;
import io.quantbeam.transforms.BuiltCandidate;
import io.quantbeam.transforms.Counters;
import io.quantbeam.transforms.QuantSettings;
import io.quantbeam.transforms.SharedFiles;
import io.quantbeam.transforms.WorkerFiles;
import io.quantbeam.transforms.ReadExamples;
import io.quantbeam.transforms.SampleExamples;
import io.quantbeam.transforms.ShardValidationData;
import io.quantbeam.transforms.ValidateCandidates;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.StreamSupport;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After calibration: the sensitivity ranking (on a sample), the candidates (from the cached
 * table), their validation against FP32 on the labeled set (a candidate x shard fan-out on Beam),
 * latency side by side in this process, the selection, and the report sections and report.html.
 */
final class Validation {
  static final String HTML_FILE = "report.html";
  static final String CANDIDATES_DIR = "candidates";
  static final String VALIDATION_OPTION = "--validationData";
  private static final Logger LOG = LoggerFactory.getLogger(Validation.class);
  private static final int LATENCY_BATCH = 32;
  /**
   * Calls per model (at least) when the selection times a challenger against the smallest: 30 and
   * more give the median a 95% interval narrower than the range ({@link LatencyBench#ratio}).
   */
  private static final int PAIRED_CALLS = 32;

  private Validation() {}

  /** Adds the validation sections to {@code report}; returns whether the selection passed. */
  static boolean run(QuantizeOptions o, QuantConfig config, String model, String tokenizer,
      PendingOutput out, JsonNode summary, CalibrationTable table, ObjectNode report)
      throws IOException {
    long start = System.nanoTime();
    Criterion criterion = Criterion.parse(o.getMaxAccuracyDrop());
    Set<Candidates.Kind> sweep = Candidates.Kind.setOf(o.getSweep());
    List<Set<String>> userSets = Candidates.parseSets(o.getExcludeSets());
    if (sweep.isEmpty()) {
      throw new QuantbeamException("--sweep is empty: name at least one part, e.g. --sweep=baseline");
    }
    if (o.getValidationShards() < 1 || o.getSensitivitySamples() < 1 || o.getLatencyTexts() < 1
        || o.getLatencyRounds() < 1 || o.getMaxTopK() < 1 || !(o.getSpeedTieTolerance() >= 0)) {
      throw new QuantbeamException("--validationShards, --sensitivitySamples, --latencyTexts,"
          + " --latencyRounds and --maxTopK must be >= 1, --speedTieTolerance >= 0");
    }
    ModelProto prepared = io.quantbeam.core.quant.QdqQuantizer.prepare(
        WorkerFiles.loadModel(model));
    checkNodes(new GraphView(prepared.getGraph()), userSets);
    List<NodeDecision> decisions = new ArrayList<>();
    for (JsonNode d : summary.path("decisions")) {
      decisions.add(new NodeDecision(d.path("node").asText(), d.path("opType").asText(),
          d.path("quantized").asBoolean(), d.path("detail").asText()));
    }
    String tablePath = out.file(io.quantbeam.core.Quantbeam.TABLE_FILE);
    ObjectMapper json = new ObjectMapper();

    // 1. sensitivity: one probe per quantized node, on a sample
    List<SensitivityRow> sensitivity = new ArrayList<>();
    List<String> ranking = new ArrayList<>();
    if (sweep.contains(Candidates.Kind.TOPK)) {
      Map<String, Candidate> probes = Candidates.singleNodeProbes(config, decisions);
      String probeDir = out.workFile("probes");
      Results r = evaluate(o, model, tokenizer, tablePath, probeDir,
          new ArrayList<>(probes.values()), out.workFile("sens"), true);
      Map<String, String> opTypes = new TreeMap<>();
      decisions.forEach(d -> opTypes.put(d.node(), d.opType()));
      List<SensitivityRow> rows = new ArrayList<>();
      for (Map.Entry<String, Candidate> e : probes.entrySet()) {
        EvalAccumulator a = r.metrics.get(e.getValue().name());
        if (a == null) {
          continue;
        }
        EvalAccumulator.Summary s = a.summary();
        rows.add(new SensitivityRow(0, e.getKey(), opTypes.get(e.getKey()),
            Candidates.block(e.getKey()), s.sqnrDb(), s.meanCosine(), s.agreement(),
            s.examples()));
      }
      rows.sort(Comparator.comparingDouble((SensitivityRow s) -> s.outputSqnrDb() == null
          ? Double.POSITIVE_INFINITY : s.outputSqnrDb()).thenComparing(SensitivityRow::node));
      for (int i = 0; i < rows.size(); i++) {
        SensitivityRow s = rows.get(i);
        sensitivity.add(new SensitivityRow(i + 1, s.node(), s.opType(), s.block(),
            s.outputSqnrDb(), s.outputMeanCosine(), s.agreement(), s.examples()));
        ranking.add(s.node());
      }
      LOG.info("sensitivity: {} nodes ranked; most sensitive first: {}", ranking.size(),
          ranking.subList(0, Math.min(5, ranking.size())));
    }

    // 2. candidates and their validation
    List<Candidate> candidates = Candidates.build(config, decisions, sweep, userSets, ranking,
        o.getMaxTopK());
    if (candidates.isEmpty()) {
      throw new QuantbeamException("The sweep --sweep=" + Candidates.Kind.text(o.getSweep())
          + " gives no candidate (no --excludeSets for 'user'?). Add 'baseline'.");
    }
    LOG.info("validating {} candidates: {}", candidates.size(),
        candidates.stream().map(Candidate::name).toList());
    Results r = evaluate(o, model, tokenizer, tablePath, out.file(CANDIDATES_DIR), candidates,
        out.workFile("val"), false);
    EvalAccumulator fp32Acc = r.metrics.get(ValidateCandidates.FP32);
    if (fp32Acc == null || fp32Acc.examples() == 0) {
      throw new QuantbeamException("No usable validation text in " + o.getValidationData() + ": "
          + r.counters.getOrDefault(Counters.ROWS_READ, 0L) + " rows read, "
          + r.counters.getOrDefault(Counters.SKIPPED_EMPTY, 0L) + " empty, "
          + r.counters.getOrDefault(Counters.SKIPPED_UNDECODABLE, 0L) + " not UTF-8.");
    }
    EvalAccumulator.Summary fp32 = fp32Acc.summary();
    if (fp32.labeled() == 0) {
      LOG.warn("No labels in {} (--labelColumn={}): candidates are judged by {} with FP32",
          o.getValidationData(), o.getLabelColumn(), fp32.agreement() != null ? "agreement"
              : "mean cosine of outputs");
    }

    // 3. latency, side by side in this process
    Map<String, Path> timed = new LinkedHashMap<>();
    Map<String, String> sameAs = new TreeMap<>();
    Map<String, String> bySha = new TreeMap<>();
    // models on another file system are timed from copies in a temporary folder of the driver
    Path localCopies = SharedFiles.isLocal(model) && SharedFiles.isLocal(out.pending()) ? null
        : Files.createTempDirectory("quantbeam-latency-");
    List<EncodedBatch> singles = new ArrayList<>();
    List<EncodedBatch> batches = new ArrayList<>();
    Map<String, LatencyBench.Latency> latency;
    try {
      timed.put(ValidateCandidates.FP32, local(model, localCopies, "fp32.onnx"));
      for (BuiltCandidate b : r.built.values()) {
        if (b.path() == null) {
          continue;
        }
        String first = bySha.putIfAbsent(b.sha256(), b.name());
        if (first == null) {
          timed.put(b.name(), local(b.path(), localCopies, b.name() + ".onnx"));
        } else {
          sameAs.put(b.name(), first);
        }
      }
      try (TextTokenizer tok = WorkerFiles.loadTokenizer(tokenizer, o.getMaxSequenceLength())) {
        List<String> texts = r.latencyTexts;
        for (int i = 0; i < texts.size(); i += LATENCY_BATCH) {
          batches.add(tok.encode(texts.subList(i, Math.min(texts.size(), i + LATENCY_BATCH))));
        }
        for (String t : texts.subList(0, Math.min(LATENCY_BATCH, texts.size()))) {
          singles.add(tok.encode(List.of(t)));
        }
      }
      LOG.info("latency: {} models, {} rounds, {} calls at batch 1 and {} at batch {}",
          timed.size(), o.getLatencyRounds(), singles.size(), batches.size(), LATENCY_BATCH);
      latency = LatencyBench.measure(timed, singles, batches, o.getIntraOpThreads(),
          o.getLatencyRounds());
    } catch (IOException | RuntimeException e) {
      deleteCopies(localCopies);
      throw e;
    }
    sameAs.forEach((name, first) -> latency.put(name, latency.get(first)));

    // 4. selection: the smallest passing candidate, unless another is shown faster call by call
    double fp32Score = score(fp32);
    List<Selection.Scored> scored = new ArrayList<>();
    for (Candidate c : candidates) {
      BuiltCandidate b = r.built.get(c.name());
      EvalAccumulator a = r.metrics.get(c.name());
      if (b == null || b.path() == null || a == null) {
        continue;
      }
      scored.add(new Selection.Scored(c.name(), score(a.summary()),
          latency.get(c.name()).batch32P50(), b.sizeBytes()));
    }
    if (scored.isEmpty()) {
      throw new QuantbeamException("No candidate could be built: "
          + r.built.values().stream().map(b -> b.name() + ": " + b.error()).toList());
    }
    int passes = (PAIRED_CALLS + batches.size() - 1) / batches.size();
    Selection.PairedTiming paired = (c, smallest) -> {
      LOG.info("selection: {} against {} call by call, {} calls of up to {} texts each",
          c.name(), smallest.name(), passes * batches.size(), LATENCY_BATCH);
      // the timed copies: the same files, local even when the candidates are not
      return LatencyBench.paired(timed.get(sameAs.getOrDefault(c.name(), c.name())),
          timed.get(sameAs.getOrDefault(smallest.name(), smallest.name())), batches, passes,
          Selection.CONFIDENCE);
    };
    Selection.Choice choice;
    try {
      choice = Selection.select(scored, fp32Score, criterion, o.getSpeedTieTolerance(), paired);
    } finally {
      deleteCopies(localCopies);
    }
    for (Selection.Comparison c : choice.comparisons()) {
      LOG.info(String.format(Locale.ROOT, "selection: %s / %s time ratio %.3f (%.1f%% interval"
          + " %.3f to %.3f): %s", c.candidate(), c.against(), c.ratio().median(),
          100 * c.ratio().coverage(), c.ratio().lower(), c.ratio().upper(), c.faster()
              ? "shown faster" : "not shown faster"));
    }
    BuiltCandidate chosen = r.built.get(choice.name());
    String finalModel = out.file(io.quantbeam.core.Quantbeam.MODEL_FILE);
    SharedFiles.copy(chosen.path(), finalModel);
    String finalSha = WorkerFiles.sha256(finalModel);

    // 5. report
    LatencyBench.Latency fl = latency.get(ValidateCandidates.FP32);
    List<CandidateRow> rows = new ArrayList<>();
    for (Candidate c : candidates) {
      BuiltCandidate b = r.built.get(c.name());
      if (b == null) {
        continue;
      }
      EvalAccumulator a = r.metrics.get(c.name());
      EvalAccumulator.Summary s = a == null ? null : a.summary();
      LatencyBench.Latency l = latency.get(c.name());
      Double acc = s == null ? null : s.accuracy();
      Double drop = s == null ? null : Criterion.dropPoints(fp32Score, score(s));
      boolean passed = s != null && b.path() != null && criterion.passes(fp32Score, score(s));
      rows.add(new CandidateRow(c.name(), c.kind().name(), List.copyOf(c.config().excludeNodes()),
          acc, s == null ? null : s.agreement(), drop, b.sizeBytes(), ms(l),
          l == null ? null : fl.batch1P50() / l.batch1P50(),
          l == null ? null : fl.batch32P50() / l.batch32P50(), passed,
          c.name().equals(choice.name()), b.path(), b.sha256(), b.quantizedNodes(),
          describe(c.config()), s, b.error()));
    }
    ValidationReport vr = new ValidationReport(SharedFiles.resource(model).getFilename(),
        o.getValidationData() + " (" + fp32.examples() + " texts, " + fp32.labeled()
            + " labeled)", criterion.toString() + (fp32.labeled() > 0 ? " of accuracy"
            : fp32.agreement() != null ? " of agreement with FP32 (no labels)"
                : " of mean output cosine vs FP32 (no labels, no logits)"),
        new ValidationReport.Fp32(model, WorkerFiles.sha256(model), fp32.accuracy(),
            ms(fl), SharedFiles.metadata(model).sizeBytes(), fp32),
        rows, new ValidationReport.Selected(choice.name(), finalModel, finalSha,
            choice.passed(), choice.reason(), choice.rule(), choice.comparisons()),
        sensitivity, tensorRows(table, config),
        new ValidationReport.Latency(o.getIntraOpThreads(), o.getLatencyRounds(), singles.size(),
            batches.size(), String.format(Locale.ROOT, "FP32 and %d distinct candidate models in"
                + " this process, %s intra-op threads, interleaved over %d rounds after a"
                + " warm-up; %d single-text calls and %d calls of %d texts per model per round;"
                + " p50/p95 per call", timed.size() - 1, o.getIntraOpThreads() == 0
                    ? "ONNX Runtime's default" : Integer.toString(o.getIntraOpThreads()),
                o.getLatencyRounds(), singles.size(), batches.size(), LATENCY_BATCH)));

    JsonNode tree = json.valueToTree(vr);
    report.put("criterion", vr.criterion());
    ObjectNode v = report.putObject("validation");
    v.put("data", o.getValidationData());
    v.put("labelColumn", o.getLabelColumn());
    v.put("examples", fp32.examples());
    v.put("labeled", fp32.labeled());
    v.put("unusableLabels", fp32.unusableLabels());
    v.put("rowsRead", r.counters.getOrDefault(Counters.ROWS_READ, 0L));
    v.put("skippedEmptyText", r.counters.getOrDefault(Counters.SKIPPED_EMPTY, 0L));
    v.put("skippedUndecodableText", r.counters.getOrDefault(Counters.SKIPPED_UNDECODABLE, 0L));
    v.put("shards", o.getValidationShards());
    v.put("sweep", Candidates.Kind.text(o.getSweep()));
    v.put("seconds", (System.nanoTime() - start) / 1e9);
    report.set("fp32", tree.get("fp32"));
    report.set("candidates", tree.get("candidates"));
    report.set("selected", tree.get("selected"));
    report.set("latencySetup", tree.get("latencySetup"));
    report.set("sensitivity", tree.get("sensitivity"));
    report.set("tensors", tree.get("tensors"));
    ObjectNode m = (ObjectNode) report.path("model");
    m.put("path", finalModel);
    m.put("sha256", finalSha);
    m.put("sizeBytes", SharedFiles.metadata(finalModel).sizeBytes());
    m.put("candidate", choice.name());
    for (Candidate c : candidates) {
      if (c.name().equals(choice.name())) {
        ArrayNode args = m.putArray("quantizeArgs");
        QuantizePipeline.quantizeArgs(c.config(), o).forEach(args::add);
      }
    }
    SharedFiles.writeAtomically(out.file(HTML_FILE),
        HtmlReport.render(vr).getBytes(StandardCharsets.UTF_8));
    System.out.println(table(vr));
    return choice.passed();
  }

  /** What the criterion judges: accuracy; without labels agreement; without logits cosine. */
  static double score(EvalAccumulator.Summary s) {
    if (s.accuracy() != null) {
      return s.accuracy();
    }
    return s.agreement() != null ? s.agreement() : s.meanCosine();
  }

  private static LatencyMs ms(LatencyBench.Latency l) {
    return l == null ? null : new LatencyMs(l.batch1P50(), l.batch32P50(), l.batch1P95(),
        l.batch32P95());
  }

  private static String describe(QuantConfig c) {
    return String.format(Locale.ROOT, "%s, %s, %s%s, activations %s, weights %s",
        c.calibration().method().name().toLowerCase(Locale.ROOT),
        c.perChannel() ? "per-channel" : "per-tensor", c.reduceRange() ? "reduced range, " : "",
        c.symmetricActivations() ? "symmetric" : "asymmetric", c.activationType(),
        c.weightType());
  }

  private static void checkNodes(GraphView view, List<Set<String>> sets) {
    Set<String> unknown = new TreeSet<>();
    sets.forEach(s -> s.stream().filter(n -> view.node(n) == null).forEach(unknown::add));
    if (!unknown.isEmpty()) {
      throw new QuantbeamException("--excludeSets names node(s) not in the model: " + unknown
          + ". Use node names as listed under \"decisions\" in report.json (sets separated by"
          + " ';', names by ',').");
    }
  }

  /** The plain-text candidate table (also printed at the end of a run). */
  static String table(ValidationReport r) {
    StringBuilder t = new StringBuilder();
    t.append(String.format(Locale.ROOT, "%-28s %9s %7s %9s %10s %10s %8s %8s %8s %5s%n", "model",
        "accuracy", "drop", "agreement", "b1 p50 ms", "b32 p50 ms", "b1 x", "b32 x", "MB",
        "pass"));
    var f = r.fp32();
    t.append(String.format(Locale.ROOT, "%-28s %9s %7s %9s %10.2f %10.1f %8s %8s %8.1f %5s%n",
        "FP32", pct(f.accuracy()), "", "", f.latencyMs().batch1(), f.latencyMs().batch32(),
        "1.00x", "1.00x", f.sizeBytes() / 1e6, ""));
    for (CandidateRow c : r.candidates()) {
      if (c.error() != null) {
        t.append(String.format(Locale.ROOT, "%-28s not built: %s%n", c.name(), c.error()));
        continue;
      }
      t.append(String.format(Locale.ROOT, "%-28s %9s %7s %9s %10.2f %10.1f %7.2fx %7.2fx %8.1f %5s%n",
          c.name() + (c.selected() ? " *" : ""), pct(c.accuracy()),
          c.accuracyDropPoints() == null ? "" : String.format(Locale.ROOT, "%.2f",
              c.accuracyDropPoints()), pct(c.agreement()), c.latencyMs().batch1(),
          c.latencyMs().batch32(), c.speedupBatch1(), c.speedupBatch32(), c.sizeBytes() / 1e6,
          c.passed() ? "yes" : "no"));
    }
    t.append(r.selected().passed() ? "selected: " : "NO CANDIDATE PASSES; written anyway: ")
        .append(r.selected().name()).append(" (").append(r.selected().reason()).append(")");
    return t.toString();
  }

  private static String pct(Double v) {
    return v == null ? "" : String.format(Locale.ROOT, "%.2f%%", 100 * v);
  }

  /** Per-tensor rows for the histograms: calibration range, chosen range, predicted SQNR. */
  static List<TensorRow> tensorRows(CalibrationTable table, QuantConfig config) {
    List<TensorRow> rows = new ArrayList<>();
    for (Map.Entry<String, TensorStats> e : table.tensors().entrySet()) {
      TensorStats s = e.getValue();
      long bad = s.nanCount() + s.posInfCount() + s.negInfCount() + s.extremeCount();
      if (s.count() == 0 || bad > 0) {
        rows.add(new TensorRow(e.getKey(), s.min(), s.max(), 0, 0, null, false, 0, new long[0],
            new long[0]));
        continue;
      }
      Range range = RangeEstimator.estimate(s, config.calibration());
      QuantParams p = QuantParams.compute(range.min(), range.max(), config.activationType(),
          config.symmetricActivations(), false);
      double sqnr = PredictedNoise.sqnrDb(s, range, p);
      int bins = 64;
      double extent = Math.max(Math.abs(s.min()), Math.abs(s.max()));
      extent = extent == 0 ? 1 : extent;
      rows.add(new TensorRow(e.getKey(), s.min(), s.max(), range.min(), range.max(),
          Double.isInfinite(sqnr) ? null : sqnr, sqnr >= config.minActivationSqnrDb(),
          extent / bins, fold(s.negative(), extent, bins), fold(s.positive(), extent, bins)));
    }
    return rows;
  }

  private static long[] fold(AbsHistogram h, double extent, int bins) {
    long[] out = new long[bins];
    long[] c = h.counts();
    for (int i = 0; i < c.length; i++) {
      if (c[i] != 0) {
        double mid = (i + 0.5) * h.binWidth();
        out[(int) Math.min(bins - 1, Math.floor(mid / extent * bins))] += c[i];
      }
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * The driver times models in this process from local files: a model on another file system is
   * copied into {@code copies} (a temporary folder of the driver) first.
   */
  private static Path local(String spec, Path copies, String name) throws IOException {
    if (SharedFiles.isLocal(spec)) {
      return SharedFiles.localPath(spec);
    }
    Path copy = copies.resolve(name);
    SharedFiles.copy(spec, copy.toString());
    return copy;
  }

  /** What one validation pipeline produced. */
  private record Results(Map<String, BuiltCandidate> built, Map<String, EvalAccumulator> metrics,
      List<String> latencyTexts, Map<String, Long> counters) {}

  private static void deleteCopies(Path localCopies) {
    if (localCopies != null) {
      QuantizePipeline.deleteQuietly(localCopies);
    }
  }

  /**
   * One pipeline: build the candidates from the table, read (and for the sensitivity sample, cut
   * down) the validation set, score FP32 and every candidate on every shard.
   */
  private static Results evaluate(QuantizeOptions o, String model, String tokenizer,
      String tablePath, String modelDir, List<Candidate> candidates, String results,
      boolean sample) throws IOException {
    List<KV<String, KV<String, QuantSettings>>> specs = new ArrayList<>();
    for (Candidate c : candidates) {
      specs.add(KV.of(c.name(), KV.of(c.kind().name(), QuantSettings.of(c.config()))));
    }
    Pipeline p = Pipeline.create(o);
    PCollection<BuiltCandidate> built = p
        .apply("Candidates", Create.of(specs).withCoder(KvCoder.of(StringUtf8Coder.of(),
            KvCoder.of(StringUtf8Coder.of(), io.quantbeam.transforms.Coders.JavaSerialCoder.of(QuantSettings.class)))))
        .apply("BuildCandidates", io.quantbeam.transforms.BuildCandidates.of(model,
            tablePath, modelDir)
            .withSessionPool(QuantizePipeline.sessions(o)));
    PCollectionView<List<BuiltCandidate>> view = built.apply("AsList", View.asList());
    PCollection<LabeledText> data = p.apply("ReadValidation",
        ReadExamples.from(o.getValidationData(), o.getTextColumn()).forOption(VALIDATION_OPTION)
            .withLabelColumn(sample ? null : o.getLabelColumn()));
    PCollection<String> texts = data.apply("Texts",
        MapElements.into(TypeDescriptors.strings()).via(LabeledText::text));
    if (sample) {
      data = texts.apply("Sample", SampleExamples.atMost(o.getSensitivitySamples()))
          .apply("Unlabeled", MapElements.into(org.apache.beam.sdk.values.TypeDescriptor.of(LabeledText.class))
              .via(t -> new LabeledText(t, -1)))
          .setCoder(io.quantbeam.transforms.Coders.LabeledTextCoder.of());
    } else {
      texts.apply("LatencySample", SampleExamples.atMost(o.getLatencyTexts()))
          .apply("LatencyLines", MapElements.into(TypeDescriptors.strings())
              .via(t -> Base64.getEncoder().encodeToString(t.getBytes(StandardCharsets.UTF_8))))
          .apply("JoinLatency", Combine.globally(new JoinLines()))
          .apply("KeepLatency", ParDo.of(new QuantizePipeline.WriteFile(
              SharedFiles.resolve(results, "latency.txt"))));
    }
    data.apply("Shard", ShardValidationData.of(tokenizer, o.getMaxSequenceLength(),
            LATENCY_BATCH, o.getValidationShards()).withSessionPool(QuantizePipeline.sessions(o)))
        .apply("Validate", ValidateCandidates.of(model, view, o.getIntraOpThreads())
            .withSessionPool(QuantizePipeline.sessions(o)))
        .apply("MetricLines", MapElements.into(TypeDescriptors.strings())
            .via(kv -> kv.getKey() + "\t"
                + Base64.getEncoder().encodeToString(kv.getValue().toBytes())))
        .apply("JoinMetrics", Combine.globally(new JoinLines()))
        .apply("KeepMetrics", ParDo.of(new QuantizePipeline.WriteFile(
            SharedFiles.resolve(results, "metrics.txt"))));
    built.apply("BuiltLines", MapElements.into(TypeDescriptors.strings()).via(Validation::toJson))
        .apply("JoinBuilt", Combine.globally(new JoinLines()))
        .apply("KeepBuilt", ParDo.of(new QuantizePipeline.WriteFile(
            SharedFiles.resolve(results, "built.txt"))));
    Map<String, Long> counters = QuantizePipeline.counters(
        QuantizePipeline.runReading(p, o.getValidationData(), VALIDATION_OPTION));

    ObjectMapper json = new ObjectMapper();
    Map<String, BuiltCandidate> builtByName = new LinkedHashMap<>();
    for (String line : lines(SharedFiles.resolve(results, "built.txt"))) {
      BuiltCandidate b = json.readValue(line, BuiltCandidate.class);
      builtByName.put(b.name(), b);
    }
    Map<String, EvalAccumulator> metrics = new TreeMap<>();
    for (String line : lines(SharedFiles.resolve(results, "metrics.txt"))) {
      int tab = line.indexOf('\t');
      metrics.put(line.substring(0, tab),
          EvalAccumulator.fromBytes(Base64.getDecoder().decode(line.substring(tab + 1))));
    }
    List<String> latencyTexts = new ArrayList<>();
    if (!sample) {
      for (String line : lines(SharedFiles.resolve(results, "latency.txt"))) {
        latencyTexts.add(new String(Base64.getDecoder().decode(line), StandardCharsets.UTF_8));
      }
    }
    return new Results(builtByName, metrics, latencyTexts, counters);
  }

  private static String toJson(BuiltCandidate b) {
    try {
      return new ObjectMapper().writeValueAsString(b);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<String> lines(String file) throws IOException {
    if (!SharedFiles.exists(file)) {
      return List.of();
    }
    return new String(SharedFiles.readAllBytes(file), StandardCharsets.UTF_8).lines()
        .filter(l -> !l.isBlank()).toList();
  }

  /** Joins lines in sorted order (a deterministic file whatever the bundle order). */
  static final class JoinLines implements SerializableFunction<Iterable<String>, String> {
    @Override
    public String apply(Iterable<String> input) {
      return String.join("\n", StreamSupport.stream(input.spliterator(), false).sorted().toList());
    }
  }

}
