package io.quantbeam.transforms;

import io.quantbeam.core.text.EncodedBatch;
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

  private CountUnknownTokens(String tokenizerPath, int maxLength) {
    this.tokenizerPath = tokenizerPath;
    this.maxLength = maxLength;
  }

  public static CountUnknownTokens of(String tokenizerPath, int maxLength) {
    return new CountUnknownTokens(tokenizerPath, maxLength);
  }

  @Override
  public PCollection<KV<Long, Long>> expand(PCollection<String> texts) {
    KvCoder<Long, Long> coder = KvCoder.of(VarLongCoder.of(), VarLongCoder.of());
    return texts
        .apply("CountPerText", ParDo.of(new CountFn(tokenizerPath, maxLength)))
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
    private transient TextTokenizer tokenizer;

    CountFn(String tokenizerPath, int maxLength) {
      this.tokenizerPath = tokenizerPath;
      this.maxLength = maxLength;
    }

    @Setup
    public void setup() {
      tokenizer = SharedResources.tokenizer(tokenizerPath, maxLength);
    }

    @ProcessElement
    public void process(@Element String text, OutputReceiver<KV<Long, Long>> out) {
      EncodedBatch b = tokenizer.encode(List.of(text));
      out.output(KV.of(tokenizer.unknownTokens(b), b.realTokens()));
    }
  }
}
