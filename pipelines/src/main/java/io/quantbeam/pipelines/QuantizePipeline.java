package io.quantbeam.pipelines;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.AtomicFiles;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.calib.DataFingerprint;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.stats.CalibrationParams;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.text.LabeledText;
import io.quantbeam.transforms.Calibrate;
import io.quantbeam.transforms.Coders;
import io.quantbeam.transforms.Counters;
import io.quantbeam.transforms.FingerprintTexts;
import io.quantbeam.transforms.ObserveActivations;
import io.quantbeam.transforms.SessionPool;
import io.quantbeam.transforms.QuantSettings;
import io.quantbeam.transforms.QuantizeFromTable;
import io.quantbeam.transforms.ReadExamples;
import io.quantbeam.transforms.ProbeWorkerPaths;
import io.quantbeam.transforms.SampleExamples;
import io.quantbeam.transforms.SharedFiles;
import io.quantbeam.transforms.WorkerFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code quantbeam quantize}: calibrates a float transformer on a Parquet corpus with Beam and
 * writes its static INT8 QDQ model.
 *
 * <pre>
 * Parquet ──ReadExamples──► texts ──[SampleExamples]──► Calibrate ──► QuantizeFromTable
 *                                                      (fingerprint,     (calibration.qbct,
 *                                                       tokenize, observe, model.int8.onnx)
 *                                                       merge)
 * </pre>
 *
 * The driver then writes {@code report.json} from the quantizer's summary and the Beam counters.
 * The outputs are byte-identical to {@link Quantbeam#quantize} on the same texts and options.
 */
public final class QuantizePipeline {
  public static final String REPORT_FILE = "report.json";
  /**
   * The staging folders that earlier versions kept in the temporary folder ({@code
   * quantbeam-<random>}): removed when their run is gone.
   */
  static final String STAGING_PREFIX = "quantbeam-";
  /** The pending folder's subfolder for what workers hand to the driver; never published. */
  static final String WORK_DIR = ".work";
  /** Probe elements per input path of {@link #checkWorkersSeeTheFiles}: spread over workers. */
  static final int WORKER_PROBES = 8;
  /** Exit code when validation ran and no candidate met the accuracy criterion. */
  public static final int NO_CANDIDATE_PASSES = 3;
  private static final Logger LOG = LoggerFactory.getLogger(QuantizePipeline.class);

  private QuantizePipeline() {}

  public static void main(String[] args) {
    QuantizeOptions options =
        Commands.QUANTIZE.parseOrExit(List.of(LocalRunnerDefaults.withDefault(args)));
    JsonNode report = run(options);
    System.out.println("Wrote " + report.path("model").path("path").asText() + " (sha256 "
        + report.path("model").path("sha256").asText() + ") and "
        + outputFile(options, REPORT_FILE));
    if (report.has("passed") && !report.path("passed").asBoolean()) {
      System.err.println("error: no candidate meets the accuracy criterion ("
          + report.path("criterion").asText() + "); the best so far, "
          + report.path("selected").path("name").asText() + ", was written anyway. See "
          + outputFile(options, Validation.HTML_FILE) + ".");
      System.exit(NO_CANDIDATE_PASSES);
    }
  }

  /** A file of the output folder as the user named it (a local path stays relative). */
  static String outputFile(QuantizeOptions o, String name) {
    return SharedFiles.isLocal(o.getOutput()) ? Path.of(o.getOutput()).resolve(name).toString()
        : SharedFiles.resolve(o.getOutput(), name);
  }

  /** The quantizer configuration the options describe. */
  public static QuantConfig config(QuantizeOptions o) {
    CalibrationParams calibration = CalibrationParams.of(o.getMethod())
        .withPercentile(o.getPercentile(), true)
        .withEntropyTargetBins(o.getEntropyBins());
    return QuantConfig.defaults()
        .withCalibration(calibration)
        .withTypes(o.getActivationType(), o.getWeightType())
        .withPerChannel(o.getPerChannel())
        .withReduceRange(o.getReduceRange())
        .withSymmetricActivations(o.getSymmetricActivations())
        .withMinActivationSqnrDb(o.getMinActivationSqnrDb())
        .withTarget(o.getTarget())
        .withOpTypes(commaList(o.getOpTypes()))
        .withExcludeNodes(commaList(o.getExcludeNodes()));
  }

  /**
   * Command-line options that rebuild {@code c} with the sizes of {@code o}: recorded in the report
   * (and registry manifests) so that a later job (the drift check) can re-create the same model
   * from another calibration table.
   */
  public static List<String> quantizeArgs(QuantConfig c, QuantizeOptions o) {
    return List.of(
        "--method=" + c.calibration().method().name().toLowerCase(java.util.Locale.ROOT)
            .replace('_', '-'),
        "--percentile=" + c.calibration().percentile(),
        "--entropyBins=" + c.calibration().entropyTargetBins(),
        "--activationType=" + c.activationType().name().toLowerCase(java.util.Locale.ROOT),
        "--weightType=" + c.weightType().name().toLowerCase(java.util.Locale.ROOT),
        "--perChannel=" + c.perChannel(),
        "--reduceRange=" + c.reduceRange(),
        "--symmetricActivations=" + c.symmetricActivations(),
        "--minActivationSqnrDb=" + c.minActivationSqnrDb(),
        "--target=" + io.quantbeam.core.EnumNames.display(c.target()),
        "--opTypes=" + String.join(",", c.opTypes()),
        "--excludeNodes=" + String.join(",", c.excludeNodes()),
        "--batchSize=" + o.getBatchSize(),
        "--maxSequenceLength=" + o.getMaxSequenceLength(),
        "--buckets=" + o.getBuckets());
  }

  /** The options as the one-machine API's options. */
  public static Quantbeam.Options apiOptions(QuantizeOptions o) {
    return new Quantbeam.Options(o.getBatchSize(), o.getMaxSequenceLength(),
        o.getIntraOpThreads(), o.getBuckets());
  }

  static Set<String> commaList(String s) {
    if (s == null || s.isBlank()) {
      return Set.of();
    }
    return Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty())
        .collect(Collectors.toCollection(LinkedHashSet::new));
  }

  /**
   * The calibration stage with the options' sizes. On DirectRunner, whose workers are this JVM,
   * the calibration session starts opening now, while the corpus is read (a core is idle then).
   */
  static Calibrate calibrate(QuantizeOptions o, String model, String modelSha,
      List<String> tensors, String tokenizer) {
    if (o.getRunner().getSimpleName().equals("DirectRunner")) {
      ObserveActivations.openSessionInBackground(sessions(o), model, tensors,
          o.getIntraOpThreads());
    }
    return Calibrate.of(model, modelSha, tensors, tokenizer, o.getMaxSequenceLength(),
        o.getBatchSize(), o.getBuckets(), o.getIntraOpThreads()).withSessionPool(sessions(o));
  }

  /** The pool the options' workers lease their sessions, tokenizers and parsed models from. */
  static SessionPool sessions(QuantizeOptions o) {
    if (o.getIdleSessionTimeout() < 1) {
      throw new QuantbeamException("--idleSessionTimeout must be at least 1 second, got "
          + o.getIdleSessionTimeout());
    }
    return new SessionPool(o.getSessionPool(), o.getIdleSessionTimeout());
  }

  /** Runs calibration (or reuses the cache) and quantization; returns the report it wrote. */
  public static JsonNode run(QuantizeOptions o) {
    apiOptions(o); // validates the sizes
    if (o.getMaxExamples() < 0) {
      throw new QuantbeamException("--maxExamples=" + o.getMaxExamples() + " is negative: give"
          + " the number of texts to calibrate on, or 0 for all of them");
    }
    QuantConfig config = config(o);
    // the file systems the options name (hdfs://, s3://, ...) must be known before the driver
    // reads the model; a pipeline would register them only when it is created
    FileSystems.setDefaultPipelineOptions(o);
    String model = SharedFiles.normalize(o.getModel(), "--model");
    String tokenizer = SharedFiles.normalize(o.getTokenizer(), "--tokenizer");
    String out = SharedFiles.normalize(o.getOutput(), "--output");
    String modelSha = WorkerFiles.sha256(model);
    ModelProto prepared = QdqQuantizer.prepare(WorkerFiles.loadModel(model));
    List<String> tensors = QdqQuantizer.tensorsToCalibrate(prepared, config);
    if (tensors.isEmpty()) {
      throw new QuantbeamException("Nothing to calibrate in " + model + ": no float activation"
          + " feeds a quantizable op. Check --opTypes and that the model is float32.");
    }
    // what killed runs left: the client-side staging folders that earlier versions kept in the
    // temporary folder (PendingOutput removes this output's dead pending folders)
    RunFolders.removeStale(Path.of(System.getProperty("java.io.tmpdir")), STAGING_PREFIX);
    // every output is written into a fresh folder beside the output folder and moved into it only
    // once the whole run has succeeded: a failed run leaves an older result there untouched. The
    // small results workers hand to the driver (summary, fingerprint, metrics) go to its work
    // folder, on the output's file system too: never to a folder of the client that a worker may
    // not reach
    try (PendingOutput pending = PendingOutput.create(out)) {
      if (!o.getRunner().getSimpleName().equals("DirectRunner")) {
        // workers on other hosts may not see what this client sees: find out before any work
        Map<String, String> inputs = new LinkedHashMap<>();
        inputs.put("--model", model);
        inputs.put("--tokenizer", tokenizer);
        inputs.put("--calibrationData", SharedFiles.normalize(o.getCalibrationData(),
            "--calibrationData"));
        if (o.getValidationData() != null && !o.getValidationData().isBlank()) {
          inputs.put("--validationData", SharedFiles.normalize(o.getValidationData(),
              "--validationData"));
        }
        checkWorkersSeeTheFiles(o, pending, inputs);
      }
      CalibrationTable cached = o.getReuseCalibration() ? usableCache(o, out, modelSha, tokenizer,
          tensors) : null;
      Map<String, Long> counters;
      double seconds;
      boolean reused = false;
      long start = System.nanoTime();
      if (cached != null && sameData(o, cached, pending)) {
        LOG.info("Reusing calibration cache {} (same model and data): no inference",
            pending.outFile(Quantbeam.TABLE_FILE));
        Pipeline p = Pipeline.create(o);
        p.apply("CachedTable", Create.of(cached).withCoder(Coders.CalibrationTableCoder.of()))
            .apply("QuantizeFromTable", QuantizeFromTable.of(model, QuantSettings.of(config),
                pending.pending()))
            .apply("KeepSummary", ParDo.of(new WriteFile(pending.workFile("summary.json"))));
        counters = counters(runAndWait(p));
        reused = true;
      } else {
        Pipeline p = Pipeline.create(o);
        p.apply("CalibrationTexts", new CalibrationTexts(o))
            .apply("Calibrate", calibrate(o, model, modelSha, tensors, tokenizer))
            .apply("QuantizeFromTable", QuantizeFromTable.of(model, QuantSettings.of(config),
                pending.pending()))
            .apply("KeepSummary", ParDo.of(new WriteFile(pending.workFile("summary.json"))));
        counters = counters(runReading(p, o.getCalibrationData(),
            ReadExamples.CALIBRATION_OPTION));
      }
      seconds = (System.nanoTime() - start) / 1e9;
      String summaryFile = pending.workFile("summary.json");
      if (!SharedFiles.exists(summaryFile)) {
        throw new QuantbeamException("No usable calibration text in " + o.getCalibrationData()
            + ": " + counters.getOrDefault(Counters.ROWS_READ, 0L) + " rows read, "
            + counters.getOrDefault(Counters.SKIPPED_EMPTY, 0L) + " empty or blank, "
            + counters.getOrDefault(Counters.SKIPPED_UNDECODABLE, 0L)
            + " not valid UTF-8. Nothing was written.");
      }
      ObjectMapper json = new ObjectMapper();
      JsonNode summary = json.readTree(SharedFiles.readAllBytes(summaryFile));
      CalibrationTable table = WorkerFiles.readTable(pending.file(Quantbeam.TABLE_FILE));
      ObjectNode report = report(json, o, config, model, modelSha, summary, table, counters,
          seconds, reused);
      if (o.getValidationData() != null && !o.getValidationData().isBlank()) {
        boolean passed = Validation.run(o, config, model, tokenizer, pending, summary, table,
            report);
        report.put("passed", passed);
      }
      String from = pending.pending();
      String to = pending.out();
      replacePaths(report, from, to);
      String html = pending.file(Validation.HTML_FILE);
      if (SharedFiles.exists(html)) {
        SharedFiles.writeAtomically(html, new String(SharedFiles.readAllBytes(html),
            StandardCharsets.UTF_8).replace(from, to).getBytes(StandardCharsets.UTF_8));
      }
      SharedFiles.writeAtomically(pending.file(REPORT_FILE),
          json.writerWithDefaultPrettyPrinter().writeValueAsBytes(report));
      pending.publish();
      return report;
    } catch (IOException e) {
      throw new QuantbeamException("Cannot write the results in " + out + ": " + e
          + ". Check free disk space and folder permissions; an older result there is unchanged"
          + " unless the error names one of its files", e);
    }
  }

  /**
   * On a cluster, before any work: a probe job ({@link ProbeWorkerPaths}) whose workers match
   * every input the client sees and write their answer beside {@code --output}. No answer means
   * the workers cannot write where this client reads; missing files are named with their option.
   * (Inputs the client itself cannot see are left to the clear errors of the steps that read
   * them.)
   */
  static void checkWorkersSeeTheFiles(QuantizeOptions o, PendingOutput pending,
      Map<String, String> inputs) throws IOException {
    Map<String, String> visible = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : inputs.entrySet()) {
      if (e.getValue() != null && !e.getValue().isBlank()
          && !FileSystems.match(e.getValue(), EmptyMatchTreatment.ALLOW).metadata().isEmpty()) {
        visible.put(e.getKey(), e.getValue());
      }
    }
    String answer = pending.workFile("worker-paths.txt");
    Pipeline p = Pipeline.create(o);
    p.apply("ProbeWorkerPaths", ProbeWorkerPaths.of(visible, WORKER_PROBES))
        .apply("JoinProbes", Combine.globally(new Validation.JoinLines()))
        .apply("KeepProbes", ParDo.of(new WriteFile(answer)));
    runAndWait(p);
    if (!SharedFiles.exists(answer)) {
      throw new QuantbeamException("--output=" + pending.out() + " is not shared with the"
          + " workers: their answer to a probe job never reached this client (a worker wrote it"
          + " to " + answer + " on a disk of its own). Give --output on a file system the workers"
          + " and this client share (hdfs://namenode:8020/..., with --hdfsConfiguration or"
          + " HADOOP_CONF_DIR), or a folder mounted at the same path on every host. Nothing was"
          + " calibrated or written.");
    }
    String problems = explainInvisible(new String(SharedFiles.readAllBytes(answer),
        StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList());
    if (problems != null) {
      throw new QuantbeamException(problems);
    }
  }

  /** The message for the probe lines that name files a worker cannot see, else null. */
  static String explainInvisible(List<String> lines) {
    Map<String, Set<String>> hostsByInput = new TreeMap<>();
    for (String line : lines) {
      String[] f = line.split("\t", 4);
      if (f.length >= 3) {
        hostsByInput.computeIfAbsent(f[0] + "=" + f[1], k -> new java.util.TreeSet<>())
            .add(f[2] + (f.length > 3 ? " (" + f[3] + ")" : ""));
      }
    }
    if (hostsByInput.isEmpty()) {
      return null;
    }
    StringBuilder b = new StringBuilder("The workers cannot see files this client sees: ");
    hostsByInput.forEach((input, hosts) -> b.append(input).append(" is missing on ")
        .append(String.join(", ", hosts)).append("; "));
    return b.append("a path on this client's disk is not on the workers' disks. Put the files on"
        + " a file system every worker reads (hdfs://namenode:8020/..., with --hdfsConfiguration or"
        + " HADOOP_CONF_DIR) or mount the folder at the same path on every host. Nothing was"
        + " calibrated or written.").toString();
  }

  /** Beside the output folder: {@code .<output name>.pending-<random>}. */
  static String pendingPrefix(Path out) {
    return "." + out.getFileName() + ".pending-";
  }

  /**
   * A new empty folder {@code .<output name>.pending-<random>} beside the output folder (so that
   * its files can be renamed into the output folder atomically); a clear error, before any
   * calibration runs, when the output's parent cannot be created or written.
   */
  static Path pendingFolder(Path out) {
    Path parent = out.getParent();
    if (parent == null || out.getFileName() == null) {
      throw new QuantbeamException("--output=" + out + " must name a folder below another one,"
          + " e.g. out/minilm-int8");
    }
    if (Files.exists(out) && !Files.isDirectory(out)) {
      throw new QuantbeamException("--output=" + out + " is a file, not a folder: name a folder"
          + " (it is created when missing). Nothing was written.");
    }
    try {
      Files.createDirectories(parent);
      return Files.createTempDirectory(parent, pendingPrefix(out));
    } catch (IOException e) {
      throw new QuantbeamException("The output folder " + out + " cannot be written: " + e
          + ". Choose a writable --output (its parent must be a folder you can write)."
          + " Nothing was calibrated or written.", e);
    }
  }

  /**
   * Moves every file of {@code pending} into {@code out}, replacing older ones, the report last
   * (its presence marks a complete result). A folder (candidates/) replaces the older one whole.
   */
  static void publish(Path pending, Path out) throws IOException {
    Files.createDirectories(out);
    List<Path> entries;
    try (var list = Files.list(pending)) {
      entries = list.sorted().toList();
    }
    Path report = null;
    for (Path p : entries) {
      if (p.getFileName().toString().equals(REPORT_FILE)) {
        report = p;
        continue;
      }
      if (p.getFileName().toString().startsWith(RunFolders.LOCK_FILE)
          || p.getFileName().toString().equals(WORK_DIR)) {
        continue; // the run's own lock and work files, deleted with the pending folder
      }
      Path target = out.resolve(p.getFileName().toString());
      if (Files.isDirectory(p) && Files.exists(target)) {
        Path old = pending.resolve(".replaced-" + p.getFileName());
        Files.move(target, old);
        AtomicFiles.moveIntoPlace(p, target);
      } else {
        AtomicFiles.moveIntoPlace(p, target);
      }
    }
    if (report != null) {
      AtomicFiles.moveIntoPlace(report, out.resolve(REPORT_FILE));
    }
  }

  /** Rewrites every string in the tree that starts with {@code from} to start with {@code to}. */
  static void replacePaths(JsonNode node, String from, String to) {
    if (node instanceof ObjectNode obj) {
      var names = new java.util.ArrayList<String>();
      obj.fieldNames().forEachRemaining(names::add);
      for (String n : names) {
        JsonNode v = obj.get(n);
        if (v.isTextual() && v.asText().contains(from)) {
          obj.put(n, v.asText().replace(from, to));
        } else {
          replacePaths(v, from, to);
        }
      }
    } else if (node instanceof com.fasterxml.jackson.databind.node.ArrayNode arr) {
      for (int i = 0; i < arr.size(); i++) {
        JsonNode v = arr.get(i);
        if (v.isTextual() && v.asText().contains(from)) {
          arr.set(i, com.fasterxml.jackson.databind.node.TextNode.valueOf(
              v.asText().replace(from, to)));
        } else {
          replacePaths(v, from, to);
        }
      }
    }
  }

  /**
   * The cache in the output folder if it was calibrated for this model, with these settings and
   * for every tensor to calibrate now, else null (the data is compared next).
   */
  private static CalibrationTable usableCache(QuantizeOptions o, String out, String modelSha,
      String tokenizer, List<String> tensors) throws IOException {
    String file = SharedFiles.resolve(out, Quantbeam.TABLE_FILE);
    if (!SharedFiles.exists(file)) {
      LOG.info("No calibration cache at {}: calibrating", file);
      return null;
    }
    CalibrationTable table = WorkerFiles.readTable(file);
    if (!modelSha.equals(table.metadata().get(Quantbeam.MODEL_METADATA))) {
      LOG.info("Calibration cache {} is for another model: calibrating", file);
      return null;
    }
    String settings = Quantbeam.calibrationSettings(WorkerFiles.sha256(tokenizer),
        o.getMaxSequenceLength(), o.getBatchSize(), o.getBuckets());
    String cachedSettings = table.metadata().get(Quantbeam.SETTINGS_METADATA);
    if (!settings.equals(cachedSettings)) {
      LOG.info("Calibration cache {} was made with other settings ({} vs now {}): calibrating",
          file, cachedSettings, settings);
      return null;
    }
    if (!table.tensors().keySet().containsAll(tensors)) {
      LOG.info("Calibration cache {} lacks tensors this configuration quantizes (--opTypes?):"
          + " calibrating", file);
      return null;
    }
    return table;
  }

  /** Fingerprints the corpus (a read, no inference) and compares it with the cache's. */
  private static boolean sameData(QuantizeOptions o, CalibrationTable cached,
      PendingOutput pending) {
    String file = pending.workFile("fingerprint.txt");
    Pipeline p = Pipeline.create(o);
    p.apply("CalibrationTexts", new CalibrationTexts(o))
        .apply("FingerprintTexts", FingerprintTexts.create())
        .apply("AsText", MapElements.into(TypeDescriptors.strings()).via(DataFingerprint::toString))
        .apply("KeepFingerprint", ParDo.of(new WriteFile(file)));
    runReading(p, o.getCalibrationData(), ReadExamples.CALIBRATION_OPTION);
    try {
      String now = SharedFiles.exists(file)
          ? new String(SharedFiles.readAllBytes(file), StandardCharsets.UTF_8) : "";
      boolean same = now.equals(cached.metadata().get(Quantbeam.DATA_METADATA));
      if (!same) {
        LOG.info("Calibration data changed (fingerprint {} vs cached {}): calibrating", now,
            cached.metadata().get(Quantbeam.DATA_METADATA));
      }
      return same;
    } catch (IOException e) {
      throw new QuantbeamException("Cannot read " + file + ": " + e, e);
    }
  }

  /** Read, decode and (with --maxExamples) sample the calibration texts. */
  static final class CalibrationTexts extends PTransform<PBegin, PCollection<String>> {
    private final String pattern;
    private final String option;
    private final String textColumn;
    private final int maxExamples;

    CalibrationTexts(QuantizeOptions o) {
      this(o.getCalibrationData(), ReadExamples.CALIBRATION_OPTION, o.getTextColumn(),
          o.getMaxExamples());
    }

    /** @param option the command-line option that named {@code pattern}, for error messages */
    CalibrationTexts(String pattern, String option, String textColumn, int maxExamples) {
      this.pattern = pattern;
      this.option = option;
      this.textColumn = textColumn;
      this.maxExamples = maxExamples;
    }

    @Override
    public PCollection<String> expand(PBegin begin) {
      PCollection<String> texts = begin
          .apply("ReadExamples", ReadExamples.from(pattern, textColumn).forOption(option))
          .apply("Texts", MapElements.into(TypeDescriptors.strings()).via(LabeledText::text));
      return maxExamples > 0 ? texts.apply("SampleExamples", SampleExamples.atMost(maxExamples))
          : texts;
    }
  }

  /**
   * Writes its (single) input element to a file on the output's file system, through a temporary
   * name: how small results reach the driver, on any runner and whatever disk the worker has.
   */
  static final class WriteFile extends DoFn<String, Void> {
    private final String path;

    WriteFile(Path path) {
      this(path.toString());
    }

    /** @param path a {@link SharedFiles} spec the workers and the driver both reach */
    WriteFile(String path) {
      this.path = path;
    }

    @ProcessElement
    public void process(@Element String value) throws IOException {
      SharedFiles.writeAtomically(path, value.getBytes(StandardCharsets.UTF_8));
    }
  }

  /**
   * {@link #runAndWait} for a pipeline that reads the Parquet files of {@code pattern}, given by
   * {@code option}: a Parquet reader failure becomes a clear error naming the file and option.
   */
  static PipelineResult runReading(Pipeline p, String pattern, String option) {
    try {
      return runAndWait(p);
    } catch (Pipeline.PipelineExecutionException e) {
      QuantbeamException clear = ReadExamples.explainReadFailure(pattern, option, e);
      throw clear != null ? clear : e;
    }
  }

  static PipelineResult runAndWait(Pipeline p) {
    try {
      PipelineResult result = p.run();
      result.waitUntilFinish();
      return result;
    } catch (Pipeline.PipelineExecutionException e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof QuantbeamException q) {
          throw new QuantbeamException(q.getMessage(), e);
        }
      }
      throw e;
    }
  }

  /** The pipeline's counters by name (committed values where the runner has them). */
  static Map<String, Long> counters(PipelineResult result) {
    MetricQueryResults q = result.metrics().queryMetrics(MetricsFilter.builder()
        .addNameFilter(MetricNameFilter.inNamespace(Counters.NAMESPACE)).build());
    Map<String, Long> out = new TreeMap<>();
    for (MetricResult<Long> c : q.getCounters()) {
      long v;
      try {
        v = c.getCommitted();
      } catch (UnsupportedOperationException e) {
        v = c.getAttempted();
      }
      out.merge(c.getName().getName(), v, Long::sum);
    }
    return out;
  }

  private static ObjectNode report(ObjectMapper json, QuantizeOptions o, QuantConfig config,
      String model, String modelSha, JsonNode summary, CalibrationTable table,
      Map<String, Long> counters, double seconds, boolean reused) {
    ObjectNode r = json.createObjectNode();
    ObjectNode m = r.putObject("model");
    m.put("path", summary.path("modelPath").asText());
    m.put("sha256", summary.path("modelSha256").asText());
    m.put("sizeBytes", summary.path("modelSizeBytes").asLong());
    m.putObject("source").put("path", model).put("sha256", modelSha);
    quantizeArgs(config, o).forEach(m.putArray("quantizeArgs")::add);
    String tokenizer = SharedFiles.normalize(o.getTokenizer(), "--tokenizer");
    r.putObject("tokenizer").put("path", tokenizer)
        .put("sha256", WorkerFiles.sha256(tokenizer));
    String fingerprint = table.metadata().get(Quantbeam.DATA_METADATA);
    long examples = reused ? DataFingerprint.parse(fingerprint).count()
        : counters.getOrDefault(Counters.EXAMPLES_OBSERVED, 0L);
    ObjectNode c = r.putObject("calibration");
    c.put("method", config.calibration().method().name().toLowerCase(java.util.Locale.ROOT));
    c.put("examples", examples);
    c.put("tensors", summary.path("tensors").asInt());
    c.put("seconds", seconds);
    c.put("examplesPerSecond", reused || seconds <= 0 ? 0.0 : examples / seconds);
    c.put("reused", reused);
    c.put("batches", counters.getOrDefault(Counters.BATCHES_OBSERVED, 0L));
    c.put("tokens", counters.getOrDefault(Counters.TOKENS, 0L));
    c.put("dataFingerprint", fingerprint);
    c.put("tablePath", summary.path("tablePath").asText());
    c.put("tableSha256", summary.path("tableSha256").asText());
    ObjectNode in = r.putObject("input");
    in.put("data", o.getCalibrationData());
    in.put("textColumn", o.getTextColumn());
    in.put("rowsRead", counters.getOrDefault(Counters.ROWS_READ, 0L));
    in.put("skippedEmptyText", counters.getOrDefault(Counters.SKIPPED_EMPTY, 0L));
    in.put("skippedUndecodableText", counters.getOrDefault(Counters.SKIPPED_UNDECODABLE, 0L));
    in.put("truncatedTexts", counters.getOrDefault(Counters.TRUNCATED, 0L));
    in.put("maxExamples", o.getMaxExamples());
    ObjectNode cfg = r.putObject("config");
    cfg.put("activationType", config.activationType().name());
    cfg.put("weightType", config.weightType().name());
    cfg.put("perChannel", config.perChannel());
    cfg.put("reduceRange", config.reduceRange());
    cfg.put("symmetricActivations", config.symmetricActivations());
    cfg.put("percentile", config.calibration().percentile());
    cfg.put("entropyBins", config.calibration().entropyTargetBins());
    config.opTypes().forEach(cfg.putArray("opTypes")::add);
    config.excludeNodes().forEach(cfg.putArray("excludeNodes")::add);
    cfg.put("batchSize", o.getBatchSize());
    cfg.put("maxSequenceLength", o.getMaxSequenceLength());
    cfg.put("buckets", o.getBuckets());
    cfg.put("intraOpThreads", o.getIntraOpThreads());
    cfg.put("runner", o.getRunner().getSimpleName());
    r.putObject("process").put("peakRssMb", ProcessMemory.peakRssMb())
        .put("cores", Runtime.getRuntime().availableProcessors());
    r.put("quantizedNodes", summary.path("quantizedNodes").asLong());
    r.set("decisions", summary.path("decisions"));
    return r;
  }

  static void deleteQuietly(Path dir) {
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException ignored) {
      // a temporary folder; best effort
    }
  }
}
