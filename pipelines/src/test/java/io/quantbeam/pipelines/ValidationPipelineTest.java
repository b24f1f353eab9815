package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.runtime.ResourcePool;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.testing.TinyTransformer;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.TextTokenizer;
import io.quantbeam.core.validate.ModelRunner;
import io.quantbeam.transforms.ParquetFiles;
import io.quantbeam.transforms.SessionPool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Validation, sweep and selection end to end on DirectRunner, on a tiny classifier with one
 * outlier weight: the [PAD] row of the word-embedding table (FP32 never sees it: padding is
 * masked) is 1000x larger, so the 8-bit per-tensor table rounds every real word's embedding to
 * zero and the baseline fails the criterion; the sensitivity ranking puts that Gather first, the
 * top-1 exclusion passes, and the selected model is a passing one that leaves it float.
 */
class ValidationPipelineTest {
  static final String GATHER = "/embeddings/word_embeddings/Gather";
  @TempDir static Path shared;
  @TempDir Path dir;
  static Path model;
  static Path data;
  static Path calibration;

  @BeforeAll
  static void buildModelAndData() throws Exception {
    model = shared.resolve("tiny-classifier.onnx");
    OnnxModelIO.save(TinyTransformer.build(TinyTransformer.Config.defaults().withVocab(30522)
        .withClassifierHead(2).withOutlier("embeddings.word_embeddings.weight", 0, 1000f)), model);
    List<String> texts = TestData.texts(TestData.gluePhrases(600)).subList(300, 600);
    // labels: the FP32 model's own predictions, so FP32 accuracy is 100% and drops are flips
    int[] labels = new int[texts.size()];
    try (ModelRunner fp32 = new ModelRunner(model, 1);
        TextTokenizer tok = TextTokenizer.fromFile(MiniLm.tokenizer(), 32)) {
      for (int i = 0; i < texts.size(); i++) {
        EncodedBatch b = tok.encode(List.of(texts.get(i)));
        float[] logits = fp32.run(b)[0];
        labels[i] = logits[1] > logits[0] ? 1 : 0;
      }
    }
    data = ParquetFiles.writeLabeled(shared.resolve("dev.parquet"), texts, labels);
    calibration = ParquetFiles.write(shared.resolve("calib.parquet"),
        TestData.texts(TestData.gluePhrases(200)));
  }

  static QuantizeOptions options(Path out, String... extra) {
    List<String> args = new ArrayList<>(List.of(
        "--model=" + model, "--tokenizer=" + MiniLm.tokenizer(), "--calibrationData=" + calibration,
        "--output=" + out, "--batchSize=8", "--maxSequenceLength=32", "--intraOpThreads=1",
        "--validationData=" + data, "--labelColumn=label", "--sensitivitySamples=64",
        "--latencyRounds=1", "--latencyTexts=32", "--validationShards=3", "--maxAccuracyDrop=1"));
    args.addAll(List.of(extra));
    PipelineOptionsFactory.register(QuantizeOptions.class);
    return PipelineOptionsFactory.fromArgs(args.toArray(String[]::new)).withValidation()
        .as(QuantizeOptions.class);
  }

  static JsonNode candidate(JsonNode report, String name) {
    for (JsonNode c : report.path("candidates")) {
      if (c.path("name").asText().equals(name)) {
        return c;
      }
    }
    return null;
  }

  @Test
  void validationLeavesNoSessionInUseAndItsPoolClosesTheIdleOnesAfterTheTimeout()
      throws Exception {
    // a pool whose clock the test moves: no wait for teardowns or for the timeout
    java.util.concurrent.atomic.AtomicLong nanos = new java.util.concurrent.atomic.AtomicLong();
    try (ResourcePool pool = new ResourcePool(
        new ResourcePool.Settings(java.time.Duration.ofSeconds(60), 8), nanos::get)) {
      QuantizeOptions o = options(dir.resolve("out"), "--sweep=baseline");
      o.setSessionPool(SessionPool.of(pool).name());
      QuantizePipeline.run(o);
      ResourcePool.Stats done = pool.stats();
      // calibration and validation ran: FP32 and baseline sessions at least, none in use now
      assertTrue(done.opened() >= 3, done.toString());
      assertEquals(0, done.leased(), "in use after the pipeline: " + done);
      assertTrue(done.open() > 0, "idle sessions are kept for the next job: " + done);
      nanos.addAndGet(java.time.Duration.ofSeconds(60).toNanos());
      assertEquals(done.open(), pool.closeExpired());
      assertEquals(0, pool.stats().open());
    }
  }

