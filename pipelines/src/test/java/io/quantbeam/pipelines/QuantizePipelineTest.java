package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.runtime.ResourcePool;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.testing.TinyTransformer;
import io.quantbeam.transforms.SessionPool;
import io.quantbeam.transforms.ParquetFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quantize pipeline end to end on DirectRunner: byte-identical to the one-machine API whatever
 * the file layout and parallelism, and clear about bad input.
 */
class QuantizePipelineTest {
  @TempDir static Path shared;
  @TempDir Path dir;
  static Path model;

  /** A tiny encoder that accepts the MiniLM tokenizer's ids (vocab 30522). */
  @BeforeAll
  static void buildModel() {
    model = shared.resolve("tiny-30522.onnx");
    OnnxModelIO.save(TinyTransformer.build(TinyTransformer.Config.defaults().withVocab(30522)),
        model);
  }

  static QuantizeOptions options(Path data, Path out, String... extra) {
    List<String> args = new ArrayList<>(List.of(
        "--model=" + model, "--tokenizer=" + MiniLm.tokenizer(), "--calibrationData=" + data,
        "--output=" + out, "--batchSize=8", "--maxSequenceLength=32", "--intraOpThreads=1"));
    args.addAll(List.of(extra));
    PipelineOptionsFactory.register(QuantizeOptions.class);
    return PipelineOptionsFactory.fromArgs(args.toArray(String[]::new)).withValidation()
        .as(QuantizeOptions.class);
  }

  static String sha(Path p) {
    return OnnxModelIO.sha256(p);
  }

  @Test
  void filesTheWorkersCannotSeeAreNamedWithTheirOptionAndTheFix() {
    // the lines ProbeWorkerPaths emits: option, spec, worker host, problem (one per probe copy)
    String message = QuantizePipeline.explainInvisible(List.of(
        "--model\t/home/me/model.onnx\thost-b\tno such file",
        "--model\t/home/me/model.onnx\thost-b\tno such file",
        "--calibrationData\t/home/me/corpus/*.parquet\thost-c\tno such file"));
    assertTrue(message.contains("--model=/home/me/model.onnx is missing on host-b (no such file)"),
        message);
    assertTrue(message.contains("--calibrationData=/home/me/corpus/*.parquet is missing on host-c"),
        message);
    assertTrue(message.contains("hdfs://") && message.contains("same path on every host")
        && message.contains("Nothing was calibrated or written"), message);
    assertEquals(null, QuantizePipeline.explainInvisible(List.of()));
  }

  @Test
  void sameBytesAsTheOneMachineApiWhateverTheLayoutAndParallelism() throws Exception {
    List<String> texts = TestData.texts(TestData.gluePhrases(200));
    Path one = ParquetFiles.write(dir.resolve("one/data.parquet"), texts);
    Path seven = ParquetFiles.writeSharded(dir.resolve("seven"), texts, 7);

    QuantizeOptions ref = options(one, dir.resolve("unused"));
    Quantbeam.Result api = Quantbeam.quantize(model, MiniLm.tokenizer(), texts,
        QuantizePipeline.config(ref), QuantizePipeline.apiOptions(ref));
    Path apiOut = dir.resolve("api");
    Quantbeam.write(api, apiOut);
    String modelSha = sha(apiOut.resolve(Quantbeam.MODEL_FILE));
    String tableSha = sha(apiOut.resolve(Quantbeam.TABLE_FILE));

    int run = 0;
    for (String data : List.of(one.toString(), seven.resolve("*.parquet").toString())) {
      for (int parallelism : new int[] {1, 2}) {
        Path out = dir.resolve("run" + run++);
        ResourcePool pool = new ResourcePool(ResourcePool.Settings.defaults());
        QuantizeOptions o = options(Path.of(data), out, "--targetParallelism=" + parallelism);
        o.setSessionPool(SessionPool.of(pool).name());
        JsonNode report = QuantizePipeline.run(o);
        ResourcePool.Stats sessions = pool.stats();
        pool.close();
        String what = data + " with targetParallelism=" + parallelism;
        assertEquals(modelSha, sha(out.resolve(Quantbeam.MODEL_FILE)), "model bytes, " + what);
        assertEquals(tableSha, sha(out.resolve(Quantbeam.TABLE_FILE)), "table bytes, " + what);
        assertEquals(modelSha, report.path("model").path("sha256").asText());
        assertEquals(200, report.path("calibration").path("examples").asLong());
        // one calibration session for all workers and threads, none left in use once done
        assertEquals(0, sessions.leased(), "sessions in use after the pipeline, " + what);
        assertTrue(sessions.opened() >= 1 && sessions.opened() <= 3,
            "calibration session, prepared model, tokenizer: " + sessions + ", " + what);
        System.out.println("determinism: " + what + " model " + modelSha + " table " + tableSha);
      }
    }
  }

