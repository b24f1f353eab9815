package io.quantbeam.pipelines;

import io.quantbeam.core.calib.CalibrationBatches;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.quant.QuantType;
import io.quantbeam.core.stats.CalibrationMethod;
import io.quantbeam.core.validate.Candidates;
import java.util.List;
import io.quantbeam.transforms.SessionPool;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Hidden;
import org.apache.beam.sdk.options.DefaultValueFactory;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.Validation;

/** Options of {@code quantbeam quantize}. Beam's own options (--runner, ...) pass through. */
public interface QuantizeOptions extends PipelineOptions {
  @Description("The float32 ONNX model to quantize")
  @Validation.Required
  String getModel();

  void setModel(String value);

  @Description("The model's Hugging Face tokenizer.json")
  @Validation.Required
  String getTokenizer();

  void setTokenizer(String value);

  @Description("Calibration texts: a Parquet file or file pattern (e.g. 'data/*.parquet')")
  @Validation.Required
  String getCalibrationData();

  void setCalibrationData(String value);

  @Description("The column holding the text")
  @Default.String("text")
  String getTextColumn();

  void setTextColumn(String value);

  @Description("The integer label column of --validationData (optional: without labels,"
      + " candidates are judged by agreement with FP32). Calibration ignores labels.")
  String getLabelColumn();

  void setLabelColumn(String value);

  @Description("Calibrate on at most this many texts (0: all), those with the smallest text hash,"
      + " so the sample does not depend on file layout")
  @Default.Integer(0)
  int getMaxExamples();

  void setMaxExamples(int value);

  @Description("Texts per ONNX Runtime call during calibration")
  @Default.Integer(32)
  int getBatchSize();

  void setBatchSize(int value);

  @Description("Tokens per text, special tokens included; longer texts are truncated and counted")
  @Default.Integer(128)
  int getMaxSequenceLength();

  void setMaxSequenceLength(int value);

  @Description("Buckets texts are grouped into before batching (the calibration's parallelism);"
      + " the same number gives the same bytes")
  @Default.Integer(CalibrationBatches.DEFAULT_BUCKETS)
  int getBuckets();

  void setBuckets(int value);

  @Description("ONNX Runtime intra-op threads per worker JVM (0: ORT's default, all cores);"
      + " about cores / worker threads")
  @Default.Integer(0)
  int getIntraOpThreads();

  void setIntraOpThreads(int value);

  @Description("Seconds an idle ONNX Runtime session, tokenizer or parsed model stays open in a"
      + " worker JVM before the worker's pool closes it (a long-lived cluster frees a finished"
      + " job's sessions this way)")
  @Default.Long(SessionPool.DEFAULT_IDLE_TIMEOUT_SECONDS)
  long getIdleSessionTimeout();

  void setIdleSessionTimeout(long value);

  @Description("The pool the workers lease sessions from: 'worker', each worker JVM's own, or"
      + " the name of a pool this JVM registered with SessionPool.of (an application that runs"
      + " Quantbeam on DirectRunner with pool lifetimes of its own)")
  @Default.String(SessionPool.WORKER)
  @Hidden
  String getSessionPool();

  void setSessionPool(String value);

  @Description("Range estimation: global min/max, mean of per-batch min/max, a percentile of"
      + " the magnitudes, or the clipping threshold of least KL divergence (entropy)")
  @Default.Enum("MINMAX")
  CalibrationMethod getMethod();

  void setMethod(CalibrationMethod value);

  @Description("Percentile for --method=percentile, in (0, 100]")
  @Default.Double(99.999)
  double getPercentile();

  void setPercentile(double value);

  @Description("Quantized levels compared against for --method=entropy")
  @Default.Integer(128)
  int getEntropyBins();

  void setEntropyBins(int value);

  @Description("Activation type (uint8 is what x86 integer kernels fuse)")
  @Default.Enum("UINT8")
  QuantType getActivationType();

  void setActivationType(QuantType value);

  @Description("Weight type")
  @Default.Enum("INT8")
  QuantType getWeightType();

  void setWeightType(QuantType value);

  @Description("One weight scale per output channel")
  @Default.Boolean(true)
  boolean getPerChannel();

  void setPerChannel(boolean value);

  @Description("7-bit weights, for CPUs without VNNI")
  @Default.Boolean(false)
  boolean getReduceRange();

  void setReduceRange(boolean value);

