package io.quantbeam.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.EnumNames;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.drift.DriftCheck;
import io.quantbeam.core.drift.DriftResult;
import io.quantbeam.core.drift.DriftThresholds;
import io.quantbeam.core.drift.TensorDrift;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.registry.ModelRegistry;
import io.quantbeam.core.report.DriftHtmlReport;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.text.LabeledText;
import io.quantbeam.core.validate.EvalAccumulator;
import io.quantbeam.core.validate.Evaluate;
import io.quantbeam.transforms.Calibrate;
import io.quantbeam.transforms.Coders;
import io.quantbeam.transforms.CountUnknownTokens;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code quantbeam drift}: checks a production sample against the serving model's calibration
 * and, when it drifted, recalibrates, judges the challenger against the champion and promotes it
 * only if it is at least as good (by the margin).
 *
 * <pre>
 * registry current ──► champion (model, calibration table, manifest: float model, tokenizer, options)
 * production Parquet ─► texts ─┬─► Calibrate (the champion's tensors and bins) ─► production table
 *                              └─► CountUnknownTokens
 * DriftCheck(champion table, production table) ─► no drift: report, done
 *   └─► drift: challenger = quantize(float model, new table, champion's options)
 *        └─► Evaluate champion and challenger (holdout accuracy, else agreement with float)
 *             └─► promote (new registry version, current switched) or keep the champion
 * </pre>
 *
 * Writes {@code drift.json} and {@code drift.html} in the output folder. The statistics are exact merges, so the drift
 * score and the challenger's bytes do not depend on the runner or its parallelism.
 */
public final class DriftPipeline {
  public static final String REPORT_FILE = "drift.json";
  public static final String HTML_FILE = "drift.html";
  static final String PRODUCTION_OPTION = "--productionData";
  private static final Logger LOG = LoggerFactory.getLogger(DriftPipeline.class);

  private DriftPipeline() {}

  public static void main(String[] args) {
    DriftOptions o = Commands.DRIFT.parseOrExit(List.of(LocalRunnerDefaults.withDefault(args)));
    JsonNode r = run(o);
    System.out.printf(Locale.ROOT, "drift: %s (score %.3f, mean clip rate %.3f%%) -> %s%n",
        r.path("drifted").asBoolean() ? "DRIFT" : "no drift", r.path("meanPsi").asDouble(),
        100 * r.path("meanClipRate").asDouble(), r.path("status").asText());
    r.path("reasons").forEach(x -> System.out.println("  - " + x.asText()));
    System.out.println("current: " + r.path("current").asText() + "; report: "
        + Path.of(o.getOutput()).resolve(REPORT_FILE));
  }

  /** Runs the check (and the promotion it leads to); returns the report it wrote. */
  public static JsonNode run(DriftOptions o) {
    DriftThresholds thresholds = new DriftThresholds(o.getPsiThreshold(),
        o.getClipRateThreshold(), o.getUnknownTokenRateThreshold());
    String policy = EnumNames.display(o.getPolicy()); // as the report and manifest name it
    if (o.getHoldoutData() != null && !o.getHoldoutData().isBlank()
        && !Files.isRegularFile(Path.of(o.getHoldoutData()))) {
      // checked now, not after the production sample has been observed and a challenger built
      throw new QuantbeamException("Parquet file not found: " + o.getHoldoutData()
          + " (--holdoutData). Pass a local labelled .parquet file; nothing was done.");
    }
    ModelRegistry registry = new ModelRegistry(Path.of(o.getRegistry()), o.getModelName());
    ModelRegistry.Version champion = registry.current().orElseThrow(() ->
        new QuantbeamException("No serving version of '" + o.getModelName() + "' in "
            + registry.dir() + ". Register one first: quantbeam registry register"
            + " --from=<quantize output folder> --registry=" + o.getRegistry() + " --modelName="
            + o.getModelName()));
    JsonNode manifest = champion.manifest();
    String floatModel = checkedFile(manifest.path("floatModel"), "float model");
    String floatModelSha = manifest.path("floatModel").path("sha256").asText(); // checked above
    String tokenizer = checkedFile(manifest.path("tokenizer"), "tokenizer");
    QuantizeOptions q = quantizeOptions(manifest, floatModel, tokenizer, o);
    QuantConfig config = QuantizePipeline.config(q);
    CalibrationTable championTable = CalibrationTable.read(champion.table());
    List<String> tensors = new ArrayList<>(championTable.tensors().keySet());
    Path out = Path.of(o.getOutput()).toAbsolutePath().normalize();
    ObjectMapper json = new ObjectMapper();
    RunFolders.Lock stagingLock;
    try {
      Files.createDirectories(out);
      RunFolders.removeStale(out, ".drift-"); // what a killed run left
      stagingLock = RunFolders.lockNew(Files.createTempDirectory(out, ".drift-"));
    } catch (IOException e) {
      throw new QuantbeamException("Cannot create the output folder " + out + ": " + e, e);
    }
    Path staging = stagingLock.dir();
    try {
      // 1. observe the production sample like a calibration, with the champion's tensors
      Path productionFile = staging.resolve("production.qbct");
      Path tokensFile = staging.resolve("tokens.txt");
      Pipeline p = Pipeline.create(o);
      PCollection<String> texts = p.apply("ProductionTexts",
          new QuantizePipeline.CalibrationTexts(o.getProductionData(), PRODUCTION_OPTION,
              o.getTextColumn(), o.getMaxExamples()));
      texts.apply("Calibrate", QuantizePipeline.calibrate(q, floatModel, floatModelSha, tensors,
              tokenizer))
          .apply("TableBytes", MapElements.into(TypeDescriptors.strings())
              .via((CalibrationTable t) -> Base64.getEncoder().encodeToString(t.toBytes())))
          .apply("KeepTable", ParDo.of(new QuantizePipeline.WriteFile(productionFile)));
      texts.apply("CountUnknownTokens", CountUnknownTokens.of(tokenizer,
              q.getMaxSequenceLength()).withSessionPool(QuantizePipeline.sessions(q)))
          .apply("AsText", MapElements.into(TypeDescriptors.strings())
              .via(kv -> kv.getKey() + " " + kv.getValue()))
          .apply("KeepCounts", ParDo.of(new QuantizePipeline.WriteFile(tokensFile)));
      QuantizePipeline.runReading(p, o.getProductionData(), PRODUCTION_OPTION);
      if (!Files.exists(productionFile)) {
        throw new QuantbeamException("The production sample " + o.getProductionData()
            + " has no usable text (empty, blank or undecodable rows only): nothing to compare."
            + " Pass a Parquet sample with texts in column '" + o.getTextColumn() + "'.");
      }
      CalibrationTable production = CalibrationTable.fromBytes(
          Base64.getDecoder().decode(Files.readString(productionFile).trim()));
      String[] counts = Files.readString(tokensFile).trim().split(" ");
      long unknown = Long.parseLong(counts[0]);
      long real = Long.parseLong(counts[1]);
      double unknownRate = real == 0 ? 0.0 : (double) unknown / real;

      // 2. compare
      DriftResult drift = DriftCheck.compare(championTable, production, config, unknownRate,
          thresholds);
      String productionFingerprint = production.metadata().get(Quantbeam.DATA_METADATA);
      ObjectNode report = json.createObjectNode();
      report.put("model", o.getModelName());
      report.put("champion", champion.name());
      report.put("productionData", o.getProductionData());
      report.put("productionFingerprint", productionFingerprint);
      report.put("drifted", drift.drifted());
      report.put("meanPsi", drift.meanPsi());
      report.put("meanClipRate", drift.meanClipRate());
      report.put("maxClipRate", drift.maxClipRate());
      report.put("maxClipTensor", drift.maxClipTensor());
      report.put("unknownTokenRate", unknownRate);
      drift.reasons().forEach(report.putArray("reasons")::add);
      ObjectNode th = report.putObject("thresholds");
      th.put("psi", thresholds.psi()).put("clipRate", thresholds.clipRate())
          .put("unknownTokenRate", thresholds.unknownTokenRate());
      ArrayNode perTensor = report.putArray("tensors");
      for (TensorDrift t : drift.tensors()) {
        ObjectNode n = perTensor.addObject();
        n.put("tensor", t.tensor()).put("psi", t.psi()).put("clipRate", t.clipRate())
            .put("low", t.low()).put("high", t.high()).put("productionMin", t.productionMin())
            .put("productionMax", t.productionMax());
      }
      String status;
      if (!drift.drifted()) {
        status = "no-drift";
      } else if (unknownRate >= thresholds.unknownTokenRate()) {
        status = "drift-unreadable-text"; // recalibrating on text the tokenizer cannot read helps no one
      } else if (contains(manifest.path("dataFingerprints"), productionFingerprint)) {
        status = "drift-sample-already-absorbed";
      } else {
        status = challenge(o, policy, registry, champion, championTable, production, config,
            q, floatModel, tokenizer, staging, report, json);
      }
      report.put("status", status);
      report.put("current", registry.current().map(ModelRegistry.Version::name).orElse(""));
      io.quantbeam.core.AtomicFiles.write(out.resolve(HTML_FILE),
          DriftHtmlReport.render(report).getBytes(java.nio.charset.StandardCharsets.UTF_8));
      io.quantbeam.core.AtomicFiles.write(out.resolve(REPORT_FILE),
          json.writerWithDefaultPrettyPrinter().writeValueAsBytes(report));
      return report;
    } catch (IOException e) {
      throw new QuantbeamException("Cannot write the drift report in " + out + ": " + e, e);
    } finally {
      stagingLock.deleteAndRelease();
    }
  }

  /** Builds and judges the challenger; promotes it when it is at least as good. */
  private static String challenge(DriftOptions o, String policy, ModelRegistry registry,
      ModelRegistry.Version champion, CalibrationTable championTable,
      CalibrationTable production, QuantConfig config, QuantizeOptions q, String floatModel,
      String tokenizer, Path staging, ObjectNode report, ObjectMapper json) throws IOException {
    String prodFp = production.metadata().get(Quantbeam.DATA_METADATA);
    List<String> fingerprints = new ArrayList<>();
    CalibrationTable table;
    if (policy.equals("window")) {
      table = production;
    } else {
      champion.manifest().path("dataFingerprints").forEach(f -> fingerprints.add(f.asText()));
      String both = String.join("+", fingerprints) + "+" + prodFp;
      table = championTable.withMetadata(Quantbeam.DATA_METADATA, both)
          .merge(production.withMetadata(Quantbeam.DATA_METADATA, both));
    }
    fingerprints.add(prodFp);
    Path challengerDir = staging.resolve("challenger");
    Files.createDirectories(challengerDir);
    Path model = challengerDir.resolve(ModelRegistry.MODEL);
    Path tablePath = challengerDir.resolve(ModelRegistry.TABLE);
    QdqQuantizer.Result built = QdqQuantizer.quantize(
        QdqQuantizer.prepare(OnnxModelIO.load(Path.of(floatModel))), table, config);
    OnnxModelIO.save(built.model(), model);
    table.write(tablePath);

    // judge both on the holdout (accuracy) or on the production sample (agreement with float)
    boolean holdout = o.getHoldoutData() != null && !o.getHoldoutData().isBlank();
    String judgeFile = holdout ? o.getHoldoutData() : o.getProductionData();
    if (!holdout && !Files.isRegularFile(Path.of(judgeFile))) {
      throw new QuantbeamException("Without --holdoutData the challenger is judged on the"
          + " production sample, which must then be one local Parquet file (got '" + judgeFile
          + "'). Pass --holdoutData=LABELED.parquet.");
    }
    List<LabeledText> examples = ParquetTexts.read(judgeFile,
        holdout ? "--holdoutData" : PRODUCTION_OPTION, o.getTextColumn(),
        holdout ? (o.getLabelColumn() == null ? "label" : o.getLabelColumn()) : null, o.getMaxJudgeExamples());
    Map<String, Path> models = new LinkedHashMap<>();
    models.put("champion", champion.model());
    models.put("challenger", model);
    Map<String, EvalAccumulator.Summary> scores = Evaluate.score(Path.of(floatModel), models,
        Path.of(tokenizer), q.getMaxSequenceLength(), examples, q.getBatchSize(),
        o.getIntraOpThreads());
    String metric = scores.get("champion").accuracy() != null ? "accuracy"
        : scores.get("champion").agreement() != null ? "agreement" : "meanCosine";
    double championScore = Validation.score(scores.get("champion"));
    double challengerScore = Validation.score(scores.get("challenger"));
    double challengerClip = DriftCheck.compare(table, production, config,
        0.0, DriftThresholds.defaults()).meanClipRate();
    ObjectNode judge = report.putObject("judgement");
    judge.put("data", judgeFile).put("examples", examples.size()).put("metric", metric)
        .put("policy", policy).put("margin", o.getPromotionMargin());
    judge.putObject("champion").put("version", champion.name()).put("score", championScore)
        .put("clipRateOnProduction", report.path("meanClipRate").asDouble());
    judge.putObject("challenger").put("score", challengerScore)
        .put("clipRateOnProduction", challengerClip)
        .put("sha256", OnnxModelIO.sha256(model));
    if (challengerScore < championScore + o.getPromotionMargin()) {
      LOG.info("challenger {} {} < champion {} + margin {}: keeping {}", metric, challengerScore,
          championScore, o.getPromotionMargin(), champion.name());
      return "drift-challenger-not-better";
    }
    ObjectNode fields = json.createObjectNode();
    fields.put("parent", champion.name());
    fields.put("origin", "drift");
    fields.set("floatModel", champion.manifest().path("floatModel"));
    fields.set("tokenizer", champion.manifest().path("tokenizer"));
    fields.set("quantizeArgs", champion.manifest().path("quantizeArgs"));
    ArrayNode fps = fields.putArray("dataFingerprints");
    fingerprints.forEach(fps::add);
    fields.put("calibrationData", o.getProductionData());
    fields.put("policy", policy);
    fields.putObject("metrics").put(metric, challengerScore).put("judgedOn", judgeFile)
        .put("clipRateOnProduction", challengerClip);
    fields.putObject("drift").put("meanPsi", report.path("meanPsi").asDouble())
        .put("meanClipRate", report.path("meanClipRate").asDouble());
    fields.put("createdAt", Instant.now().toString());
    ModelRegistry.Version v = registry.register(model, tablePath, fields);
    registry.setCurrent(v.name());
    judge.put("promotedVersion", v.name());
    return "promoted";
  }

  private static boolean contains(JsonNode array, String value) {
    for (JsonNode n : array) {
      if (n.asText().equals(value)) {
        return true;
      }
    }
    return false;
  }

  /** A file named in the manifest, checked against its recorded SHA-256. */
  private static String checkedFile(JsonNode entry, String what) {
    String path = entry.path("path").asText("");
    if (path.isEmpty() || !Files.isRegularFile(Path.of(path))) {
      throw new QuantbeamException("The serving version's " + what + " '" + path + "' (from its"
          + " manifest) is not there. Restore it at that path, or register the model again.");
    }
    String sha = OnnxModelIO.sha256(Path.of(path));
    if (!sha.equals(entry.path("sha256").asText())) {
      throw new QuantbeamException("The " + what + " " + path + " changed since the serving"
          + " version was registered (SHA-256 " + sha + ", manifest " + entry.path("sha256")
          .asText() + "). Register the model built from the new file instead.");
    }
    return path;
  }

  /** The champion's quantize options, as recorded, with this run's paths and threads. */
  private static QuantizeOptions quantizeOptions(JsonNode manifest, String floatModel,
      String tokenizer, DriftOptions o) {
    List<String> args = new ArrayList<>();
    manifest.path("quantizeArgs").forEach(a -> args.add(a.asText()));
    if (args.isEmpty()) {
      throw new QuantbeamException("The serving version's manifest has no quantizeArgs: it was"
          + " not registered by this version of quantbeam. Register the model again.");
    }
    args.add("--model=" + floatModel);
    args.add("--tokenizer=" + tokenizer);
    args.add("--calibrationData=" + o.getProductionData());
    args.add("--output=" + o.getOutput());
    args.add("--intraOpThreads=" + o.getIntraOpThreads());
    PipelineOptionsFactory.register(QuantizeOptions.class);
    return PipelineOptionsFactory.fromArgs(args.toArray(String[]::new)).as(QuantizeOptions.class);
  }
}
