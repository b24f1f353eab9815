package io.quantbeam.transforms;

import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.validate.EvalAccumulator;
import io.quantbeam.core.validate.LabeledBatch;
import io.quantbeam.core.validate.ModelRunner;
import io.quantbeam.core.validate.SessionCache;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;
import org.slf4j.LoggerFactory;

/**
 * Scores FP32 and every candidate on every shard of the validation set, in parallel: the FP32
 * model runs once per shard (its outputs travel with the shard), then each (candidate, shard) pair
 * is one element, spread over the workers; metrics are combined per candidate exactly
 * ({@link EvalAccumulator}), so the result does not depend on sharding or order. Each worker JVM
 * keeps a few sessions open, keyed by the model file's SHA-256. Output: KV(candidate name,
 * metrics), plus KV({@value #FP32}, FP32's own metrics).
 */
public final class ValidateCandidates
    extends PTransform<PCollection<ValidationShard>, PCollection<KV<String, EvalAccumulator>>> {
  /** The key of the FP32 model's metrics. */
  public static final String FP32 = "fp32";
  /** Idle sessions a worker JVM keeps open for the next shard of the same model. */
  public static final int CACHED_SESSIONS =
      Math.max(2, Runtime.getRuntime().availableProcessors() + 1);
  private static final SessionCache SESSIONS = new SessionCache(CACHED_SESSIONS);
  /**
   * DoFn instances between setup and teardown in this JVM that use {@link #SESSIONS}. When the
   * last one tears down, the cache's sessions are closed: ONNX Runtime frees a session's native
   * memory only on close, so a long-lived worker would otherwise keep every job's sessions.
   */
  private static final AtomicInteger USERS = new AtomicInteger();

  private final String fp32Path;
  private final PCollectionView<List<BuiltCandidate>> candidates;
  private final int intraOpThreads;

  private ValidateCandidates(String fp32Path, PCollectionView<List<BuiltCandidate>> candidates,
      int intraOpThreads) {
    this.fp32Path = fp32Path;
    this.candidates = candidates;
    this.intraOpThreads = intraOpThreads;
  }

  public static ValidateCandidates of(String fp32Path,
      PCollectionView<List<BuiltCandidate>> candidates, int intraOpThreads) {
    return new ValidateCandidates(fp32Path, candidates, intraOpThreads);
  }

  /** One unit of work: a model (null path: FP32 itself) and a shard with FP32 outputs. */
  public record Work(String path, String sha256, ValidationShard shard) implements Serializable {}

  @Override
  public PCollection<KV<String, EvalAccumulator>> expand(PCollection<ValidationShard> shards) {
    return shards
        .apply("RunFp32", ParDo.of(new ReferenceFn(fp32Path, intraOpThreads)))
        .setCoder(Coders.JavaSerialCoder.of(ValidationShard.class))
        .apply("FanOut", ParDo.of(new FanOutFn(candidates)).withSideInputs(candidates))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), Coders.JavaSerialCoder.of(Work.class)))
        .apply("Spread", Reshuffle.of())
        .apply("Score", ParDo.of(new ScoreFn(intraOpThreads)))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), AccumulatorCoder.of()))
        .apply("CombinePerCandidate", Combine.perKey(new MergeFn()))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), AccumulatorCoder.of()));
  }

  /** Sessions this JVM's cache holds open now (in use or idle). */
  public static int cachedSessions() {
    return SESSIONS.open();
  }

  static ModelRunner acquire(String path, String sha, int threads) {
    return SESSIONS.acquire(sha + "\u0000" + threads, () -> new ModelRunner(Path.of(path), threads));
  }

  static void release(String sha, int threads) {
    SESSIONS.release(sha + "\u0000" + threads);
    if (USERS.get() == 0) {
      // released after the last teardown closed the idle ones: nobody is left to close it later
      closeIdleSessions();
    }
  }

  /** DoFn instances between setup and teardown in this JVM that use the cache. */
  static int users() {
    return USERS.get();
  }

  /**
   * For tests: counts one more user of the cache until closed, as a DoFn that DirectRunner set up
   * and never tore down would, so that no teardown brings the count to zero.
   */
  public static AutoCloseable holdUserForTest() {
    boolean using = startUsingSessions();
    return () -> stopUsingSessions(using);
  }

  /** A DoFn's setup counts it among the cache's users; returns its {@code usingSessions} flag. */
  static boolean startUsingSessions() {
    USERS.incrementAndGet();
    return true;
  }

  /**
   * A teardown undoes its setup's count, once, whatever the number of teardowns; the last user's
   * closes the idle sessions (all of them, once nothing scores). Returns the flag's new value.
   */
  static boolean stopUsingSessions(boolean using) {
    if (using && USERS.decrementAndGet() == 0) {
      closeIdleSessions();
    }
    return false;
  }

  /**
   * Closes this JVM's idle validation sessions. The driver calls it once a pipeline has finished:
   * on DirectRunner the DoFns run in the driver's JVM, and its last teardown has been seen to
   * leave one session open (fresh-clone CI runs of LongSweepTest: 2 of 3 closed). On a cluster
   * the driver's cache is empty and this does nothing.
   */
  public static void closeIdleSessions() {
    int closed = SESSIONS.closeIdle();
    if (closed > 0) {
      LoggerFactory.getLogger(ValidateCandidates.class).info(
          "validation: closed {} idle ONNX Runtime sessions", closed);
    }
  }

  static final class ReferenceFn extends DoFn<ValidationShard, ValidationShard> {
    private final String path;
    private final int threads;
    private transient String sha;
    private transient boolean usingSessions;

    ReferenceFn(String path, int threads) {
      this.path = path;
      this.threads = threads;
    }

    @Setup
    public void setup() {
      sha = OnnxModelIO.sha256(Path.of(path));
      usingSessions = startUsingSessions();
    }

    @Teardown
    public void teardown() {
      // sha stays: a teardown that clears it while a bundle still runs (fresh-clone CI runs saw
      // the FP32 session kept open) would make that bundle release a key it never acquired
      usingSessions = stopUsingSessions(usingSessions);
    }

    @ProcessElement
    public void process(@Element ValidationShard shard, OutputReceiver<ValidationShard> out) {
      String key = sha;
      ModelRunner runner = acquire(path, key, threads);
      try {
        List<LabeledBatch> withRef = new ArrayList<>();
        for (LabeledBatch b : shard.batches()) {
          withRef.add(b.withReference(runner.run(b.encoded())));
        }
        out.output(new ValidationShard(shard.id(), withRef, runner.classes()));
      } finally {
        release(key, threads);
      }
    }
  }

  static final class FanOutFn extends DoFn<ValidationShard, KV<String, Work>> {
    private final PCollectionView<List<BuiltCandidate>> candidates;

    FanOutFn(PCollectionView<List<BuiltCandidate>> candidates) {
      this.candidates = candidates;
    }

    @ProcessElement
    public void process(ProcessContext c) {
      ValidationShard shard = c.element();
      c.output(KV.of(FP32, new Work(null, null, shard)));
      for (BuiltCandidate b : c.sideInput(candidates)) {
        if (b.path() != null) {
          c.output(KV.of(b.name(), new Work(b.path(), b.sha256(), shard)));
        }
      }
    }
  }

  static final class ScoreFn extends DoFn<KV<String, Work>, KV<String, EvalAccumulator>> {
    private static final org.slf4j.Logger LOG =
        org.slf4j.LoggerFactory.getLogger(ValidateCandidates.class);
    private static final java.util.concurrent.atomic.AtomicBoolean FIRST_LOGGED =
        new java.util.concurrent.atomic.AtomicBoolean();
    private final int threads;
    private final Counter scored = Counters.counter("examplesScored");

    private transient boolean usingSessions;

    ScoreFn(int threads) {
      this.threads = threads;
    }

    @Setup
    public void setup() {
      usingSessions = startUsingSessions();
    }

    @Teardown
    public void teardown() {
      usingSessions = stopUsingSessions(usingSessions);
    }

    @ProcessElement
    public void process(@Element KV<String, Work> work,
        OutputReceiver<KV<String, EvalAccumulator>> out) {
      Work w = work.getValue();
      EvalAccumulator acc = new EvalAccumulator(Math.max(0, w.shard().classes()));
      ModelRunner runner = w.path() == null ? null : acquire(w.path(), w.sha256(), threads);
      try {
        for (LabeledBatch b : w.shard().batches()) {
          float[][] outputs = runner == null ? b.reference() : runner.run(b.encoded());
          for (int i = 0; i < b.size(); i++) {
            acc.add(b.reference()[i], outputs[i], b.labels()[i]);
          }
          scored.inc(b.size());
        }
        if (FIRST_LOGGED.compareAndSet(false, true)) {
          // one line per JVM: the candidates are built and scoring runs
          LOG.info("validation: first shard scored ({} on shard {})", work.getKey(),
              w.shard().id());
        }
      } finally {
        if (runner != null) {
          release(w.sha256(), threads);
        }
      }
      out.output(KV.of(work.getKey(), acc));
    }
  }

  /** Exact merge; the accumulator travels as its bytes. */
  static final class MergeFn extends Combine.CombineFn<EvalAccumulator, byte[], EvalAccumulator> {
    @Override
    public byte[] createAccumulator() {
      return new EvalAccumulator(0).toBytes();
    }

    @Override
    public byte[] addInput(byte[] acc, EvalAccumulator input) {
      return EvalAccumulator.fromBytes(acc).mergeFrom(input).toBytes();
    }

    @Override
    public byte[] mergeAccumulators(Iterable<byte[]> accs) {
      EvalAccumulator out = new EvalAccumulator(0);
      for (byte[] a : accs) {
        out.mergeFrom(EvalAccumulator.fromBytes(a));
      }
      return out.toBytes();
    }

    @Override
    public EvalAccumulator extractOutput(byte[] acc) {
      return EvalAccumulator.fromBytes(acc);
    }

    @Override
    public org.apache.beam.sdk.coders.Coder<byte[]> getAccumulatorCoder(
        org.apache.beam.sdk.coders.CoderRegistry registry,
        org.apache.beam.sdk.coders.Coder<EvalAccumulator> inputCoder) {
      return ByteArrayCoder.of();
    }
  }

  /** {@link EvalAccumulator} as its bytes. */
  public static final class AccumulatorCoder extends CustomCoder<EvalAccumulator> {
    private static final AccumulatorCoder INSTANCE = new AccumulatorCoder();

    public static AccumulatorCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(EvalAccumulator value, OutputStream out) throws IOException {
      ByteArrayCoder.of().encode(value.toBytes(), out);
    }

    @Override
    public EvalAccumulator decode(InputStream in) throws IOException {
      return EvalAccumulator.fromBytes(ByteArrayCoder.of().decode(in));
    }
  }
}
