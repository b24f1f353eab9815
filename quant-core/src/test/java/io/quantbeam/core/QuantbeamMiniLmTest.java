package io.quantbeam.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.runtime.EmbeddingAgreement;
import io.quantbeam.core.runtime.OrtSessions;
import io.quantbeam.core.runtime.SentenceEmbedder;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.text.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * all-MiniLM-L6-v2 (the real FP32 model from Maven), calibrated on 512 GLUE SST-2 train phrases
 * with the defaults, checked on all 872 SST-2 dev sentences with mean-pooled embeddings.
 */
class QuantbeamMiniLmTest {
  @TempDir Path out;

  @Test
  void defaultInt8ModelKeepsEmbeddingsAndIsAQuarterOfTheSize() throws Exception {
    List<String> calibration = TestData.texts(TestData.gluePhrases(512));
    Quantbeam.Result result = Quantbeam.quantize(MiniLm.model(), MiniLm.tokenizer(), calibration,
        QuantConfig.defaults(), new Quantbeam.Options(32, 128, 2));
    Quantbeam.write(result, out);
    Path model = out.resolve(Quantbeam.MODEL_FILE);
    assertEquals(512, result.calibration().examples());

    List<String> dev = TestData.texts(TestData.sst2Dev());
    float[][] fp32;
    float[][] int8;
    try (SentenceEmbedder e = new SentenceEmbedder(OrtSessions.open(MiniLm.model(), 2),
        TextTokenizer.fromFile(MiniLm.tokenizer(), 128))) {
      fp32 = e.embed(dev, 32);
    }
    try (SentenceEmbedder e = new SentenceEmbedder(OrtSessions.open(model, 2),
        TextTokenizer.fromFile(MiniLm.tokenizer(), 128))) {
      int8 = e.embed(dev, 32);
    }
    EmbeddingAgreement a = EmbeddingAgreement.compute(fp32, int8, 10);
    long size = Files.size(model);
    System.out.printf("MiniLM INT8: %s, %.1f MB (FP32 %.1f MB)%n", a, size / 1e6,
        Files.size(MiniLm.model()) / 1e6);
    assertTrue(a.meanCosine() >= 0.99, a.toString());
    assertTrue(a.minCosine() >= 0.95, a.toString());
    assertTrue(a.meanTopKOverlap() >= 0.85, a.toString());
    assertTrue(size <= 26_000_000L, "model is " + size + " bytes");

    // The persisted table is the calibration cache: reading it back gives the same model bytes.
    CalibrationTable cached = CalibrationTable.read(out.resolve(Quantbeam.TABLE_FILE));
    assertEquals(result.table(), cached);
    byte[] again = OnnxModelIO.toBytes(io.quantbeam.core.quant.QdqQuantizer.quantize(
        OnnxModelIO.load(MiniLm.model()), cached, QuantConfig.defaults()).model());
    assertArrayEquals(Files.readAllBytes(model), again);
  }
}
