package io.quantbeam.transforms;

import io.quantbeam.core.calib.CalibrationBatches;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.runtime.ResourcePool;
import io.quantbeam.core.text.TextTokenizer;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;

/**
 * Cuts texts into the calibration batches of {@link CalibrationBatches} and tokenizes them: each
 * text goes to its bucket ({@link CalibrationBatches#bucket}, from the text alone), a bucket's texts
 * are sorted and cut by {@link CalibrationBatches#batchesOfBucket}. Batches therefore do not depend
 * on files, order or parallelism, and match the one-machine API's batches exactly.
 *
 * <p>Counts {@value Counters#TEXTS_BATCHED}, {@value Counters#BATCHES}, {@value Counters#TOKENS}
 * and {@value Counters#TRUNCATED} (texts cut at the maximum length).
 */
public final class TokenizeAndBatch
    extends PTransform<PCollection<String>, PCollection<EncodedBatch>> {
  private final String tokenizerPath;
  private final int maxLength;
  private final int batchSize;
  private final int buckets;
  private final SessionPool sessions;

  private TokenizeAndBatch(String tokenizerPath, int maxLength, int batchSize, int buckets,
      SessionPool sessions) {
    if (batchSize < 1 || buckets < 1 || maxLength < 2) {
      throw new IllegalArgumentException("batchSize and buckets must be >= 1 and maxLength >= 2"
          + " (got " + batchSize + ", " + buckets + ", " + maxLength + ")");
    }
    this.tokenizerPath = tokenizerPath;
    this.maxLength = maxLength;
    this.batchSize = batchSize;
    this.buckets = buckets;
    this.sessions = sessions;
  }

  public static TokenizeAndBatch of(String tokenizerPath, int maxLength, int batchSize,
      int buckets) {
    return new TokenizeAndBatch(tokenizerPath, maxLength, batchSize, buckets,
        SessionPool.worker());
  }

  /** The same, with the tokenizer from {@code sessions} instead of the worker pool. */
  public TokenizeAndBatch withSessionPool(SessionPool sessions) {
    return new TokenizeAndBatch(tokenizerPath, maxLength, batchSize, buckets, sessions);
  }

  @Override
  public PCollection<EncodedBatch> expand(PCollection<String> texts) {
    return texts
        .apply("KeyByBucket", ParDo.of(new KeyByBucket(buckets)))
        .setCoder(KvCoder.of(VarIntCoder.of(), StringUtf8Coder.of()))
        .apply("GroupByBucket", GroupByKey.create())
        .apply("CutAndTokenize", ParDo.of(new CutAndTokenize(tokenizerPath, maxLength, batchSize,
            sessions)))
        .setCoder(Coders.EncodedBatchCoder.of());
  }

  static final class KeyByBucket extends DoFn<String, KV<Integer, String>> {
    private final int buckets;

    KeyByBucket(int buckets) {
      this.buckets = buckets;
    }

    @ProcessElement
    public void process(@Element String text, OutputReceiver<KV<Integer, String>> out) {
      out.output(KV.of(CalibrationBatches.bucket(text, buckets), text));
    }
  }

  static final class CutAndTokenize extends DoFn<KV<Integer, Iterable<String>>, EncodedBatch> {
    private final String tokenizerPath;
    private final int maxLength;
    private final int batchSize;
    private final Counter texts = Counters.counter(Counters.TEXTS_BATCHED);
    private final Counter batches = Counters.counter(Counters.BATCHES);
    private final Counter tokens = Counters.counter(Counters.TOKENS);
    private final Counter truncated = Counters.counter(Counters.TRUNCATED);
    private final SessionPool sessions;

    CutAndTokenize(String tokenizerPath, int maxLength, int batchSize, SessionPool sessions) {
      this.tokenizerPath = tokenizerPath;
      this.maxLength = maxLength;
      this.batchSize = batchSize;
      this.sessions = sessions;
    }

    @ProcessElement
    public void process(@Element KV<Integer, Iterable<String>> bucket,
        OutputReceiver<EncodedBatch> out) {
      List<String> all = new ArrayList<>();
      bucket.getValue().forEach(all::add);
      try (ResourcePool.Lease<TextTokenizer> tokenizer =
          sessions.tokenizer(tokenizerPath, maxLength)) {
        for (List<String> batch : CalibrationBatches.batchesOfBucket(all, batchSize)) {
          EncodedBatch encoded = tokenizer.get().encode(batch);
          texts.inc(encoded.batchSize());
          batches.inc();
          tokens.inc(encoded.realTokens());
          truncated.inc(encoded.truncated());
          out.output(encoded);
        }
      }
    }
  }
}
