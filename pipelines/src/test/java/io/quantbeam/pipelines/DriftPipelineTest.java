package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.registry.ModelRegistry;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.testing.TinyTransformer;
import io.quantbeam.transforms.ParquetFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drift check on all-MiniLM-L6-v2 calibrated on 400 GLUE SST-2 phrases: other phrases and
 * SST-2 test sentences are no drift, IMDB reviews (long, raw HTML) are; a recalibrated model is
 * promoted only when judged at least as good, re-running changes nothing, and the score does not
 * depend on parallelism.
 */
class DriftPipelineTest {
  @TempDir static Path shared;
  @TempDir Path dir;
  static Path quantized;
  static Path phrases;
  static Path imdb;
  static Path holdout;

  @BeforeAll
  static void calibrate() throws Exception {
    Path model = MiniLm.model();
    List<String> glue = TestData.texts(TestData.gluePhrases(800));
    Path calibration = ParquetFiles.write(shared.resolve("calib/data.parquet"),
        glue.subList(0, 400));
    phrases = ParquetFiles.write(shared.resolve("phrases/data.parquet"), glue.subList(400, 800));
    imdb = TestData.repoRoot().resolve("datasets/imdb/test.part1of5.parquet");
    holdout = TestData.repoRoot().resolve("datasets/sst2/dev.parquet");
    quantized = shared.resolve("quantized");
    PipelineOptionsFactory.register(QuantizeOptions.class);
    QuantizePipeline.run(PipelineOptionsFactory.fromArgs("--model=" + model,
        "--tokenizer=" + MiniLm.tokenizer(), "--calibrationData=" + calibration,
        "--output=" + quantized, "--batchSize=16", "--maxSequenceLength=128",
        "--intraOpThreads=1").withValidation().as(QuantizeOptions.class));
  }

  static ModelRegistry registry(Path root) throws Exception {
    ModelRegistry r = new ModelRegistry(root, "tiny");
    RegistryCommand.register(r, quantized);
    return r;
  }

  static DriftOptions options(Path registry, Path production, Path out, String... extra) {
    List<String> args = new ArrayList<>(List.of("--registry=" + registry, "--modelName=tiny",
        "--productionData=" + production, "--output=" + out, "--maxExamples=150",
        "--maxJudgeExamples=200", "--intraOpThreads=1"));
    Collections.addAll(args, extra);
    PipelineOptionsFactory.register(DriftOptions.class);
    return PipelineOptionsFactory.fromArgs(args.toArray(String[]::new)).withValidation()
        .as(DriftOptions.class);
  }

  @Test
  void similarTextIsNotDriftAndChangesNothing() throws Exception {
    ModelRegistry r = registry(dir.resolve("reg"));
    JsonNode report = DriftPipeline.run(options(dir.resolve("reg"), phrases, dir.resolve("out")));
    JsonNode sst2 = DriftPipeline.run(options(dir.resolve("reg"),
        TestData.repoRoot().resolve("datasets/sst2/test.parquet"), dir.resolve("out2")));
    assertFalse(sst2.path("drifted").asBoolean(), sst2.toPrettyString());
    assertFalse(report.path("drifted").asBoolean(), report.toPrettyString());
    assertEquals("no-drift", report.path("status").asText());
    assertEquals(List.of("v1"), r.versions());
    assertEquals("v1", r.current().orElseThrow().name());
    assertTrue(Files.isRegularFile(dir.resolve("out").resolve(DriftPipeline.REPORT_FILE)));
    String html = Files.readString(dir.resolve("out").resolve(DriftPipeline.HTML_FILE));
    assertTrue(html.contains("No drift") && html.contains("Tensors by PSI"), html);
  }

  @Test
  void imdbReviewsDriftAndTheChallengerIsJudgedThenPromotedIdempotently() throws Exception {
    ModelRegistry r = registry(dir.resolve("reg"));
    JsonNode first = DriftPipeline.run(options(dir.resolve("reg"), imdb, dir.resolve("out1"),
        "--holdoutData=" + holdout, "--targetParallelism=1"));
    assertTrue(first.path("drifted").asBoolean(), first.toPrettyString());
    assertFalse(first.path("reasons").isEmpty());
    JsonNode judge = first.path("judgement");
    assertEquals("meanCosine", judge.path("metric").asText()); // an encoder: no logits
    assertTrue(judge.path("challenger").path("clipRateOnProduction").asDouble()
        < judge.path("champion").path("clipRateOnProduction").asDouble(), judge.toPrettyString());
    String status = first.path("status").asText();
    boolean promoted = status.equals("promoted");
    assertTrue(promoted == judge.path("challenger").path("score").asDouble()
        >= judge.path("champion").path("score").asDouble(), judge.toPrettyString());
    List<String> versions = r.versions();
    assertEquals(promoted ? List.of("v1", "v2") : List.of("v1"), versions);
    if (promoted) {
      assertEquals("v1", r.current().orElseThrow().manifest().path("parent").asText());
    }

    // the same check again changes nothing
    JsonNode again = DriftPipeline.run(options(dir.resolve("reg"), imdb, dir.resolve("out2"),
        "--holdoutData=" + holdout));
    assertEquals(versions, r.versions());
    assertEquals(first.path("current").asText(), again.path("current").asText());

    // the score and the challenger do not depend on parallelism
    registry(dir.resolve("reg2"));
    JsonNode other = DriftPipeline.run(options(dir.resolve("reg2"), imdb, dir.resolve("out3"),
        "--holdoutData=" + holdout, "--targetParallelism=2"));
    assertEquals(first.path("meanPsi").asDouble(), other.path("meanPsi").asDouble());
    assertEquals(first.path("meanClipRate").asDouble(), other.path("meanClipRate").asDouble());
    assertEquals(judge.path("challenger").path("sha256").asText(),
        other.path("judgement").path("challenger").path("sha256").asText());
  }

