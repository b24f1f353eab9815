package io.quantbeam.pipelines.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.testing.TinyTransformer;
import io.quantbeam.pipelines.CompareRuns;
import io.quantbeam.pipelines.QuantizePipeline;
import io.quantbeam.transforms.ParquetFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real standalone Flink 1.19.3 cluster (1 JobManager, 2 TaskManagers x 2 slots, child processes
 * started from the Maven-resolved jars) running the quantize pipeline from the shaded job jar at
 * parallelism 2: the same bytes as the DirectRunner, also when a TaskManager is killed mid-run;
 * clear errors for bad input; nothing left running afterwards, also when a test fails (try/finally
 * in {@link #stopCluster}, and the cluster's JVM shutdown hook).
 *
 * <p>Runs with failsafe after {@code package}, so the shaded jar exists.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FlinkClusterIT {
  @TempDir static Path dir;
  static Path model;
  static Path data;
  static Path jobJar;
  static String directModelSha;
  static String directTableSha;
  static FlinkCluster cluster;
  static List<ProcessHandle> started = new ArrayList<>();

  static Path repo() {
    return Path.of(System.getProperty("quantbeam.repo", "..")).toAbsolutePath().normalize();
  }

  @BeforeAll
  static void startCluster() throws Exception {
    jobJar = Path.of(System.getProperty("quantbeam.jobJar",
        "target/quantbeam-pipelines.jar")).toAbsolutePath();
    assertTrue(Files.isRegularFile(jobJar), "the shaded job jar " + jobJar + " (mvn package)");
    // a tiny encoder with 4 layers: fast, yet calibration takes a few seconds on 2 cores
    model = dir.resolve("tiny.onnx");
    OnnxModelIO.save(TinyTransformer.build(TinyTransformer.Config.defaults().withVocab(30522)
        .withSizes(64, 2, 256, 4)), model);
    data = ParquetFiles.writeSharded(dir.resolve("data"),
        TestData.texts(TestData.gluePhrases(3000)), 4).resolve("*.parquet");
    // the reference: DirectRunner, in this JVM, while the cluster starts
    CompletableFuture<Void> direct = CompletableFuture.runAsync(() -> {
      Path out = dir.resolve("direct");
      QuantizePipeline.run(FlinkLocalTest.options(FlinkLocalTest.args(model, data, out)));
      directModelSha = OnnxModelIO.sha256(out.resolve(Quantbeam.MODEL_FILE));
      directTableSha = OnnxModelIO.sha256(out.resolve(Quantbeam.TABLE_FILE));
    });
    Path runDir = repo().resolve("pipelines/target/flink-it/cluster");
    FlinkCluster.stop(runDir); // what a killed earlier run may have left
    // a free port is only free until someone binds it: the TaskManagers starting beside the
    // JobManager bind random ports too, and a CI run once lost the REST port that way; so a
    // start that fails to bind is tried again with other ports (a real port conflict is the
    // "already in use" case below, which the launcher reports before starting anything)
    for (int attempt = 1; cluster == null; attempt++) {
      try {
        cluster = FlinkCluster.start(FlinkCluster.Settings.defaults(repo()).withRunDir(runDir)
            .withTaskManagers(2, 2).withPorts(FlinkCluster.freePort(), FlinkCluster.freePort())
            .withTaskManagerMemory("1536m").attached(true));
      } catch (QuantbeamException e) {
        if (attempt == 3 || !e.getMessage().contains("BindException")) {
          throw e;
        }
        System.out.println("cluster start lost a port race, trying again: " + e.getMessage()
            .lines().filter(l -> l.contains("BindException")).findFirst().orElse(""));
        FlinkCluster.stop(runDir);
      }
    }
    started.addAll(cluster.processes());
    direct.get(5, TimeUnit.MINUTES);
  }

  @AfterAll
  static void stopCluster() {
    try {
      if (cluster != null) {
        cluster.stop();
      }
    } finally {
      for (ProcessHandle p : started) {
        assertFalse(p.isAlive(), "Flink process " + p.pid() + " still running after stop");
      }
      String conf = repo().resolve("pipelines/target/flink-it").toString();
      List<Long> left = ProcessHandle.allProcesses()
          .filter(p -> p.info().commandLine().map(c -> c.contains(conf)).orElse(false))
          .map(ProcessHandle::pid).toList();
      assertEquals(List.of(), left, "processes of the test clusters left running");
    }
  }

  static List<String> submitArgs(Path out, String... extra) {
    List<String> a = FlinkLocalTest.args(model, data, out, "--runner=FlinkRunner",
        "--flinkMaster=" + cluster.restAddress(), "--parallelism=2",
        "--filesToStage=" + jobJar);
    a.addAll(List.of(extra));
    return a;
  }

  @Test
  @Order(1)
  void quantizeOnTwoTaskManagersGivesTheDirectRunnersBytes() throws Exception {
    Path out = dir.resolve("cluster");
    long t0 = System.nanoTime();
    // TaskManagers close idle sessions after 2 s here (60 by default), checked below
    JsonNode report = FlinkSubmit.quantize(submitArgs(out, "--idleSessionTimeout=2"));
    System.out.printf("flink cluster: quantize at parallelism 2 in %.1f s (calibration %.1f"
        + " examples/s)%n", (System.nanoTime() - t0) / 1e9,
        report.path("calibration").path("examplesPerSecond").asDouble());
    assertEquals(directModelSha, OnnxModelIO.sha256(out.resolve(Quantbeam.MODEL_FILE)));
    assertEquals(directTableSha, OnnxModelIO.sha256(out.resolve(Quantbeam.TABLE_FILE)));

    // it did run on the cluster, with parallelism 2 spread over both TaskManagers
    JsonNode job = lastJob();
    assertEquals("FINISHED", job.path("state").asText());
    JsonNode detail = cluster.rest("/jobs/" + job.path("jid").asText());
    int maxParallelism = 0;
    for (JsonNode v : detail.path("vertices")) {
      maxParallelism = Math.max(maxParallelism, v.path("parallelism").asInt());
    }
    assertEquals(2, maxParallelism, detail.toString());

    // every calibration session a TaskManager opened for the job, its pool closes once idle for
    // the timeout, whatever Flink does with teardowns: ONNX Runtime frees a session's memory
    // only on close, and these workers outlive the job
    long opened = taskManagerLogLines("calibration: opened an ONNX Runtime session");
    assertTrue(opened >= 1, "no TaskManager logged opening a calibration session");
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
    long closed = 0;
    while ((closed = taskManagerLogLines("calibration: closed an ONNX Runtime session")) < opened
        && System.nanoTime() < deadline) {
      Thread.sleep(250); // the pools' 2 s idle timeout, then their reaper's sweep
    }
    assertEquals(opened, closed,
        "calibration sessions closed by the TaskManagers' pools, of " + opened + " opened");
  }

  /** Lines containing {@code text} in the TaskManagers' log files. */
  static long taskManagerLogLines(String text) throws java.io.IOException {
    long n = 0;
    try (java.util.stream.Stream<Path> files = Files.list(cluster.logDir())) {
      for (Path f : files.filter(f -> f.getFileName().toString().startsWith("taskmanager")
          && f.getFileName().toString().endsWith(".log")).toList()) {
        n += Files.readAllLines(f).stream().filter(l -> l.contains(text)).count();
      }
    }
    return n;
  }

  @Test
  @Order(2)
  void badInputGivesClearErrors() throws Exception {
    // a cluster that is not running: the error names the address
    int port = FlinkCluster.freePort();
    QuantbeamException down = assertThrows(QuantbeamException.class,
        () -> FlinkSubmit.quantize(FlinkLocalTest.args(model, data, dir.resolve("x"),
            "--runner=FlinkRunner", "--flinkMaster=localhost:" + port,
            "--filesToStage=" + jobJar)));
    assertTrue(down.getMessage().contains("http://localhost:" + port), down.getMessage());

    // a job jar without the pipeline's classes
    Path empty = dir.resolve("empty.jar");
    try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(empty))) {
      jar.putNextEntry(new ZipEntry("README.txt"));
      jar.write("not a job jar".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    QuantbeamException lacks = assertThrows(QuantbeamException.class,
        () -> FlinkSubmit.quantize(FlinkLocalTest.args(model, data, dir.resolve("x"),
            "--runner=FlinkRunner", "--flinkMaster=" + cluster.restAddress(),
            "--filesToStage=" + empty)));
    assertTrue(lacks.getMessage().contains("lacks io.quantbeam.pipelines.QuantizePipeline"),
        lacks.getMessage());
    assertTrue(lacks.getMessage().contains(empty.toString()), lacks.getMessage());
    assertFalse(Files.exists(dir.resolve("x")));

    // a port already in use (the running cluster's): clear error, nothing left running
    Path otherRun = dir.resolve("other-cluster");
    int restPort = Integer.parseInt(cluster.restAddress().replace("localhost:", ""));
    QuantbeamException busy = assertThrows(QuantbeamException.class,
        () -> FlinkCluster.start(FlinkCluster.Settings.defaults(repo()).withRunDir(otherRun)
            .withTaskManagers(1, 1).withPorts(restPort, FlinkCluster.freePort())
            .attached(true)));
    assertTrue(busy.getMessage().contains("port " + restPort), busy.getMessage());
    assertTrue(busy.getMessage().contains("already in use"), busy.getMessage());
    assertEquals(List.of(), FlinkCluster.runningProcesses(otherRun));
    assertEquals(2, cluster.rest("/overview").path("taskmanagers").asInt(), "untouched");
  }

  @Test
  @Order(3)
  void killingATaskManagerMidRunRestartsTheJobWithTheSameBytes() throws Exception {
    int jobsBefore = cluster.rest("/jobs/overview").path("jobs").size();
    Path out = dir.resolve("fault");
    CompletableFuture<JsonNode> run = CompletableFuture.supplyAsync(
        () -> FlinkSubmit.quantize(submitArgs(out)));
    // wait until the calibration runs: the job RUNNING and its model-running task RUNNING (its
    // status reaches the REST API at once; record metrics lag by seconds, and calibration of this
    // tiny model now takes about that long)
    String jid = null;
    long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    while (jid == null && System.nanoTime() < deadline && !run.isDone()) {
      JsonNode jobs = cluster.rest("/jobs/overview").path("jobs");
      if (jobs.size() > jobsBefore) {
        JsonNode job = lastJob();
        if (job.path("state").asText().equals("RUNNING")) {
          JsonNode detail = cluster.rest("/jobs/" + job.path("jid").asText());
          for (JsonNode v : detail.path("vertices")) {
            if (v.path("name").asText().contains("ObserveActivations")
                && v.path("status").asText().equals("RUNNING")) {
              jid = job.path("jid").asText();
            }
          }
        }
      }
      Thread.sleep(20);
    }
    assertTrue(jid != null, "the job never ran its calibration (finished: " + run.isDone() + ")");
    long killed = cluster.killTaskManager(0);
    System.out.println("flink cluster: killed TaskManager PID " + killed + " during calibration");

    JsonNode report = run.get(5, TimeUnit.MINUTES);
    assertEquals(directModelSha, OnnxModelIO.sha256(out.resolve(Quantbeam.MODEL_FILE)));
    assertEquals(directTableSha, OnnxModelIO.sha256(out.resolve(Quantbeam.TABLE_FILE)));
    assertEquals(directModelSha, report.path("model").path("sha256").asText());
    JsonNode exceptions = cluster.rest("/jobs/" + jid + "/exceptions");
    assertTrue(exceptions.path("exceptionHistory").path("entries").size() > 0,
        "the kill should have failed and restarted the job: " + exceptions);
    assertEquals("FINISHED", cluster.rest("/jobs/" + jid).path("state").asText());
    System.out.println("flink cluster: job " + jid + " restarted and finished; first failure: "
        + exceptions.path("exceptionHistory").path("entries").get(0).path("exceptionName")
            .asText());
  }

  /**
   * ONNX Runtime and the tokenizer are parent-first: the TaskManager that ran both jobs has mapped
   * one copy of each native library, not one per job.
   */
  @Test
  @Order(4)
  void nativeLibrariesAreLoadedOncePerTaskManager() throws Exception {
    ProcessHandle survivor = cluster.taskManagers().get(1);
    Path maps = Path.of("/proc/" + survivor.pid() + "/maps");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(maps), "needs Linux /proc");
    List<String> lines = Files.readAllLines(maps);
    for (String lib : List.of("libonnxruntime.so", "libtokenizers.so")) {
      List<String> paths = lines.stream().filter(l -> l.endsWith("/" + lib))
          .map(l -> l.substring(l.indexOf('/'))).distinct().toList();
      assertEquals(1, paths.size(), lib + " copies mapped by TaskManager " + survivor.pid()
          + " after 2 jobs: " + paths);
    }
  }

  /**
   * A TaskManager killed while the validation job scores candidates (after the calibration job
   * has finished): the validation job restarts on the survivor, and the selected model, its bytes
   * and the report's figures (FP32 and candidate metrics, the selection) equal an undisturbed
   * DirectRunner run's.
   */
  @Test
  @Order(5)
  void killingATaskManagerDuringValidationGivesTheSameSelectionAndFigures() throws Exception {
    // the survivor of the calibration kill plus a fresh TaskManager
    cluster.startTaskManager();
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (cluster.rest("/overview").path("taskmanagers").asInt() < 2
        && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
    assertEquals(2, cluster.rest("/overview").path("taskmanagers").asInt(), "TaskManagers up");
    // 6,000 texts: scoring lasts a few seconds, long enough for the kill to land in it. Four
    // shards of 1,500: a shard that traveled as one record (about 4.5 MB) would not fit Flink's
    // sort buffer (about 3 MB here) and failed the job; shards now travel in records of 256.
    List<String> texts = TestData.texts(TestData.gluePhrases(9000)).subList(3000, 9000);
    int[] labels = new int[texts.size()];
    Path dev = ParquetFiles.writeLabeled(dir.resolve("dev.parquet"), texts, labels);
    String[] validation = {"--validationData=" + dev, "--labelColumn=label", "--sweep=baseline",
        "--validationShards=4", "--latencyRounds=1", "--latencyTexts=8", "--maxAccuracyDrop=100",
        "--speedTieTolerance=Infinity"};
    Path direct = dir.resolve("direct-validated");
    List<String> directArgs = FlinkLocalTest.args(model, data, direct);
    directArgs.addAll(List.of(validation));
    JsonNode undisturbed = QuantizePipeline.run(FlinkLocalTest.options(directArgs));

    int jobsBefore = cluster.rest("/jobs/overview").path("jobs").size();
    Path out = dir.resolve("fault-validation");
    CompletableFuture<JsonNode> run = CompletableFuture.supplyAsync(
        () -> FlinkSubmit.quantize(submitArgs(out, validation)));
    // the second job of the run is the validation; wait until its scoring steps run
    String jid = null;
    java.util.Set<String> seen = new java.util.TreeSet<>();
    deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
    while (jid == null && System.nanoTime() < deadline && !run.isDone()) {
      if (cluster.rest("/jobs/overview").path("jobs").size() > jobsBefore + 1) {
        JsonNode job = lastJob();
        if (job.path("state").asText().equals("RUNNING")) {
          JsonNode detail = cluster.rest("/jobs/" + job.path("jid").asText());
          for (JsonNode v : detail.path("vertices")) {
            // ValidateCandidates' steps (FP32 reference, scoring) deployed and running
            // (scoring 6,000 texts takes a few seconds here)
            if (v.path("name").asText().contains("Validate/")
                && v.path("status").asText().equals("RUNNING")) {
              jid = job.path("jid").asText();
            }
            seen.add(v.path("name").asText() + " " + v.path("status").asText());
          }
        }
      }
      Thread.sleep(20);
    }
    assertTrue(jid != null, "the validation job never ran ValidateCandidates (finished: "
        + run.isDone() + "; vertices seen: " + seen + ")");
    long killed = cluster.killTaskManager(cluster.taskManagers().size() - 1);
    System.out.println("flink cluster: killed TaskManager PID " + killed + " during validation");

    JsonNode report = run.get(5, TimeUnit.MINUTES);
    assertTrue(taskManagerLogLines("validation: closed") >= 1,
        "the surviving TaskManager closed its validation sessions when the job ended");
    JsonNode exceptions = cluster.rest("/jobs/" + jid + "/exceptions");
    assertTrue(exceptions.path("exceptionHistory").path("entries").size() > 0,
        "the kill should have failed and restarted the validation job: " + exceptions);
    assertEquals("FINISHED", cluster.rest("/jobs/" + jid).path("state").asText());
    for (String file : List.of(Quantbeam.MODEL_FILE, Quantbeam.TABLE_FILE,
        "candidates/baseline.onnx")) {
      assertEquals(OnnxModelIO.sha256(direct.resolve(file)), OnnxModelIO.sha256(out.resolve(file)),
          file);
    }
    JsonNode a = CompareRuns.withoutTiming(undisturbed, direct);
    JsonNode b = CompareRuns.withoutTiming(report, out);
    for (String field : List.of("model", "fp32", "candidates", "selected", "passed", "criterion",
        "validation")) {
      assertEquals(a.path(field), b.path(field), field + " after the kill vs undisturbed");
    }
    assertEquals(texts.size(), b.path("validation").path("examples").asLong());
    System.out.println("flink cluster: validation job " + jid + " restarted and finished with the"
        + " undisturbed run's selection and figures");
  }

  /** The most recently started job of the cluster. */
  static JsonNode lastJob() {
    JsonNode last = null;
    for (JsonNode j : cluster.rest("/jobs/overview").path("jobs")) {
      if (last == null || j.path("start-time").asLong() > last.path("start-time").asLong()) {
        last = j;
      }
    }
    return last;
  }
}
