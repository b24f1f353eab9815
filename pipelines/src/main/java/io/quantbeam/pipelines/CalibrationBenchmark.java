package io.quantbeam.pipelines;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OrtException;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.calib.CalibrationBatches;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.runtime.OrtSessions;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.TextTokenizer;
import io.quantbeam.core.runtime.ResourcePool;
import io.quantbeam.transforms.SessionPool;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.Description;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.LocalInputFile;

/**
 * {@code quantbeam bench calibration --model=... --tokenizer=... --calibrationData=FILE.parquet
 * --maxExamples=5000 --intraOpThreads=2 [--rounds=3] --output=...}: examples/s of the whole
 * calibration pipeline (read, sample, tokenize, observe, merge) next to plain FP32 inference of
 * the same model on the same examples, in the same batches, with the same threads, and their
 * ratio.
 *
 * <p>In one process: a first (cold) round, FP32 then the pipeline, which pays the JVM's class
 * loading and JIT compilation (about 3 s for Beam, Parquet and Hadoop); then {@code --rounds}
 * warm rounds, each the pipeline between two FP32 passes (the machine may be shared: each
 * round's ratio is to the mean of the passes around it); the median warm ratio is the figure.
 * Every FP32 pass and every pipeline loads the model and opens its ONNX Runtime session.
 * Last, the whole quantize run (calibrate, quantize, write) as a user runs it.
 */
public final class CalibrationBenchmark {
  private CalibrationBenchmark() {}

  /** Options of {@code bench calibration}: quantize's, and the number of warm rounds. */
  public interface CalibrationBenchOptions extends QuantizeOptions {
    // no annotated default: bench (sst2) has a --rounds of its own with another default
    @Description("Warm rounds, each the pipeline between two FP32 passes")
    int getRounds();

    void setRounds(int value);
  }