  @Test
  void baselineFailsTheSweepFindsTheSensitiveNodeAndTheSelectedModelPasses() throws Exception {
    Path out = dir.resolve("out");
    JsonNode report = QuantizePipeline.run(options(out, "--sweep=baseline,topk,blocks"));
    System.out.println(report.path("candidates").toPrettyString().length() + " chars of candidates");
    assertEquals(1.0, report.path("fp32").path("accuracy").asDouble(), 1e-12);
    assertEquals(300, report.path("validation").path("examples").asLong());
    JsonNode baseline = candidate(report, "baseline");
    assertNotNull(baseline);
    assertFalse(baseline.path("passed").asBoolean(), baseline.toString());
    assertEquals(GATHER, report.path("sensitivity").get(0).path("node").asText());
    JsonNode top1 = candidate(report, "top-1");
    assertTrue(top1.path("passed").asBoolean(), top1.toString());
    assertTrue(report.path("passed").asBoolean());
    String selected = report.path("selected").path("name").asText();
    assertTrue(candidate(report, selected).path("passed").asBoolean());
    assertTrue(candidate(report, selected).path("excludedNodes").toString()
        .contains(GATHER));
    // the rule: the smallest passing candidate, unless the report shows another one faster call
    // by call (each comparison is against the smallest, with its ratio and interval)
    JsonNode sel = report.path("selected");
    assertTrue(sel.path("rule").asText().startsWith("The smallest candidate that passes"),
        sel.toString());
    String smallest = null;
    for (JsonNode c : report.path("candidates")) {
      if (c.path("passed").asBoolean() && (smallest == null
          || c.path("sizeBytes").asLong() < candidate(report, smallest).path("sizeBytes").asLong()
          || c.path("sizeBytes").asLong() == candidate(report, smallest).path("sizeBytes").asLong()
              && c.path("name").asText().compareTo(smallest) < 0)) {
        smallest = c.path("name").asText();
      }
    }
    boolean shownFaster = false;
    for (JsonNode c : sel.path("speedComparisons")) {
      assertEquals(smallest, c.path("against").asText(), c.toString());
      JsonNode r = c.path("ratio");
      assertTrue(r.path("lower").asDouble() <= r.path("median").asDouble()
          && r.path("median").asDouble() <= r.path("upper").asDouble(), c.toString());
      assertTrue(r.path("calls").asInt() >= 32, c.toString());
      shownFaster |= c.path("faster").asBoolean() && c.path("candidate").asText().equals(selected);
    }
    assertTrue(sel.path("speedComparisons").size() <= io.quantbeam.core.validate.Selection
        .MAX_COMPARED);
    if (!shownFaster) {
      assertEquals(smallest, selected, sel.toString());
    }
    assertTrue(Files.readString(out.resolve(Validation.HTML_FILE)).contains("<b>Rule.</b>"));
    // the final model is the selected candidate's bytes; contract keys are there
    Path finalModel = out.resolve(Quantbeam.MODEL_FILE);
    assertEquals(report.path("selected").path("sha256").asText(), OnnxModelIO.sha256(finalModel));
    assertEquals(report.path("model").path("sha256").asText(), OnnxModelIO.sha256(finalModel));
    for (String key : List.of("accuracy", "latencyMs", "sizeBytes")) {
      assertTrue(report.path("fp32").has(key), key);
    }
    for (String key : List.of("name", "excludedNodes", "accuracy", "agreement", "sizeBytes",
        "latencyMs", "passed")) {
      assertTrue(baseline.has(key), key);
    }
    assertTrue(baseline.path("latencyMs").path("batch32").asDouble() > 0);
    String html = Files.readString(out.resolve(Validation.HTML_FILE));
    assertTrue(html.contains("<svg") && html.contains(GATHER));
    assertFalse(html.contains("http://") && html.contains("<script"), "self-contained");
  }
}
