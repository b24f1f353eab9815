package io.quantbeam.core.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.runtime.EmbeddingAgreement;
import io.quantbeam.core.runtime.OrtSessions;
import io.quantbeam.core.runtime.SentenceEmbedder;
import io.quantbeam.core.stats.CalibrationMethod;
import io.quantbeam.core.stats.CalibrationParams;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.text.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Accuracy of several configs from one calibration table (no timing): how the defaults were chosen. Args: [model tokenizer [dynamicReference]]. */
public final class MiniLmConfigSweep {
  public static void main(String[] args) throws Exception {
    Path model = args.length > 0 ? Path.of(args[0]) : MiniLm.model();
    Path tokenizer = args.length > 1 ? Path.of(args[1]) : MiniLm.tokenizer();
    List<String> calibration = TestData.texts(TestData.gluePhrases(512));
    List<String> dev = TestData.texts(TestData.sst2Dev());
    Quantbeam.Result base = Quantbeam.quantize(model, tokenizer, calibration,
        QuantConfig.defaults(), new Quantbeam.Options(32, 128, 2));
    ModelProto prepared = QdqQuantizer.prepare(OnnxModelIO.load(model));
    Map<String, QuantConfig> configs = new LinkedHashMap<>();
    QuantConfig d = QuantConfig.defaults();
    for (double db : new double[] {0, 19.5, 20, 21}) {
      configs.put("minSqnr " + db, d.withMinActivationSqnrDb(db));
    }
    QuantConfig p5 = d.withCalibration(CalibrationParams.of(CalibrationMethod.PERCENTILE));
    configs.put("percentile99.999 floor19.5", p5);
    configs.put("percentile99.999 floor20", p5.withMinActivationSqnrDb(20));
    if (System.getProperty("qb.quick") != null) {
      configs.keySet().retainAll(Set.of("minSqnr 19.5", "percentile99.999 floor19.5",
          "percentile99.999 floor20"));
    }
    QuantConfig noFloor = d.withMinActivationSqnrDb(0);
    configs.put("percentile99.999", noFloor.withCalibration(
        CalibrationParams.of(CalibrationMethod.PERCENTILE)));
    configs.put("percentile99.99", noFloor.withCalibration(
        CalibrationParams.of(CalibrationMethod.PERCENTILE).withPercentile(99.99, true)));
    configs.put("entropy", noFloor.withCalibration(CalibrationParams.of(CalibrationMethod.ENTROPY)));
    configs.put("movingAverage", noFloor.withCalibration(
        CalibrationParams.of(CalibrationMethod.MOVING_AVERAGE)));
    if (System.getProperty("qb.quick") != null) {
      configs.keySet().retainAll(Set.of("minSqnr 19.5", "percentile99.999 floor19.5",
          "percentile99.999 floor20"));
    }
    if (args.length > 2) {
      configs.clear();
      configs.put("ort-dynamic", null);
    }
    float[][] ref;
    try (SentenceEmbedder e = new SentenceEmbedder(OrtSessions.open(model, 2),
        TextTokenizer.fromFile(tokenizer, 128))) {
      ref = e.embed(dev, 32);
    }
    Path dir = Files.createTempDirectory("qb-sweep");
    for (Map.Entry<String, QuantConfig> c : configs.entrySet()) {
      Path p = dir.resolve(c.getKey() + ".onnx");
      if (c.getValue() == null) {
        p = Path.of(args[2]);
      } else {
        OnnxModelIO.save(QdqQuantizer.quantize(prepared, base.table(), c.getValue()).model(), p);
      }
      try (SentenceEmbedder e = new SentenceEmbedder(OrtSessions.open(p, 2),
          TextTokenizer.fromFile(tokenizer, 128))) {
        System.out.printf("%-22s %6.1f MB %s%n", c.getKey(), Files.size(p) / 1e6,
            EmbeddingAgreement.compute(ref, e.embed(dev, 32), 10));
      }
    }
  }
}