  @Test
  void reportCountsSkippedAndTruncatedTextsAndTheCacheIsReused() throws Exception {
    List<String> texts = new ArrayList<>(TestData.texts(TestData.gluePhrases(30)));
    texts.add(null);
    texts.add("");
    texts.add("   ");
    texts.add("word ".repeat(100)); // more than 32 tokens
    Path data = ParquetFiles.write(dir.resolve("data.parquet"), texts);
    Path bad = ParquetFiles.writeBytes(dir.resolve("bad.parquet"), "text",
        List.of(new byte[] {(byte) 0xC3, (byte) 0x28}, "fine text".getBytes(StandardCharsets.UTF_8)),
        false);
    Path out = dir.resolve("out");
    JsonNode report = QuantizePipeline.run(options(dir.resolve("*.parquet"), out));
    JsonNode onDisk = new ObjectMapper().readTree(out.resolve("report.json").toFile());
    assertEquals(report.toString(), onDisk.toString());
    assertEquals(3, onDisk.path("input").path("skippedEmptyText").asLong());
    assertEquals(1, onDisk.path("input").path("skippedUndecodableText").asLong());
    assertTrue(onDisk.path("input").path("truncatedTexts").asLong() >= 1);
    assertEquals(32, onDisk.path("calibration").path("examples").asLong());
    assertTrue(onDisk.path("decisions").size() > 0);
    assertTrue(onDisk.path("model").path("sizeBytes").asLong() > 0);
    assertFalse(onDisk.path("calibration").path("reused").asBoolean());
    String modelSha = sha(out.resolve(Quantbeam.MODEL_FILE));
    assertTrue(Files.exists(bad));

    JsonNode again = QuantizePipeline.run(options(dir.resolve("*.parquet"), out,
        "--reuseCalibration=true"));
    assertTrue(again.path("calibration").path("reused").asBoolean());
    assertEquals(modelSha, sha(out.resolve(Quantbeam.MODEL_FILE)));

    // other settings decide other batches: the cache is not theirs
    JsonNode otherBuckets = QuantizePipeline.run(options(dir.resolve("*.parquet"), out,
        "--reuseCalibration=true", "--buckets=4"));
    assertFalse(otherBuckets.path("calibration").path("reused").asBoolean(),
        "a cache made with --buckets=16 was reused for 4");
    JsonNode back = QuantizePipeline.run(options(dir.resolve("*.parquet"), out,
        "--reuseCalibration=true"));
    assertFalse(back.path("calibration").path("reused").asBoolean());
    assertEquals(modelSha, sha(out.resolve(Quantbeam.MODEL_FILE)), "recalibrated: same bytes");

    ParquetFiles.write(dir.resolve("more.parquet"), List.of("one more text changes the data"));
    JsonNode changed = QuantizePipeline.run(options(dir.resolve("*.parquet"), out,
        "--reuseCalibration=true"));
    assertFalse(changed.path("calibration").path("reused").asBoolean());
    assertEquals(33, changed.path("calibration").path("examples").asLong());
  }

  @Test
  void emptyCorpusIsAnErrorAndWritesNothing() throws Exception {
    Path data = ParquetFiles.write(dir.resolve("empty.parquet"), java.util.Arrays.asList(
        "", null, "  "));
    Path out = dir.resolve("out");
    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> QuantizePipeline.run(options(data, out)));
    assertTrue(e.getMessage().contains("No usable calibration text"), e.getMessage());
    assertFalse(Files.exists(out), "nothing may be written");
  }

  @Test
  void missingFileOrColumnIsAClearError() throws Exception {
    Path out = dir.resolve("out");
    QuantbeamException missing = assertThrows(QuantbeamException.class,
        () -> QuantizePipeline.run(options(dir.resolve("nope.parquet"), out)));
    assertTrue(missing.getMessage().contains("nope.parquet"), missing.getMessage());

    Path data = ParquetFiles.writeBytes(dir.resolve("d.parquet"), "sentence",
        List.of("a".getBytes(StandardCharsets.UTF_8)), false);
    QuantbeamException column = assertThrows(QuantbeamException.class,
        () -> QuantizePipeline.run(options(data, out)));
    assertTrue(column.getMessage().contains("[sentence, label]"), column.getMessage());
    assertFalse(Files.exists(out));
  }
}
