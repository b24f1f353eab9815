package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.testing.TinyTransformer;
import io.quantbeam.transforms.ParquetFiles;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker failure on the DirectRunner, which does not retry bundles: the process dies. The
 * quantize pipeline runs in a child JVM that is killed (SIGKILL: no shutdown hook, no finally)
 * once it is inside ObserveActivations, and once it is inside validation (ValidateCandidates); the
 * output folder then holds nothing or the older result byte for byte, and a rerun removes what
 * the killed run left (its pending folder, which holds its work files too) and gives the same bytes and report as an
 * undisturbed run.
 */
class KilledRunTest {
  @TempDir static Path shared;
  @TempDir Path dir;
  static Path model;
  static Path calibration;
  static Path validation;
  static Path reference;

  @BeforeAll
  static void undisturbedRun() throws Exception {
    model = shared.resolve("tiny-classifier.onnx");
    OnnxModelIO.save(TinyTransformer.build(TinyTransformer.Config.defaults().withVocab(30522)
        .withClassifierHead(2)), model);
    List<String> texts = TestData.texts(TestData.gluePhrases(200));
    calibration = ParquetFiles.write(shared.resolve("calib.parquet"), texts.subList(0, 120));
    int[] labels = new int[80];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = i % 2;
    }
    validation = ParquetFiles.writeLabeled(shared.resolve("dev.parquet"),
        texts.subList(120, 200), labels);
    reference = shared.resolve("undisturbed");
    PipelineOptionsFactory.register(QuantizeOptions.class);
    QuantizePipeline.run(PipelineOptionsFactory.fromArgs(args(reference).toArray(String[]::new))
        .withValidation().as(QuantizeOptions.class));
  }

  static List<String> args(Path out) {
    return List.of("--model=" + model, "--tokenizer=" + MiniLm.tokenizer(),
        "--calibrationData=" + calibration, "--output=" + out, "--batchSize=8",
        "--maxSequenceLength=32", "--intraOpThreads=1", "--validationData=" + validation,
        "--labelColumn=label", "--sweep=baseline", "--validationShards=2",
        "--latencyRounds=1", "--latencyTexts=4", "--maxAccuracyDrop=100",
        // the model chosen must not depend on timing noise between the runs compared
        "--speedTieTolerance=Infinity");
  }

  /**
   * Starts {@code quantize} in a child JVM and SIGKILLs it as soon as its log shows
   * {@code marker}; returns its output up to then.
   */
  static String killWhenLogged(Path out, String marker) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
        QuantizePipeline.class.getName()));
    cmd.addAll(args(out));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    StringBuilder log = new StringBuilder();
    CountDownLatch seen = new CountDownLatch(1);
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          synchronized (log) {
            log.append(line).append('\n');
          }
          if (line.contains(marker)) {
            seen.countDown();
          }
        }
      } catch (java.io.IOException ignored) {
        // the stream closes when the child dies
      }
    });
    reader.start();
    try {
      boolean reached = seen.await(3, TimeUnit.MINUTES);
      assertTrue(reached, "the child never logged '" + marker + "':\n" + log);
      p.destroyForcibly(); // SIGKILL on Linux
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
      reader.join(10_000);
      // 137 = killed by signal 9: it did not finish on its own before the kill
      assertEquals(137, p.exitValue(), "exit code of the killed child:\n" + log);
      synchronized (log) {
        assertFalse(log.toString().contains("Wrote "), log.toString());
        return log.toString();
      }
    } finally {
      p.destroyForcibly();
    }
  }

  /**
   * The killed child's folders: pending ones beside the output, and (none expected: workers hand
   * their results over on the output's file system) staging ones in the tmpdir.
   */
  static List<Path> leftovers(Path out, long pid) throws Exception {
    List<Path> found = new ArrayList<>();
    for (Path parent : List.of(out.getParent(), Path.of(System.getProperty("java.io.tmpdir")))) {
      try (Stream<Path> s = Files.list(parent)) {
        for (Path d : s.toList()) {
          Path lock = d.resolve(RunFolders.LOCK_FILE);
          String n = d.getFileName().toString();
          if ((n.startsWith(QuantizePipeline.pendingPrefix(out))
                  || n.startsWith(QuantizePipeline.STAGING_PREFIX)) && Files.isRegularFile(lock)
              && Files.readString(lock).startsWith("pid " + pid + "\n")) {
            found.add(d);
          }
        }
      }
    }
    return found;
  }

  static Map<String, byte[]> files(Path out) throws Exception {
    Map<String, byte[]> m = new TreeMap<>();
    if (Files.isDirectory(out)) {
      try (Stream<Path> s = Files.walk(out)) {
        for (Path f : s.filter(Files::isRegularFile).toList()) {
          m.put(out.relativize(f).toString(), Files.readAllBytes(f));
        }
      }
    }
    return m;
  }

  static void rerunAndCompare(Path out, List<Path> left) throws Exception {
    QuantizePipeline.run(PipelineOptionsFactory.fromArgs(args(out).toArray(String[]::new))
        .withValidation().as(QuantizeOptions.class));
    for (Path d : left) {
      assertFalse(Files.exists(d), "the rerun should have removed the killed run's " + d);
    }
    try (Stream<Path> s = Files.list(out.getParent())) {
      assertEquals(List.of(), s.map(p -> p.getFileName().toString())
          .filter(n -> n.startsWith(QuantizePipeline.pendingPrefix(out))).toList());
    }
    assertEquals(List.of(), CompareRuns.compare(reference, out),
        "a killed and rerun quantize must give the undisturbed run's bytes and report");
  }

  @Test
  void killedDuringCalibrationLeavesNoOutputAndTheRerunGivesTheSameResult() throws Exception {
    Path out = dir.resolve("out");
    String log = killWhenLogged(out, "calibration: first batch observed");
    assertFalse(log.contains("validating"), "killed before validation:\n" + log);
    assertEquals(Map.of(), files(out), "nothing of the killed run in " + out);
    long pid = pidOf(log, out);
    List<Path> left = leftovers(out, pid);
    assertEquals(1, left.size(), "the pending folder left by the kill: " + left);
    rerunAndCompare(out, left);
  }

  @Test
  void killedDuringValidationKeepsTheOlderResultAndTheRerunGivesTheSameResult()
      throws Exception {
    Path out = dir.resolve("out");
    Files.createDirectories(out.resolve("candidates"));
    Files.writeString(out.resolve("model.int8.onnx"), "older model");
    Files.writeString(out.resolve("calibration.qbct"), "older table");
    Files.writeString(out.resolve("report.json"), "{\"older\": true}");
    Files.writeString(out.resolve("candidates/baseline.onnx"), "older candidate");
    Map<String, byte[]> older = files(out);
    String log = killWhenLogged(out, "validation: first shard scored");
    assertTrue(log.contains("validating"), log);
    Map<String, byte[]> after = files(out);
    assertEquals(older.keySet(), after.keySet(), "no new or partial file in " + out);
    for (String f : older.keySet()) {
      assertArrayEquals(older.get(f), after.get(f), f);
    }
    long pid = pidOf(log, out);
    List<Path> left = leftovers(out, pid);
    assertEquals(1, left.size(), "the pending folder left by the kill: " + left);
    assertTrue(Files.isDirectory(left.get(0).resolve(QuantizePipeline.WORK_DIR)), left.toString());
    // the pending folder already holds the candidates: what a publish-on-the-fly would have shown
    assertTrue(left.stream().anyMatch(d -> Files.isDirectory(d.resolve("candidates"))), left
        .toString());
    rerunAndCompare(out, left);
  }

  /** The killed child's PID, from the lock file of its pending folder (the only one there). */
  private static long pidOf(String log, Path out) throws Exception {
    try (Stream<Path> s = Files.list(out.getParent())) {
      List<Path> pending = s.filter(d -> d.getFileName().toString()
          .startsWith(QuantizePipeline.pendingPrefix(out))).toList();
      assertEquals(1, pending.size(), "one pending folder after the kill: " + pending + "\n" + log);
      String lock = Files.readString(pending.get(0).resolve(RunFolders.LOCK_FILE));
      return Long.parseLong(lock.substring(4, lock.indexOf('\n')));
    }
  }
}
