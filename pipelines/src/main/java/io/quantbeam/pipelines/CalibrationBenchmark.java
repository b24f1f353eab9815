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
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.LocalInputFile;

/**
 * {@code quantbeam bench calibration --model=... --tokenizer=... --calibrationData=FILE.parquet
 * --maxExamples=5000 --intraOpThreads=2 --output=...}: examples/s of the whole calibration
 * pipeline (read, tokenize, observe, merge, quantize, write) next to plain FP32 inference of the
 * same model on the same examples, in the same batches, with the same threads, and their ratio.
 * In one process: the baseline, the calibration pipeline alone (read to merged table), the
 * baseline again, then the whole quantize run.
 */
public final class CalibrationBenchmark {
  private CalibrationBenchmark() {}

  public static void main(String[] args) throws IOException {
    PipelineOptionsFactory.register(QuantizeOptions.class);
    QuantizeOptions o = PipelineOptionsFactory.fromArgs(LocalRunnerDefaults.withDefault(args)).withValidation()
        .as(QuantizeOptions.class);
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
    // Baseline before and after the pipeline (the machine may be shared): their mean is the
    // reference.
    double before = plainInference(o, texts);
    double calibration = texts.size() / calibrationSeconds(o);
    double after = plainInference(o, texts);
    double baseline = (before + after) / 2;
    JsonNode report = QuantizePipeline.run(o);
    double whole = report.path("calibration").path("examplesPerSecond").asDouble();
    System.out.printf(Locale.ROOT, "%d examples, batch %d, %d intra-op threads, runner %s, %d cores%n",
        texts.size(), o.getBatchSize(), o.getIntraOpThreads(), o.getRunner().getSimpleName(),
        Runtime.getRuntime().availableProcessors());
    System.out.printf(Locale.ROOT, "plain FP32 inference:                 %8.1f examples/s"
        + " (%.1f before, %.1f after the pipeline)%n", baseline, before, after);
    System.out.printf(Locale.ROOT, "calibration pipeline (read..merge):   %8.1f examples/s%n",
        calibration);
    System.out.printf(Locale.ROOT, "ratio calibration / FP32:             %8.2f%n",
        calibration / baseline);
    System.out.printf(Locale.ROOT, "whole quantize run (+ quantize, write): %6.1f examples/s"
        + " (ratio %.2f)%n", whole, whole / baseline);
    System.out.printf(Locale.ROOT, "peak RSS of this process:             %8.0f MB%n",
        ProcessMemory.peakRssMb());
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
