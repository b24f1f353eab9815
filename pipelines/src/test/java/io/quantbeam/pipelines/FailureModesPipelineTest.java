package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.testing.TinyTransformer;
import io.quantbeam.transforms.ParquetFiles;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rows of docs/failures.md that need the whole quantize pipeline (DirectRunner): a run either
 * writes its complete result or fails with a clear message, and never leaves a partial one.
 */
class FailureModesPipelineTest {
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

  private static QuantizeOptions options(Path data, Path out, String... extra) {
    List<String> args = new ArrayList<>(List.of(
        "--model=" + model, "--tokenizer=" + MiniLm.tokenizer(), "--calibrationData=" + data,
        "--output=" + out, "--intraOpThreads=1"));
    List<String> more = List.of(extra);
    if (more.stream().noneMatch(a -> a.startsWith("--batchSize="))) {
      args.add("--batchSize=8");
    }
    if (more.stream().noneMatch(a -> a.startsWith("--maxSequenceLength="))) {
      args.add("--maxSequenceLength=32");
    }
    args.addAll(more);
    PipelineOptionsFactory.register(QuantizeOptions.class);
    return PipelineOptionsFactory.fromArgs(args.toArray(String[]::new)).withValidation()
        .as(QuantizeOptions.class);
  }

  private Path corpus() throws Exception {
    return ParquetFiles.write(dir.resolve("data/train.parquet"),
        TestData.texts(TestData.gluePhrases(24)));
  }