  @Description("Centre activation ranges on zero")
  @Default.Boolean(false)
  boolean getSymmetricActivations();

  void setSymmetricActivations(boolean value);

  @Description("Leave float any activation whose 8-bit SQNR, predicted from its calibration"
      + " histogram, is below this many dB (0 disables)")
  @Default.Double(19.5)
  double getMinActivationSqnrDb();

  void setMinActivationSqnrDb(double value);

  @Description("Runtime the model is written for: portable (standard ONNX QDQ, any runtime) or"
      + " onnxruntime-cpu (ONNX Runtime's CPU operators: fused attention, integer MatMuls with the"
      + " bias inside; loads only in ONNX Runtime)")
  @Default.Enum("PORTABLE")
  QuantConfig.Target getTarget();

  void setTarget(QuantConfig.Target value);

  @Description("Comma-separated node names to leave in float")
  @Default.String("")
  String getExcludeNodes();

  void setExcludeNodes(String value);

  @Description("Comma-separated op types to quantize")
  @Default.String("MatMul,Gemm,Gather")
  String getOpTypes();

  void setOpTypes(String value);

  @Description("Output folder: model.int8.onnx, calibration.qbct (the calibration cache),"
      + " report.json")
  @Validation.Required
  String getOutput();

  void setOutput(String value);

  @Description("Reuse the calibration cache in the output folder when its model SHA-256 and data"
      + " fingerprint match (no inference)")
  @Default.Boolean(false)
  boolean getReuseCalibration();

  void setReuseCalibration(boolean value);

  @Description("Labeled Parquet set (file or pattern) to validate FP32 and every candidate on;"
      + " enables the sweep, the selection and report.html")
  String getValidationData();

  void setValidationData(String value);

  @Description("Candidate exclusion sets: ';' between sets, ',' between node names (e.g. 'a,b;c')")
  @Default.String("")
  String getExcludeSets();

  void setExcludeSets(String value);

  // Beam's --help shows a list as <List>, so the description names every part
  // (OptionsReferenceTest checks that it does)
  @Description("Sweep parts, a comma list of: baseline, user (--excludeSets), topk (most sensitive"
      + " nodes), blocks (one transformer block float), optypes (one op type float), grid (method"
      + " x per-channel x reduce-range); default " + Candidates.DEFAULT_SWEEP)
  @Default.InstanceFactory(DefaultSweep.class)
  List<Candidates.Kind> getSweep();

  void setSweep(List<Candidates.Kind> value);

  /** {@link Candidates#DEFAULT_SWEEP} (Beam has no literal default for a list). */
  class DefaultSweep implements DefaultValueFactory<List<Candidates.Kind>> {
    @Override
    public List<Candidates.Kind> create(PipelineOptions options) {
      return List.copyOf(Candidates.Kind.parse(Candidates.DEFAULT_SWEEP));
    }
  }

  @Description("Accuracy criterion: largest drop vs FP32, in points ('0.5') or relative ('1%')")
  @Default.String(io.quantbeam.core.validate.Criterion.DEFAULT)
  String getMaxAccuracyDrop();

  void setMaxAccuracyDrop(String value);

  @Description("Texts of the validation set the sensitivity ranking runs on")
  @Default.Integer(128)
  int getSensitivitySamples();

  void setSensitivitySamples(int value);

  @Description("Largest k of the top-k candidates (k = 1, 2, 4, ...)")
  @Default.Integer(8)
  int getMaxTopK();

  void setMaxTopK(int value);

  @Description("Shards of the validation set (the candidate x shard fan-out)")
  @Default.Integer(4)
  int getValidationShards();

  void setValidationShards(int value);

  @Description("Selection: the smallest passing candidate wins unless another passing one is"
      + " shown faster at batch 32 by more than this fraction: timed against it call by call, the"
      + " whole 95% interval of its time ratio must lie below 1 minus this (Infinity: the"
      + " smallest always wins, nothing is timed for the choice)")
  @Default.Double(0.03)
  double getSpeedTieTolerance();

  void setSpeedTieTolerance(double value);

  @Description("Latency: interleaved rounds after one warm-up")
  @Default.Integer(5)
  int getLatencyRounds();

  void setLatencyRounds(int value);

  @Description("Latency: texts of the validation set timed (at batch 32; the first 32 also at"
      + " batch 1)")
  @Default.Integer(128)
  int getLatencyTexts();

  void setLatencyTexts(int value);
}