  @Test
  void unreadableTextIsDriftWithAReasonAndNoRecalibration() throws Exception {
    ModelRegistry r = registry(dir.resolve("reg"));
    List<String> foreign = new ArrayList<>();
    for (int i = 0; i < 60; i++) { // emoji: the MiniLM (BERT uncased) vocabulary has none
      foreign.add("\uD83D\uDE00\uD83D\uDE80 \uD83C\uDF89\uD83E\uDD16 " + i);
    }
    Path data = ParquetFiles.write(dir.resolve("foreign/data.parquet"), foreign);
    JsonNode report = DriftPipeline.run(options(dir.resolve("reg"), data, dir.resolve("out")));
    assertTrue(report.path("drifted").asBoolean());
    assertEquals("drift-unreadable-text", report.path("status").asText());
    assertTrue(report.path("unknownTokenRate").asDouble() > 0.3, report.toPrettyString());
    assertTrue(report.path("reasons").toString().contains("unknown to the tokenizer"));
    assertEquals(List.of("v1"), r.versions());
  }

  @Test
  void badInputIsAClearErrorAndLeavesTheRegistryAlone() throws Exception {
    ModelRegistry r = registry(dir.resolve("reg"));
    Path blank = ParquetFiles.write(dir.resolve("blank/data.parquet"), List.of(" ", ""));
    QuantbeamException empty = assertThrows(QuantbeamException.class,
        () -> DriftPipeline.run(options(dir.resolve("reg"), blank, dir.resolve("out"))));
    assertTrue(empty.getMessage().contains("no usable text"), empty.getMessage());
    // a missing production sample: named with its option, not as calibration data
    QuantbeamException missing = assertThrows(QuantbeamException.class,
        () -> DriftPipeline.run(options(dir.resolve("reg"), dir.resolve("nope.parquet"),
            dir.resolve("out"))));
    assertTrue(missing.getMessage().startsWith("No production data file matches"),
        missing.getMessage());
    assertTrue(missing.getMessage().contains("--productionData"), missing.getMessage());
    // corrupt pages (the footer still parses): the file, the option and the fix, not Beam's trace
    Path broken = FailureModesPipelineTest.corruptPages(ParquetFiles.write(
        dir.resolve("broken/data.parquet"), TestData.texts(TestData.gluePhrases(40))));
    QuantbeamException corruptPages = assertThrows(QuantbeamException.class,
        () -> DriftPipeline.run(options(dir.resolve("reg"), broken, dir.resolve("out"))));
    assertTrue(corruptPages.getMessage().startsWith("Parquet file " + broken
        + " (--productionData) is corrupt"), corruptPages.getMessage());
    assertTrue(corruptPages.getMessage().contains("Replace or remove it"),
        corruptPages.getMessage());
    // a missing holdout: refused before any work, named with its option
    QuantbeamException noHoldout = assertThrows(QuantbeamException.class,
        () -> DriftPipeline.run(options(dir.resolve("reg"), imdb, dir.resolve("out"),
            "--holdoutData=" + dir.resolve("no-holdout.parquet"))));
    assertEquals("Parquet file not found: " + dir.resolve("no-holdout.parquet") + " (--holdoutData)."
        + " Pass a local labelled .parquet file; nothing was done.", noHoldout.getMessage());
    Files.writeString(r.current().orElseThrow().dir().resolve(ModelRegistry.MANIFEST), "{oops");
    QuantbeamException corrupt = assertThrows(QuantbeamException.class,
        () -> DriftPipeline.run(options(dir.resolve("reg"), phrases, dir.resolve("out"))));
    assertTrue(corrupt.getMessage().contains("corrupt"), corrupt.getMessage());
    QuantbeamException none = assertThrows(QuantbeamException.class,
        () -> DriftPipeline.run(options(dir.resolve("empty-reg"), phrases, dir.resolve("out"))));
    assertTrue(none.getMessage().contains("Register one first"), none.getMessage());
    assertEquals(List.of("v1"), r.versions());
    try (var s = Files.list(dir.resolve("out"))) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".drift-")),
          "no staging folder left behind");
    }
  }
}
