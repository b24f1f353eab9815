package io.quantbeam.transforms;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.calib.CalibrationBatches;
import io.quantbeam.core.calib.Calibrator;
import io.quantbeam.core.calib.DataFingerprint;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.runtime.ResourcePool;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.stats.TensorStats;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.LabeledText;
import io.quantbeam.core.text.TextTokenizer;
import io.quantbeam.core.validate.LabeledBatch;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.testing.TinyTransformer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Sum;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Each transform on DirectRunner with TestPipeline and PAssert, on a tiny model and tiny data. */
public class TransformsTest {
  @ClassRule public static final TemporaryFolder SHARED = new TemporaryFolder();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();
  @Rule public final transient TestPipeline p = TestPipeline.create();

  static Path model;
  static List<String> texts;

  @BeforeClass
  public static void fixtures() throws Exception {
    model = SHARED.getRoot().toPath().resolve("tiny.onnx");
    OnnxModelIO.save(TinyTransformer.build(TinyTransformer.Config.defaults().withVocab(30522)),
        model);
    texts = TestData.texts(TestData.gluePhrases(40));
  }

  static long counter(PipelineResult r, String name) {
    long sum = 0;
    for (MetricResult<Long> c : r.metrics().queryMetrics(MetricsFilter.builder()
        .addNameFilter(MetricNameFilter.named(Counters.NAMESPACE, name)).build()).getCounters()) {
      sum += c.getCommitted();
    }
    return sum;
  }

  /** A pool whose clock the test moves: idle timeouts pass without waiting for them. */
  static final class ManualClock {
    final java.util.concurrent.atomic.AtomicLong nanos = new java.util.concurrent.atomic.AtomicLong();

    ResourcePool pool(long idleSeconds) {
      return new ResourcePool(new ResourcePool.Settings(Duration.ofSeconds(idleSeconds), 4),
          nanos::get);
    }

    void advance(Duration d) {
      nanos.addAndGet(d.toNanos());
    }
  }