  public static void main(String[] args) throws IOException {
    CalibrationBenchOptions o =
        Commands.CALIBRATION_BENCH.parseOrExit(List.of(LocalRunnerDefaults.withDefault(args)));
    int rounds = o.getRounds();
    if (rounds < 1) {
      throw new QuantbeamException("--rounds must be at least 1");
    }
    // a pool of the benchmark's own, emptied before each round: each round opens its session
    ResourcePool sessions = new ResourcePool(ResourcePool.Settings.defaults());
    o.setSessionPool(SessionPool.of(sessions).name());
    List<String> texts = new ArrayList<>();
    try (ParquetReader<GenericRecord> r = AvroParquetReader.<GenericRecord>builder(
        new LocalInputFile(Path.of(o.getCalibrationData()))).withDataModel(GenericData.get())
        .build()) {
      for (GenericRecord rec = r.read(); rec != null; rec = r.read()) {
        Object t = rec.get(o.getTextColumn());
        if (t != null && !t.toString().isBlank()) {
          texts.add(t.toString());
        }
      }
    }
    if (o.getMaxExamples() > 0) {
      texts = CalibrationBatches.sample(texts, o.getMaxExamples());
    }
    double coldFp32 = plainInference(o, texts);
    double coldPipeline = texts.size() / calibrationSeconds(o);
    double[] fp32 = new double[rounds + 1];
    double[] pipeline = new double[rounds];
    double[] ratios = new double[rounds];
    fp32[0] = plainInference(o, texts);
    for (int r = 0; r < rounds; r++) {
      // like each FP32 pass, each round loads the model and opens its session
      sessions.closeIdle();
      pipeline[r] = texts.size() / calibrationSeconds(o);
      fp32[r + 1] = plainInference(o, texts);
      ratios[r] = pipeline[r] / ((fp32[r] + fp32[r + 1]) / 2);
      System.out.printf(Locale.ROOT, "bench: round %d/%d: pipeline %.1f examples/s, FP32 %.1f"
          + " and %.1f, ratio %.2f%n", r + 1, rounds, pipeline[r], fp32[r], fp32[r + 1],
          ratios[r]);
    }
    double baseline = median(fp32);
    JsonNode report = QuantizePipeline.run(o);
    double whole = report.path("calibration").path("examplesPerSecond").asDouble();
    System.out.printf(Locale.ROOT, "%d examples, batch %d, %d intra-op threads, runner %s, %d cores"
        + ", 1 cold + %d warm rounds%n", texts.size(), o.getBatchSize(), o.getIntraOpThreads(),
        o.getRunner().getSimpleName(), Runtime.getRuntime().availableProcessors(), rounds);
    System.out.printf(Locale.ROOT, "plain FP32 inference, warm (median):  %8.1f examples/s%n",
        baseline);
    System.out.printf(Locale.ROOT, "calibration pipeline, warm (median):  %8.1f examples/s%n",
        median(pipeline));
    System.out.printf(Locale.ROOT, "ratio calibration / FP32, warm:       %8.2f (rounds: %s)%n",
        median(ratios), format(ratios));
    System.out.printf(Locale.ROOT, "first round (cold JVM):               %8.2f (pipeline %.1f,"
        + " FP32 %.1f examples/s)%n", coldPipeline / coldFp32, coldPipeline, coldFp32);
    System.out.printf(Locale.ROOT, "whole quantize run (+ quantize, write): %6.1f examples/s"
        + " (ratio %.2f)%n", whole, whole / baseline);
    System.out.printf(Locale.ROOT, "peak RSS of this process:             %8.0f MB%n",
        ProcessMemory.peakRssMb());
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    java.util.Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static String format(double[] v) {
    StringBuilder b = new StringBuilder();
    for (double x : v) {
      b.append(b.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", x));
    }
    return b.toString();
  }

  /** Examples/s of plain FP32 inference, same batches and threads, session opening included. */
  static double plainInference(QuantizeOptions o, List<String> texts) {
    long t0 = System.nanoTime();
    try (OrtSession s = OrtSessions.open(Path.of(o.getModel()), o.getIntraOpThreads());
        TextTokenizer tok = TextTokenizer.fromFile(Path.of(o.getTokenizer()),
            o.getMaxSequenceLength())) {
      for (List<String> batch
          : CalibrationBatches.plan(texts, o.getBatchSize(), o.getBuckets())) {
        EncodedBatch b = tok.encode(batch);
        Map<String, OnnxTensor> in = b.toOnnxInputs(OrtEnvironment.getEnvironment(),
            s.getInputNames());
        try (OrtSession.Result res = s.run(in)) {
          res.get(0);
        } finally {
          in.values().forEach(OnnxTensor::close);
        }
      }
    } catch (OrtException e) {
      throw new QuantbeamException("FP32 inference failed: " + e.getMessage(), e);
    }
    return texts.size() / ((System.nanoTime() - t0) / 1e9);
  }

  /**
   * Seconds of the calibration pipeline alone, from reading the Parquet file to the merged table
   * (the part whose cost grows with the corpus; quantizing and writing the model is a fixed cost
   * that the whole-run figure includes).
   */
  static double calibrationSeconds(QuantizeOptions o) {
    String model = Path.of(o.getModel()).toAbsolutePath().normalize().toString();
    String tokenizer = Path.of(o.getTokenizer()).toAbsolutePath().normalize().toString();
    long t0 = System.nanoTime();
    ModelProto prepared = QdqQuantizer.prepare(OnnxModelIO.load(Path.of(model)));
    List<String> tensors = QdqQuantizer.tensorsToCalibrate(prepared, QuantizePipeline.config(o));
    Pipeline p = Pipeline.create(o);
    p.apply("CalibrationTexts", new QuantizePipeline.CalibrationTexts(o))
        .apply("Calibrate", QuantizePipeline.calibrate(o, model, OnnxModelIO.sha256(Path.of(model)),
            tensors, tokenizer));
    p.run().waitUntilFinish();
    return (System.nanoTime() - t0) / 1e9;
  }

}
