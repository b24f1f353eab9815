package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.runtime.ResourcePool;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.testing.TinyTransformer;
import io.quantbeam.transforms.ParquetFiles;
import io.quantbeam.transforms.SessionPool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A long sweep: 50 candidates (50 user exclusion sets) built, validated on Beam and timed, on a
 * tiny model, with a session pool of the test's own. Prints the resident memory as the candidates'
 * sessions are opened; asserts that none is in use once the pipeline is done, that the sessions
 * open at once stay bounded, and that the pool closes the rest after its idle timeout (RSS itself
 * moves with a shared machine and is only reported).
 */
class LongSweepTest {
  record Sample(long opened, int open, long rssKb) {}

  static long rssKb() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    return -1;
  }

  @Test
  void fiftyCandidatesCloseTheirSessionsAndKeepTheFootprintFlat(@TempDir Path dir)
      throws Exception {
    Path model = dir.resolve("tiny.onnx");
    OnnxModelIO.save(TinyTransformer.build(TinyTransformer.Config.defaults().withVocab(30522)
        .withClassifierHead(2)), model);
    List<String> texts = TestData.texts(TestData.gluePhrases(160));
    Path calib = ParquetFiles.write(dir.resolve("calib.parquet"), texts.subList(0, 80));
    Path dev = ParquetFiles.writeLabeled(dir.resolve("dev.parquet"), texts.subList(80, 160),
        new int[80]);
    Path out = dir.resolve("out");
    List<String> base = List.of("--model=" + model, "--tokenizer=" + MiniLm.tokenizer(),
        "--calibrationData=" + calib, "--output=" + out, "--batchSize=8",
        "--maxSequenceLength=32", "--intraOpThreads=1", "--reuseCalibration=true");
    PipelineOptionsFactory.register(QuantizeOptions.class);
    // the node names to exclude, from a first run without validation (its table is reused)
    JsonNode first = QuantizePipeline.run(PipelineOptionsFactory.fromArgs(
        base.toArray(String[]::new)).withValidation().as(QuantizeOptions.class));
    List<String> nodes = new ArrayList<>();
    first.path("decisions").forEach(d -> {
      if (d.path("quantized").asBoolean()) {
        nodes.add(d.path("node").asText());
      }
    });
    List<String> sets = new ArrayList<>();
    for (int i = 0; i < nodes.size() && sets.size() < 50; i++) {
      for (int j = i; j < nodes.size() && sets.size() < 50; j++) {
        sets.add(i == j ? nodes.get(i) : nodes.get(i) + "," + nodes.get(j));
      }
    }
    assertEquals(50, sets.size(), "the tiny model has too few quantized nodes: " + nodes);

    List<String> args = new ArrayList<>(base);
    args.addAll(List.of("--validationData=" + dev, "--labelColumn=label", "--sweep=user",
        "--excludeSets=" + String.join(";", sets), "--validationShards=1", "--latencyRounds=1",
        "--latencyTexts=8", "--maxAccuracyDrop=100"));
    // the sweep's own pool, with a clock the test moves: the idle timeout passes at once
    AtomicLong nanos = new AtomicLong();
    ResourcePool pool = new ResourcePool(new ResourcePool.Settings(Duration.ofSeconds(60), 4),
        nanos::get);
    QuantizeOptions o = PipelineOptionsFactory.fromArgs(args.toArray(String[]::new))
        .withValidation().as(QuantizeOptions.class);
    o.setSessionPool(SessionPool.of(pool).name());
    List<Sample> samples = new CopyOnWriteArrayList<>();
    samples.add(new Sample(0, 0, rssKb()));
    Thread sampler = new Thread(() -> {
      try {
        while (!Thread.currentThread().isInterrupted()) {
          ResourcePool.Stats s = pool.stats();
          samples.add(new Sample(s.opened(), s.open(), rssKb()));
          Thread.sleep(100);
        }
      } catch (Exception stop) {
        // interrupted: done
      }
    });
    sampler.setDaemon(true);
    sampler.start();
    JsonNode report;
    try {
      report = QuantizePipeline.run(o);
    } finally {
      sampler.interrupt();
      sampler.join();
    }
    ResourcePool.Stats done = pool.stats();
    samples.add(new Sample(done.opened(), done.open(), rssKb()));
    assertEquals(50, report.path("candidates").size());

    // RSS when the 10th, 20th, ... session was open (validation, then latency), the peak, the end
    List<String> series = new ArrayList<>();
    long next = 10;
    int peakOpen = 0;
    long peakRss = 0;
    for (Sample s : samples) {
      if (s.opened() >= next) {
        series.add(s.opened() + " sessions opened: " + s.rssKb() / 1024 + " MB");
        next = (s.opened() / 10 + 1) * 10;
      }
      peakOpen = Math.max(peakOpen, s.open());
      peakRss = Math.max(peakRss, s.rssKb());
    }
    Sample end = samples.get(samples.size() - 1);
    System.out.println("long sweep, 50 candidates: RSS " + samples.get(0).rssKb() / 1024
        + " MB before; " + series + "; peak " + peakRss / 1024 + " MB with at most " + peakOpen
        + " pool entries open at once (sampled); after: " + end.rssKb() / 1024 + " MB; pool "
        + done);

    // FP32 and 50 candidates were opened, each through the pool; none is in use once the
    // pipeline is done, with no wait for DirectRunner's teardowns
    assertTrue(done.opened() >= 51, "FP32 and 50 candidates were opened: " + done);
    assertEquals(0, done.leased(), "entries still in use after the sweep: " + done);
    // what is open at once does not grow with the sweep: the idle ones the pool keeps, plus
    // one lease per DirectRunner worker thread
    int threads = Math.max(Runtime.getRuntime().availableProcessors(), 3);
    int bound = pool.settings().maxIdle() + threads + 1;
    assertTrue(done.peakOpen() <= bound, "at most " + bound + " entries open at once, but "
        + done.peakOpen() + " were");
    // and the pool closes the idle rest by itself once they pass the timeout
    nanos.addAndGet(Duration.ofSeconds(60).toNanos());
    assertEquals(done.open(), pool.closeExpired());
    assertEquals(0, pool.stats().open());
    pool.close();
  }
}