  @Test
  public void aDoFnDroppedWithoutTeardownLeavesNoSessionInUseAndThePoolClosesIt()
      throws Exception {
    ManualClock clock = new ManualClock();
    try (ResourcePool pool = clock.pool(60)) {
      ValidateCandidates.ReferenceFn fn =
          new ValidateCandidates.ReferenceFn(model.toString(), 1, SessionPool.of(pool));
      fn.setup();
      EncodedBatch encoded;
      try (TextTokenizer tok = TextTokenizer.fromFile(MiniLm.tokenizer(), 32)) {
        encoded = tok.encode(texts.subList(0, 4));
      }
      ValidationShard shard = new ValidationShard(0, List.of(
          new LabeledBatch(encoded, new int[] {0, 1, 0, 1}, null)), -1);
      List<ValidationShard> outputs = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        fn.process(shard, new DoFn.OutputReceiver<ValidationShard>() {
          @Override
          public void output(ValidationShard s) {
            outputs.add(s);
          }

          @Override
          public org.apache.beam.sdk.values.OutputBuilder<ValidationShard> builder(
              ValidationShard s) {
            throw new UnsupportedOperationException("only output() is used");
          }
        });
      }
      // no teardown, as when a runner drops a DoFn: nothing stays marked in use
      assertEquals(2, outputs.size());
      ResourcePool.Stats afterBundles = pool.stats();
      assertEquals("one session for both shards", 1, afterBundles.opened());
      assertEquals(0, afterBundles.leased());
      assertEquals(1, afterBundles.open());
      clock.advance(Duration.ofSeconds(59));
      assertEquals(0, pool.closeExpired());
      clock.advance(Duration.ofSeconds(1));
      assertEquals("the pool closes it after the idle timeout", 1, pool.closeExpired());
      assertEquals(0, pool.stats().open());
    }
  }

  @Test
  public void readExamplesSkipsAndCountsEmptyAndUndecodableTexts() throws Exception {
    Path dir = tmp.getRoot().toPath();
    ParquetFiles.write(dir.resolve("a.parquet"), Arrays.asList("good one", null, "", " \t"));
    ParquetFiles.writeBytes(dir.resolve("b.parquet"), "text", List.of(
        new byte[] {(byte) 0xff, 'x'}, "good two".getBytes(StandardCharsets.UTF_8)), true);
    PCollection<String> out = p.apply(ReadExamples.from(dir + "/*.parquet", "text")
            .withLabelColumn("label"))
        .apply(MapElements.into(TypeDescriptors.strings()).via(LabeledText::text));
    PAssert.that(out).containsInAnyOrder("good one", "good two");
    PipelineResult r = p.run();
    r.waitUntilFinish();
    assertEquals(6, counter(r, Counters.ROWS_READ));
    assertEquals(3, counter(r, Counters.SKIPPED_EMPTY));
    assertEquals(1, counter(r, Counters.SKIPPED_UNDECODABLE));
  }

  @Test
  public void readExamplesNamesTheColumnsThereAreAndMissingFiles() throws Exception {
    Path file = ParquetFiles.writeBytes(tmp.getRoot().toPath().resolve("s.parquet"), "sentence",
        List.of("x".getBytes(StandardCharsets.UTF_8)), false);
    QuantbeamException column = assertThrows(QuantbeamException.class,
        () -> p.apply(ReadExamples.from(file.toString(), "text")));
    assertTrue(column.getMessage(), column.getMessage().contains("[sentence, label]"));
    QuantbeamException missing = assertThrows(QuantbeamException.class,
        () -> p.apply("Missing", ReadExamples.from(tmp.getRoot() + "/none-*.parquet", "text")));
    assertTrue(missing.getMessage(), missing.getMessage().contains("none-*.parquet"));
    p.enableAbandonedNodeEnforcement(false);
  }

  @Test
  public void tokenizeAndBatchMakesTheOneMachinePlansBatches() {
    List<String> withLong = new ArrayList<>(texts);
    withLong.add("word ".repeat(80));
    PCollection<EncodedBatch> batches = p.apply(Create.of(withLong))
        .apply(TokenizeAndBatch.of(MiniLm.tokenizer().toString(), 32, 8, 4));
    PCollection<Long> rows = batches
        .apply(MapElements.into(TypeDescriptors.longs()).via(b -> (long) b.batchSize()))
        .apply(org.apache.beam.sdk.transforms.Sum.longsGlobally());
    PAssert.thatSingleton(rows).isEqualTo((long) withLong.size());
    PAssert.thatSingleton(batches.apply(Count.globally()))
        .isEqualTo((long) CalibrationBatches.plan(withLong, 8, 4).size());
    PipelineResult r = p.run();
    r.waitUntilFinish();
    long truncated = 0;
    try (TextTokenizer tok = TextTokenizer.fromFile(MiniLm.tokenizer(), 32)) {
      for (List<String> b : CalibrationBatches.plan(withLong, 8, 4)) {
        truncated += tok.encode(b).truncated();
      }
    }
    assertTrue(truncated >= 1); // the 80-word text at least
    assertEquals(truncated, counter(r, Counters.TRUNCATED));
  }

  @Test
  public void observeAndMergeGiveTheOneMachineTable() throws Exception {
    ResourcePool pool = new ResourcePool(ResourcePool.Settings.defaults());
    SessionPool sessions = SessionPool.of(pool);
    ModelProto prepared = QdqQuantizer.prepare(OnnxModelIO.load(model));
    List<String> tensors = QdqQuantizer.tensorsToCalibrate(prepared, QuantConfig.defaults());
    DataFingerprint fp = new DataFingerprint();
    texts.forEach(fp::add);
    Map<String, TensorStats> expected;
    try (TextTokenizer tok = TextTokenizer.fromFile(MiniLm.tokenizer(), 32);
        Calibrator c = new Calibrator(prepared, tensors, 1)) {
      expected = c.newStatistics();
      for (List<String> b : CalibrationBatches.plan(texts, 8, 4)) {
        c.observe(tok.encode(b), expected);
      }
    }
    Map<String, String> meta = new TreeMap<>();
    meta.put(Quantbeam.MODEL_METADATA, "abc");
    meta.put(Quantbeam.DATA_METADATA, fp.toString());
    meta.put(Quantbeam.SETTINGS_METADATA, "settings");
    String want = new CalibrationTable(expected, meta).sha256();

    PCollection<String> in = p.apply(Create.of(texts));
    PCollectionView<DataFingerprint> view = in.apply(FingerprintTexts.create())
        .apply(View.asSingleton());
    PCollection<CalibrationTable> table = in
        .apply(TokenizeAndBatch.of(MiniLm.tokenizer().toString(), 32, 8, 4)
            .withSessionPool(sessions))
        .apply(ObserveActivations.of(model.toString(), tensors, 1).withSessionPool(sessions))
        .apply(MergeStatistics.withMetadata("abc", view, "settings"));
    PAssert.thatSingleton(table.apply(MapElements.into(TypeDescriptors.strings())
        .via(CalibrationTable::sha256))).isEqualTo(want);
    PipelineResult r = p.run();
    r.waitUntilFinish();
    assertEquals(texts.size(), counter(r, Counters.EXAMPLES_OBSERVED));
    // every DoFn instance and thread shared one session and one tokenizer, and once the
    // pipeline is done none is in use, whether or not the DoFns were torn down yet
    ResourcePool.Stats stats = pool.stats();
    pool.close();
    assertEquals("calibration session, its prepared model, tokenizer: " + stats, 3,
        stats.opened());
    assertEquals(0, stats.leased());
  }

  @Test
  public void quantizeFromTableWritesTheModelAndTable() throws Exception {
    List<String> few = texts.subList(0, 10);
    Quantbeam.Result api = Quantbeam.quantize(model, MiniLm.tokenizer(), few,
        QuantConfig.defaults(), new Quantbeam.Options(8, 32, 1));
    Path out = tmp.getRoot().toPath().resolve("out");
    PCollection<String> summary = p
        .apply(Create.of(api.table()).withCoder(Coders.CalibrationTableCoder.of()))
        .apply(QuantizeFromTable.of(model.toString(), QuantSettings.of(QuantConfig.defaults()),
            out.toString()));
    PAssert.thatSingleton(summary.apply(Count.globally())).isEqualTo(1L);
    p.run().waitUntilFinish();
    assertEquals(OnnxModelIO.sha256(out.resolve(Quantbeam.MODEL_FILE)),
        sha(OnnxModelIO.toBytes(api.model())));
    assertTrue(Files.exists(out.resolve(Quantbeam.TABLE_FILE)));
  }

  static String sha(byte[] b) throws Exception {
    return java.util.HexFormat.of().formatHex(
        java.security.MessageDigest.getInstance("SHA-256").digest(b));
  }

  @Test
  public void validationShardsTravelInRecordsOfAFewBatchesWithTheSameBatches() {
    List<LabeledText> labeled = TestData.gluePhrases(100);
    ShardValidationData whole = ShardValidationData.of(MiniLm.tokenizer().toString(), 64, 4, 3)
        .withRecordLimits(1000, 1_000_000);
    // at most 2 batches of 4 texts per record; then at most 1 batch (any batch has > 4 tokens)
    ShardValidationData byTexts = whole.withRecordLimits(10, 1_000_000);
    ShardValidationData byTokens = whole.withRecordLimits(1000, 4);
    PCollection<ValidationShard> wholeShards =
        p.apply("Whole", Create.of(labeled).withCoder(Coders.LabeledTextCoder.of()))
            .apply("ShardWhole", whole);
    PAssert.that(wholeShards).satisfies(shards -> {
      assertEquals(3, count(shards));
      return null;
    });
    int variant = 0;
    for (ShardValidationData capped : List.of(byTexts, byTokens)) {
      int maxBatches = variant == 0 ? 2 : 1;
      String name = "Capped" + variant++;
      PCollection<ValidationShard> cappedShards =
          p.apply(name, Create.of(labeled).withCoder(Coders.LabeledTextCoder.of()))
              .apply("Shard" + name, capped);
      PAssert.that(cappedShards).satisfies(shards -> {
        int records = 0;
        for (ValidationShard s : shards) {
          assertTrue("at most " + maxBatches + " batches per record",
              s.batches().size() <= maxBatches);
          records++;
        }
        assertTrue("more records than shards: " + records, records > 3 * 2);
        return null;
      });
      // the same batches, each exactly once: +1 per whole-shard batch, -1 per capped one
      PCollection<KV<String, Integer>> balance = PCollectionList
          .of(wholeShards.apply("WholeBatches" + name, ParDo.of(new BatchKeys(1))))
          .and(cappedShards.apply("Batches" + name, ParDo.of(new BatchKeys(-1))))
          .apply("Flatten" + name, Flatten.pCollections())
          .apply("Sum" + name, Sum.integersPerKey());
      PAssert.that(balance).satisfies(sums -> {
        int batches = 0;
        for (KV<String, Integer> kv : sums) {
          assertEquals("batch " + kv.getKey(), 0, (int) kv.getValue());
          batches++;
        }
        assertTrue("100 texts in 3 shards, batches of 4: " + batches,
            batches >= 25 && batches <= 27);
        return null;
      });
    }
    p.run();
  }

  private static int count(Iterable<?> items) {
    int n = 0;
    for (Object ignored : items) {
      n++;
    }
    return n;
  }

  /** Each batch of a shard as (shard, labels, token ids) with a weight. */
  static final class BatchKeys extends DoFn<ValidationShard, KV<String, Integer>> {
    private final int weight;

    BatchKeys(int weight) {
      this.weight = weight;
    }

    @ProcessElement
    public void process(@Element ValidationShard shard, OutputReceiver<KV<String, Integer>> out) {
      for (LabeledBatch b : shard.batches()) {
        out.output(KV.of(shard.id() + " " + Arrays.toString(b.labels()) + " "
            + Arrays.toString(b.encoded().inputIds()), weight));
      }
    }
  }

  @Test
  public void codersRoundTripAndAreDeterministic() throws Exception {
    TensorStats s = new TensorStats();
    s.addBatch(new float[] {1f, -2f, 0f, 3.5f}, 0, 4);
    CoderProperties.coderDecodeEncodeEqual(Coders.TensorStatsCoder.of(), s);
    CoderProperties.coderDeterministic(Coders.TensorStatsCoder.of(), s, s.copy());
    CalibrationTable t = new CalibrationTable(Map.of("x", s), Map.of("k", "v"));
    CoderProperties.coderDecodeEncodeEqual(Coders.CalibrationTableCoder.of(), t);
    CoderProperties.coderDecodeEncodeEqual(Coders.LabeledTextCoder.of(), new LabeledText("a", -1));
    DataFingerprint f = new DataFingerprint();
    f.add("hello");
    assertEquals(f.toString(), org.apache.beam.sdk.util.CoderUtils.clone(Coders.DataFingerprintCoder.of(), f)
        .toString());
    EncodedBatch b = new EncodedBatch(1, 2, new long[] {101, 102}, new long[] {1, 1},
        new long[] {0, 0}, 0, 2);
    EncodedBatch back = org.apache.beam.sdk.util.CoderUtils.clone(Coders.EncodedBatchCoder.of(), b);
    assertTrue(Arrays.equals(b.inputIds(), back.inputIds()) && back.seqLen() == 2);
    StringUtf8Coder.of().verifyDeterministic();
  }
}
