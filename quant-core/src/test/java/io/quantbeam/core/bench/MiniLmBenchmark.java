package io.quantbeam.core.bench;

import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.stats.CalibrationMethod;
import io.quantbeam.core.stats.CalibrationParams;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * all-MiniLM-L6-v2: FP32 vs our static INT8 (default scope, 512 GLUE SST-2 phrases) vs the
 * dynamically quantized reference, embedding the 872 SST-2 dev sentences. Run with
 * {@code ./quantbeam bench embeddings} (see README); arguments: threads rounds [method].
 */
public final class MiniLmBenchmark {
  public static void main(String[] args) throws Exception {
    int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    QuantConfig config = QuantConfig.defaults();
    if (args.length > 2) {
      config = config.withCalibration(CalibrationParams.of(CalibrationMethod.parse(args[2])));
    }
    if (args.length > 3) {
      config = config.withPerChannel(Boolean.parseBoolean(args[3]));
    }
    List<String> calibration = TestData.texts(TestData.gluePhrases(512));
    List<String> dev = TestData.texts(TestData.sst2Dev());
    long t0 = System.nanoTime();
    Quantbeam.Result result = Quantbeam.quantize(MiniLm.model(), MiniLm.tokenizer(), calibration,
        config, new Quantbeam.Options(32, 128, threads));
    Path out = Files.createTempDirectory("quantbeam-bench");
    Quantbeam.write(result, out);
    System.out.printf("quantized in %.1f s (calibration %.1f s on %d texts): %s%n",
        (System.nanoTime() - t0) / 1e9, result.calibration().seconds(),
        result.calibration().examples(), out.resolve(Quantbeam.MODEL_FILE));
    Map<String, Path> models = new LinkedHashMap<>();
    models.put("fp32", MiniLm.model());
    models.put("quantbeam-int8", out.resolve(Quantbeam.MODEL_FILE));
    models.put("ort-dynamic(-q)", MiniLm.dynamicReference());
    List<EmbeddingBenchmark.Row> rows =
        EmbeddingBenchmark.run(models, MiniLm.tokenizer(), dev, threads, 32, rounds, 100, System.out);
    EmbeddingBenchmark.print(rows, dev.size(), 32, 100, threads, rounds, System.out);
    System.out.println("sha256 " + OnnxModelIO.sha256(out.resolve(Quantbeam.MODEL_FILE)));
  }
}
