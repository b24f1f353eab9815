package io.quantbeam.transforms;

import io.quantbeam.core.runtime.ResourcePool;
import io.quantbeam.core.validate.EvalAccumulator;
import io.quantbeam.core.validate.LabeledBatch;
import io.quantbeam.core.validate.ModelRunner;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
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

/**
 * Scores FP32 and every candidate on every shard of the validation set, in parallel: the FP32
 * model runs once per shard (its outputs travel with the shard), then each (candidate, shard) pair
 * is one element, spread over the workers; metrics are combined per candidate exactly
 * ({@link EvalAccumulator}), so the result does not depend on sharding or order. Each element
 * leases its model's session from the worker's {@link SessionPool}, keyed by the model file's
 * SHA-256, which keeps a few idle ones open for the next shard and closes the rest. Output: KV(candidate name,
 * metrics), plus KV({@value #FP32}, FP32's own metrics).
 */
public final class ValidateCandidates
    extends PTransform<PCollection<ValidationShard>, PCollection<KV<String, EvalAccumulator>>> {
  /** The key of the FP32 model's metrics. */
  public static final String FP32 = "fp32";

  private final String fp32Path;
  private final PCollectionView<List<BuiltCandidate>> candidates;
  private final int intraOpThreads;
  private final SessionPool sessions;

  private ValidateCandidates(String fp32Path, PCollectionView<List<BuiltCandidate>> candidates,
      int intraOpThreads, SessionPool sessions) {
    this.fp32Path = fp32Path;
    this.candidates = candidates;
    this.intraOpThreads = intraOpThreads;
    this.sessions = sessions;
  }

  public static ValidateCandidates of(String fp32Path,
      PCollectionView<List<BuiltCandidate>> candidates, int intraOpThreads) {
    return new ValidateCandidates(fp32Path, candidates, intraOpThreads, SessionPool.worker());
  }

  /** The same, with sessions from {@code sessions} instead of the worker pool. */
  public ValidateCandidates withSessionPool(SessionPool sessions) {
    return new ValidateCandidates(fp32Path, candidates, intraOpThreads, sessions);
  }

  /** One unit of work: a model (null path: FP32 itself) and a shard with FP32 outputs. */
  public record Work(String path, String sha256, ValidationShard shard) implements Serializable {}

  @Override
  public PCollection<KV<String, EvalAccumulator>> expand(PCollection<ValidationShard> shards) {
    return shards
        .apply("RunFp32", ParDo.of(new ReferenceFn(fp32Path, intraOpThreads, sessions)))
        .setCoder(Coders.JavaSerialCoder.of(ValidationShard.class))
        .apply("FanOut", ParDo.of(new FanOutFn(candidates)).withSideInputs(candidates))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), Coders.JavaSerialCoder.of(Work.class)))
        .apply("Spread", Reshuffle.of())
        .apply("Score", ParDo.of(new ScoreFn(intraOpThreads, sessions)))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), AccumulatorCoder.of()))
        .apply("CombinePerCandidate", Combine.perKey(new MergeFn()))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), AccumulatorCoder.of()));
  }

  /**
   * A lease on the session for the model at {@code path} whose SHA-256 is {@code sha}: one per
   * model and thread count in a worker JVM, however many shards and DoFns use it.
   */
  static ResourcePool.Lease<ModelRunner> lease(SessionPool sessions, String path, String sha,
      int threads) {
    return sessions.pool().lease("validation\u0000" + sha + "\u0000" + threads,
        () -> WorkerFiles.openRunner(path, threads));
  }

  static final class ReferenceFn extends DoFn<ValidationShard, ValidationShard> {
    private final String path;
    private final int threads;
    private final SessionPool sessions;
    private transient String sha;

    ReferenceFn(String path, int threads, SessionPool sessions) {
      this.path = path;
      this.threads = threads;
      this.sessions = sessions;
    }

    @Setup
    public void setup() {
      sha = WorkerFiles.sha256(path);
    }

    @ProcessElement
    public void process(@Element ValidationShard shard, OutputReceiver<ValidationShard> out) {
      ValidationShard withReference;
      try (ResourcePool.Lease<ModelRunner> runner = lease(sessions, path, sha, threads)) {
        List<LabeledBatch> withRef = new ArrayList<>();
        for (LabeledBatch b : shard.batches()) {
          withRef.add(b.withReference(runner.get().run(b.encoded())));
        }
        withReference = new ValidationShard(shard.id(), withRef, runner.get().classes());
      }
      out.output(withReference);
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
    private final SessionPool sessions;
    private final Counter scored = Counters.counter("examplesScored");

    ScoreFn(int threads, SessionPool sessions) {
      this.threads = threads;
      this.sessions = sessions;
    }

    @ProcessElement
    public void process(@Element KV<String, Work> work,
        OutputReceiver<KV<String, EvalAccumulator>> out) {
      Work w = work.getValue();
      EvalAccumulator acc = new EvalAccumulator(Math.max(0, w.shard().classes()));
      if (w.path() == null) {
        score(acc, w.shard(), null);
      } else {
        try (ResourcePool.Lease<ModelRunner> runner =
            lease(sessions, w.path(), w.sha256(), threads)) {
          score(acc, w.shard(), runner.get());
        }
      }
      if (FIRST_LOGGED.compareAndSet(false, true)) {
        // one line per JVM: the candidates are built and scoring runs
        LOG.info("validation: first shard scored ({} on shard {})", work.getKey(),
            w.shard().id());
      }
      out.output(KV.of(work.getKey(), acc));
    }

    /** Scores a shard with {@code runner}, or with its FP32 outputs when runner is null. */
    private void score(EvalAccumulator acc, ValidationShard shard, ModelRunner runner) {
      for (LabeledBatch b : shard.batches()) {
        float[][] outputs = runner == null ? b.reference() : runner.run(b.encoded());
        for (int i = 0; i < b.size(); i++) {
          acc.add(b.reference()[i], outputs[i], b.labels()[i]);
        }
        scored.inc(b.size());
      }
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
