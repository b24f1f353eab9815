package io.quantbeam.transforms;

import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.runtime.ResourcePool;
import io.quantbeam.core.text.TextTokenizer;
import java.util.List;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableBiFunction;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;

/**
 * Texts to one {@code KV(unknown tokens, real tokens)}: how much of a corpus the tokenizer cannot
 * read. A sum, so it does not depend on bundles or parallelism (unlike a metric, which a runner may
 * count twice on retries).
 */
public final class CountUnknownTokens
    extends PTransform<PCollection<String>, PCollection<KV<Long, Long>>> {
  private final String tokenizerPath;
  private final int maxLength;
  private final SessionPool sessions;

  private CountUnknownTokens(String tokenizerPath, int maxLength, SessionPool sessions) {
    this.tokenizerPath = tokenizerPath;
    this.maxLength = maxLength;
    this.sessions = sessions;
  }

  public static CountUnknownTokens of(String tokenizerPath, int maxLength) {
    return new CountUnknownTokens(tokenizerPath, maxLength, SessionPool.worker());
  }

  /** The same, with the tokenizer from {@code sessions} instead of the worker pool. */
  public CountUnknownTokens withSessionPool(SessionPool sessions) {
    return new CountUnknownTokens(tokenizerPath, maxLength, sessions);
  }

  @Override
  public PCollection<KV<Long, Long>> expand(PCollection<String> texts) {
    KvCoder<Long, Long> coder = KvCoder.of(VarLongCoder.of(), VarLongCoder.of());
    return texts
        .apply("CountPerText", ParDo.of(new CountFn(tokenizerPath, maxLength, sessions)))
        .setCoder(coder)
        .apply("Sum", Combine.globally(Combine.BinaryCombineFn.of(
            (SerializableBiFunction<KV<Long, Long>, KV<Long, Long>, KV<Long, Long>>)
                (a, b) -> KV.of(a.getKey() + b.getKey(), a.getValue() + b.getValue())))
            .withoutDefaults())
        .setCoder(coder);
  }

  static final class CountFn extends DoFn<String, KV<Long, Long>> {
    private final String tokenizerPath;
    private final int maxLength;
    private final SessionPool sessions;

    CountFn(String tokenizerPath, int maxLength, SessionPool sessions) {
      this.tokenizerPath = tokenizerPath;
      this.maxLength = maxLength;
      this.sessions = sessions;
    }

    @ProcessElement
    public void process(@Element String text, OutputReceiver<KV<Long, Long>> out) {
      try (ResourcePool.Lease<TextTokenizer> tokenizer =
          sessions.tokenizer(tokenizerPath, maxLength)) {
        EncodedBatch b = tokenizer.get().encode(List.of(text));
        out.output(KV.of(tokenizer.get().unknownTokens(b), b.realTokens()));
      }
    }
  }
}