  /** An output folder holding an older result: three files with known bytes. */
  private static Map<String, byte[]> olderResult(Path out) throws Exception {
    Files.createDirectories(out.resolve("candidates"));
    Map<String, byte[]> files = new TreeMap<>();
    files.put(Quantbeam.MODEL_FILE, "older model".getBytes(StandardCharsets.UTF_8));
    files.put(Quantbeam.TABLE_FILE, "older table".getBytes(StandardCharsets.UTF_8));
    files.put(QuantizePipeline.REPORT_FILE, "{\"older\": true}".getBytes(StandardCharsets.UTF_8));
    files.put("candidates/baseline.onnx", "older candidate".getBytes(StandardCharsets.UTF_8));
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      Files.write(out.resolve(e.getKey()), e.getValue());
    }
    return files;
  }

  private static void assertUnchanged(Path out, Map<String, byte[]> files) throws Exception {
    try (Stream<Path> all = Files.walk(out)) {
      List<String> names = all.filter(Files::isRegularFile)
          .map(p -> out.relativize(p).toString()).sorted().toList();
      assertEquals(new ArrayList<>(files.keySet()), names, "no new or partial file in " + out);
    }
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      assertArrayEquals(e.getValue(), Files.readAllBytes(out.resolve(e.getKey())), e.getKey());
    }
  }

  /** Nothing but the output folder and the inputs in the parent: no pending folder is left. */
  private static void assertNoPendingFolder(Path parent) throws Exception {
    try (Stream<Path> s = Files.list(parent)) {
      List<String> left = s.map(p -> p.getFileName().toString())
          .filter(n -> n.contains(".pending-")).toList();
      assertEquals(List.of(), left, "pending folders left in " + parent);
    }
  }

  @Test
  void olderResultIsKeptWhenTheRunFailsAfterCalibration() throws Exception {
    Path data = corpus();
    Path out = dir.resolve("out");
    Map<String, byte[]> older = olderResult(out);
    // calibration and quantization succeed, then validation fails (its data does not exist):
    // before the fix the new model and table had already replaced the older ones at this point
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> QuantizePipeline.run(
        options(data, out, "--validationData=" + dir.resolve("no-such-holdout.parquet"))));
    assertTrue(e.getMessage().contains("no-such-holdout.parquet"), e.getMessage());
    assertUnchanged(out, older);
    assertNoPendingFolder(dir);

    // and a complete run replaces all of it, the report last
    JsonNode report = QuantizePipeline.run(options(data, out));
    assertEquals(out.resolve(Quantbeam.MODEL_FILE).toString(), report.path("model").path("path").asText());
    assertEquals(out.resolve(Quantbeam.TABLE_FILE).toString(),
        report.path("calibration").path("tablePath").asText());
    assertEquals(report.path("model").path("sha256").asText(),
        OnnxModelIO.sha256(out.resolve(Quantbeam.MODEL_FILE)));
    assertFalse(Files.readString(out.resolve(QuantizePipeline.REPORT_FILE)).contains(".pending-"));
    assertNoPendingFolder(dir);
  }

  /**
   * Overwrites the first page header (right after the 4-byte magic): the footer still parses, so
   * the columns check passes and the failure comes while the workers read the pages.
   */
  static Path corruptPages(Path parquet) throws Exception {
    try (RandomAccessFile f = new RandomAccessFile(parquet.toFile(), "rw")) {
      f.seek(4);
      byte[] junk = new byte[48];
      java.util.Arrays.fill(junk, (byte) 0xEE);
      f.write(junk);
    }
    return parquet;
  }

  @Test
  void corruptParquetPagesAreAClearErrorAndKeepTheOlderResult() throws Exception {
    Path data = corruptPages(corpus());
    Path out = dir.resolve("out");
    Map<String, byte[]> older = olderResult(out);
    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> QuantizePipeline.run(options(data, out)));
    assertTrue(e.getMessage().contains("train.parquet"), e.getMessage());
    assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
    assertUnchanged(out, older);
    assertNoPendingFolder(dir);
  }

  /**
   * Validation data that is missing, not Parquet, or has corrupt pages: the error names the file,
   * --validationData and the fix (not the calibration wording, not Beam's stack), after
   * calibration has run, and the older result stays.
   */
  @Test
  void badValidationDataIsAClearErrorNamingTheOption() throws Exception {
    Path data = corpus();
    Path out = dir.resolve("out");
    Map<String, byte[]> older = olderResult(out);
    Path missing = dir.resolve("no-such-dev.parquet");
    QuantbeamException none = assertThrows(QuantbeamException.class, () -> QuantizePipeline.run(
        options(data, out, "--validationData=" + missing)));
    assertEquals("No validation data file matches '" + missing + "' (--validationData): check"
        + " the path (a Parquet file, or a glob such as 'data/*.parquet').", none.getMessage());

    Path text = Files.writeString(dir.resolve("dev.parquet"), "sentence,label\nfine,1\n");
    QuantbeamException notParquet = assertThrows(QuantbeamException.class,
        () -> QuantizePipeline.run(options(data, out, "--validationData=" + text)));
    assertTrue(notParquet.getMessage().startsWith("Cannot read the Parquet footer of " + text
        + " (--validationData)"), notParquet.getMessage());
    assertTrue(notParquet.getMessage().contains("Pass a Parquet file"), notParquet.getMessage());

    Path broken = corruptPages(ParquetFiles.writeLabeled(dir.resolve("broken/dev.parquet"),
        TestData.texts(TestData.gluePhrases(40)), new int[40]));
    QuantbeamException corrupt = assertThrows(QuantbeamException.class,
        () -> QuantizePipeline.run(options(data, out, "--validationData=" + broken,
            "--sweep=baseline", "--labelColumn=label")));
    assertTrue(corrupt.getMessage().startsWith("Parquet file " + broken
        + " (--validationData) is corrupt and cannot be read"), corrupt.getMessage());
    assertTrue(corrupt.getMessage().contains("Replace or remove it"), corrupt.getMessage());
    assertUnchanged(out, older);
    assertNoPendingFolder(dir);
  }

  /**
   * A failure thrown inside a validation DoFn, in this process: the tiny model has 64 positions,
   * the calibration texts are short, the validation texts fill 128 tokens, so ONNX Runtime fails
   * in ValidateCandidates' FP32 step after calibration and quantization have succeeded. The run
   * fails with that error and leaves the older result as it was and no pending folder.
   */
  @Test
  void aFailureInsideValidationLeavesTheOlderResultAndNothingPartial() throws Exception {
    Path data = corpus();
    Path out = dir.resolve("out");
    Map<String, byte[]> older = olderResult(out);
    List<String> longTexts = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      longTexts.add("word ".repeat(200) + i);
    }
    Path dev = ParquetFiles.writeLabeled(dir.resolve("long/dev.parquet"), longTexts, new int[16]);
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> QuantizePipeline.run(
        options(data, out, "--validationData=" + dev, "--maxSequenceLength=128",
            "--sweep=baseline")));
    // ModelRunner's wording (validation), not the calibrator's ("On a calibration batch ...")
    assertTrue(e.getMessage().contains("ONNX Runtime failed on a batch of"), e.getMessage());
    assertUnchanged(out, older);
    assertNoPendingFolder(dir);
  }

  @Test
  void outputThatCannotBeWrittenIsRefusedBeforeCalibration() throws Exception {
    Path data = corpus();
    // tests may run as root, for whom a read-only folder is writable: a path below a regular file
    // cannot be created by anyone
    Path file = Files.writeString(dir.resolve("a-file"), "x");
    QuantbeamException below = assertThrows(QuantbeamException.class,
        () -> QuantizePipeline.run(options(data, file.resolve("out"))));
    assertTrue(below.getMessage().contains("cannot be written"), below.getMessage());
    assertTrue(below.getMessage().contains("Nothing was calibrated"), below.getMessage());
    QuantbeamException isFile = assertThrows(QuantbeamException.class,
        () -> QuantizePipeline.run(options(data, file)));
    assertTrue(isFile.getMessage().contains("is a file, not a folder"), isFile.getMessage());
    assertEquals("x", Files.readString(file));
    assertNoPendingFolder(dir);
  }

  @Test
  void aReadOnlyOutputFolderIsRefusedBeforeCalibration() throws Exception {
    Path data = corpus();
    Path ro = Files.createDirectories(dir.resolve("read-only"));
    ro.toFile().setWritable(false, false);
    try {
      // permissions do not apply to root, who may write anyway (CI runs as root)
      Assumptions.assumeFalse(Files.isWritable(ro),
          "this user may write into a read-only folder (root): nothing to refuse");
      QuantbeamException e = assertThrows(QuantbeamException.class,
          () -> QuantizePipeline.run(options(data, ro.resolve("out"))));
      assertTrue(e.getMessage().contains("cannot be written"), e.getMessage());
    } finally {
      ro.toFile().setWritable(true, false);
    }
    try (Stream<Path> s = Files.list(ro)) {
      assertEquals(0, s.count());
    }
    assertNoPendingFolder(dir);
  }

  @Test
  void aNegativeMaxExamplesIsRefusedUpFront() throws Exception {
    Path data = corpus();
    Path out = dir.resolve("out");
    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> QuantizePipeline.run(options(data, out, "--maxExamples=-5")));
    assertTrue(e.getMessage().contains("--maxExamples=-5 is negative"), e.getMessage());
    assertFalse(Files.exists(out));
  }

  @Test
  void outOfMemorySizedBatchesAreRefusedUpFront() throws Exception {
    Path data = corpus();
    Path out = dir.resolve("out");
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> QuantizePipeline.run(
        options(data, out, "--batchSize=65536", "--maxSequenceLength=4096")));
    assertTrue(e.getMessage().contains("smaller batches"), e.getMessage());
    assertTrue(e.getMessage().contains("--batchSize"), e.getMessage());
    assertFalse(Files.exists(out));
  }

  @Test
  void hugeEmptyAndNonUtf8TextsAreCountedNotFatal() throws Exception {
    List<byte[]> rows = new ArrayList<>();
    for (String t : TestData.texts(TestData.gluePhrases(12))) {
      rows.add(t.getBytes(StandardCharsets.UTF_8));
    }
    rows.add("word ".repeat(1 << 18).getBytes(StandardCharsets.UTF_8)); // 1.3 MB, one text
    rows.add(new byte[0]);
    rows.add(null);
    rows.add(new byte[] {'a', (byte) 0xC0, (byte) 0xAF}); // overlong encoding of '/'
    rows.add(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}); // a lone surrogate
    Path data = ParquetFiles.writeBytes(dir.resolve("mixed.parquet"), "text", rows, false);
    Path out = dir.resolve("out");
    JsonNode report = QuantizePipeline.run(options(data, out));
    JsonNode in = report.path("input");
    assertEquals(17, in.path("rowsRead").asLong());
    assertEquals(2, in.path("skippedEmptyText").asLong());
    assertEquals(2, in.path("skippedUndecodableText").asLong());
    assertTrue(in.path("truncatedTexts").asLong() >= 1);
    assertEquals(13, report.path("calibration").path("examples").asLong());
    assertTrue(Files.isRegularFile(out.resolve(Quantbeam.MODEL_FILE)));
  }
}
