package io.quantbeam.core;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.quantbeam.core.calib.CalibrationBatches;
import io.quantbeam.core.calib.Calibrator;
import io.quantbeam.core.calib.DataFingerprint;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.NodeDecision;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.stats.TensorStats;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The one-machine API: calibrate a float transformer on texts and write its static INT8 QDQ model.
 * The Beam pipelines run the same steps (tokenize, observe, merge, quantize) sharded; both give
 * the same bytes for the same data.
 */
public final class Quantbeam {
  /** File names inside an output folder. */
  public static final String MODEL_FILE = "model.int8.onnx";
  public static final String TABLE_FILE = "calibration.qbct";
  /** Table metadata keys: they key the calibration cache (see {@link #tableMetadata}). */
  public static final String MODEL_METADATA = "model.sha256";
  public static final String DATA_METADATA = "data.fingerprint";
  public static final String SETTINGS_METADATA = "calibration.settings";

  /**
   * A calibration table's metadata, the same from the one-machine API and the pipeline: the
   * float model's SHA-256, the corpus fingerprint and the {@link #calibrationSettings}.
   */
  public static Map<String, String> tableMetadata(String modelSha256, String dataFingerprint,
      String settings) {
    Map<String, String> m = new TreeMap<>();
    m.put(MODEL_METADATA, modelSha256);
    m.put(DATA_METADATA, dataFingerprint);
    m.put(SETTINGS_METADATA, settings);
    return m;
  }

  /**
   * The calibration settings that change the statistics besides the model and the texts: the
   * tokenizer file, the sequence length, the batch size and the buckets (they decide the batches
   * and their padding). Recorded in the table, so that a cache is reused only for the same ones.
   */
  public static String calibrationSettings(String tokenizerSha256, int maxLength, int batchSize,
      int buckets) {
    return "tokenizer.sha256=" + tokenizerSha256 + ";maxSequenceLength=" + maxLength
        + ";batchSize=" + batchSize + ";buckets=" + buckets;
  }

  /**
   * @param batchSize texts per ONNX Runtime call during calibration
   * @param maxLength tokens per text (longer texts are truncated and counted)
   * @param intraOpThreads ONNX Runtime intra-op threads (0: ORT's default, all cores)
   * @param buckets how texts are grouped into batches ({@link CalibrationBatches}); the Beam
   *     pipeline must use the same number to give the same bytes
   */
  /**
   * Most tokens one calibration batch may hold (batchSize x maxLength): 512 x 8192. One float
   * activation of width 384 for such a batch is 6 GB already.
   */
  public static final long MAX_TOKENS_PER_BATCH = 1L << 22;

  public record Options(int batchSize, int maxLength, int intraOpThreads, int buckets) {
    public Options {
      if (batchSize < 1 || maxLength < 2 || buckets < 1) {
        throw new QuantbeamException("batchSize and buckets must be >= 1 and maxLength >= 2 (got "
            + batchSize + ", " + buckets + ", " + maxLength + ")");
      }
      if ((long) batchSize * maxLength > MAX_TOKENS_PER_BATCH) {
        throw new QuantbeamException("batchSize x maxLength = " + batchSize + " x " + maxLength
            + " = " + (long) batchSize * maxLength + " tokens per batch, above the limit of "
            + MAX_TOKENS_PER_BATCH + ": every calibrated activation of such a batch would need"
            + " gigabytes, so the run would end out of memory. Use smaller batches (the defaults"
            + " are 32 x 128): lower --batchSize or --maxSequenceLength");
      }
    }

    public Options(int batchSize, int maxLength, int intraOpThreads) {
      this(batchSize, maxLength, intraOpThreads, CalibrationBatches.DEFAULT_BUCKETS);
    }

    public static Options defaults() {
      return new Options(32, 128, 0);
    }
  }

  /** What one calibration pass read. */
  public record CalibrationSummary(long examples, long skipped, long truncated, long batches,
      long tokens, double seconds) {}

  public record Result(ModelProto model, CalibrationTable table, List<NodeDecision> decisions,
      CalibrationSummary calibration) {}

  private Quantbeam() {}

  /** Loads, calibrates and quantizes. Nothing is written; see {@link #write}. */
  public static Result quantize(Path model, Path tokenizer, List<String> texts, QuantConfig config,
      Options options) {
    ModelProto prepared = QdqQuantizer.prepare(OnnxModelIO.load(model));
    String modelSha = OnnxModelIO.sha256(model);
    long start = System.nanoTime();
    List<String> tensors = QdqQuantizer.tensorsToCalibrate(prepared, config);
    Map<String, TensorStats> stats;
    DataFingerprint fingerprint = new DataFingerprint();
    long skipped = 0;
    long truncated = 0;
    long batches = 0;
    long tokens = 0;
    if (texts.isEmpty()) {
      throw new QuantbeamException("The list of calibration texts is empty: give at least one"
          + " text (a few hundred representative ones are typical).");
    }
    List<String> usable = new ArrayList<>(texts.size());
    for (String text : texts) {
      if (text == null || text.isBlank()) {
        skipped++;
      } else {
        usable.add(text);
        fingerprint.add(text);
      }
    }
    try (TextTokenizer tok = TextTokenizer.fromFile(tokenizer, options.maxLength());
        Calibrator calibrator = new Calibrator(prepared, tensors, options.intraOpThreads())) {
      stats = calibrator.newStatistics();
      for (List<String> batch
          : CalibrationBatches.plan(usable, options.batchSize(), options.buckets())) {
        EncodedBatch encoded = tok.encode(batch);
        calibrator.observe(encoded, stats);
        truncated += encoded.truncated();
        tokens += encoded.realTokens();
        batches++;
      }
    }
    if (fingerprint.count() == 0) {
      throw new QuantbeamException("All " + texts.size() + " calibration texts are empty or blank;"
          + " nothing to calibrate on.");
    }
    CalibrationTable table = new CalibrationTable(stats, tableMetadata(modelSha,
        fingerprint.toString(), calibrationSettings(OnnxModelIO.sha256(tokenizer),
            options.maxLength(), options.batchSize(), options.buckets())));
    double seconds = (System.nanoTime() - start) / 1e9;
    QdqQuantizer.Result q = QdqQuantizer.quantize(prepared, table, config);
    return new Result(q.model(), table, q.decisions(),
        new CalibrationSummary(fingerprint.count(), skipped, truncated, batches, tokens, seconds));
  }

  /** Writes {@value #MODEL_FILE} and {@value #TABLE_FILE}, each to a temporary name first. */
  public static void write(Result result, Path outputDir) {
    try {
      Files.createDirectories(outputDir);
    } catch (java.io.IOException e) {
      throw new QuantbeamException("Cannot create output folder " + outputDir + ": " + e, e);
    }
    result.table().write(outputDir.resolve(TABLE_FILE));
    OnnxModelIO.save(result.model(), outputDir.resolve(MODEL_FILE));
  }
}
