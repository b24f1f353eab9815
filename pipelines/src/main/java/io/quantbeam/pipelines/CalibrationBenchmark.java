package io.quantbeam.pipelines;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import io.quantbeam.core.calib.CalibrationBatches;
import io.quantbeam.core.runtime.OrtSessions;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.LocalInputFile;

/**
 * {@code quantbeam bench calibration --model=... --tokenizer=... --calibrationData=FILE.parquet
 * --maxExamples=5000 --intraOpThreads=2 --output=...}: examples/s of the whole calibration
 * pipeline (read, tokenize, observe, merge, quantize, write) next to plain FP32 inference of the
 * same model on the same examples, in the same batches, with the same threads, and their ratio.
 * The baseline runs first, then the pipeline, in one process.
 */
public final class CalibrationBenchmark {
  private CalibrationBenchmark() {}

  public static void main(String[] args) throws Exception {
    PipelineOptionsFactory.register(QuantizeOptions.class);
    QuantizeOptions o = PipelineOptionsFactory.fromArgs(args).withValidation()
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
    }
    double baseline = texts.size() / ((System.nanoTime() - t0) / 1e9);
    JsonNode report = QuantizePipeline.run(o);
    double pipeline = report.path("calibration").path("examplesPerSecond").asDouble();
    System.out.printf(Locale.ROOT, "%d examples, batch %d, %d intra-op threads, runner %s%n",
        texts.size(), o.getBatchSize(), o.getIntraOpThreads(), o.getRunner().getSimpleName());
    System.out.printf(Locale.ROOT, "plain FP32 inference:        %8.1f examples/s%n", baseline);
    System.out.printf(Locale.ROOT, "calibration pipeline (all):  %8.1f examples/s%n", pipeline);
    System.out.printf(Locale.ROOT, "ratio pipeline / FP32:       %8.2f%n", pipeline / baseline);
    System.out.printf(Locale.ROOT, "peak RSS of this process:    %8.0f MB%n", peakRssMb());
  }

  static double peakRssMb() throws java.io.IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
      }
    }
    return Double.NaN;
  }
}
