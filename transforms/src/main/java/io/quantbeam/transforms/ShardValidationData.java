package io.quantbeam.transforms;

import io.quantbeam.core.calib.CalibrationBatches;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.LabeledText;
import io.quantbeam.core.runtime.ResourcePool;
import io.quantbeam.core.text.TextTokenizer;
import io.quantbeam.core.validate.LabeledBatch;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;

/**
 * Cuts labeled texts into {@code shards} shards (by a hash of the text, so a shard does not depend
 * on files or order), sorts each shard by (length, text, label), cuts it into batches and
 * tokenizes them. The validation fans out over these shards.
 *
 * <p>A shard travels as records of whole batches, at most {@value #MAX_TEXTS_PER_RECORD} texts and
 * {@value #MAX_TOKENS_PER_RECORD} padded tokens each (a batch above that goes alone), whatever the
 * shard count: Flink sorts records in a buffer of about 3 MB, and a record of 1,000 tokenized
 * texts with their FP32 outputs already exceeds it (a token travels as three 8-byte ids; a
 * record at both limits is under 2 MB with outputs of up to 1,024 floats per text). The batches
 * are the same either way, and scores merge exactly, so the figures do not depend on the split.
 */
public final class ShardValidationData
    extends PTransform<PCollection<LabeledText>, PCollection<ValidationShard>> {
  private final String tokenizerPath;
  private final int maxLength;
  private final int batchSize;
  /** Texts per record at most (whole batches; a record holds at least one). */
  public static final int MAX_TEXTS_PER_RECORD = 256;
  /** Padded tokens (batch size x sequence length) per record at most, likewise. */
  public static final int MAX_TOKENS_PER_RECORD = 32_768;

  private final int shards;
  private final int maxTextsPerRecord;
  private final int maxTokensPerRecord;
  private final SessionPool sessions;

  private ShardValidationData(String tokenizerPath, int maxLength, int batchSize, int shards,
      int maxTextsPerRecord, int maxTokensPerRecord, SessionPool sessions) {
    if (batchSize < 1 || shards < 1 || maxLength < 2) {
      throw new IllegalArgumentException("batchSize and shards must be >= 1 and maxLength >= 2");
    }
    this.tokenizerPath = tokenizerPath;
    this.maxLength = maxLength;
    this.batchSize = batchSize;
    this.shards = shards;
    this.maxTextsPerRecord = maxTextsPerRecord;
    this.maxTokensPerRecord = maxTokensPerRecord;
    this.sessions = sessions;
  }

  public static ShardValidationData of(String tokenizerPath, int maxLength, int batchSize,
      int shards) {
    return new ShardValidationData(tokenizerPath, maxLength, batchSize, shards,
        MAX_TEXTS_PER_RECORD, MAX_TOKENS_PER_RECORD, SessionPool.worker());
  }

  /** The same, with the tokenizer from {@code sessions} instead of the worker pool. */
  public ShardValidationData withSessionPool(SessionPool sessions) {
    return new ShardValidationData(tokenizerPath, maxLength, batchSize, shards,
        maxTextsPerRecord, maxTokensPerRecord, sessions);
  }

  /** The same with other record limits (tests). */
  ShardValidationData withRecordLimits(int texts, int tokens) {
    return new ShardValidationData(tokenizerPath, maxLength, batchSize, shards, texts, tokens,
        sessions);
  }

  @Override
  public PCollection<ValidationShard> expand(PCollection<LabeledText> texts) {
    return texts
        .apply("KeyByShard", ParDo.of(new KeyFn(shards)))
        .setCoder(KvCoder.of(VarIntCoder.of(), Coders.LabeledTextCoder.of()))
        .apply("GroupByShard", GroupByKey.create())
        .apply("CutAndTokenize", ParDo.of(
            new CutFn(tokenizerPath, maxLength, batchSize, maxTextsPerRecord,
                maxTokensPerRecord, sessions)))
        .setCoder(Coders.JavaSerialCoder.of(ValidationShard.class));
  }

  static final class KeyFn extends DoFn<LabeledText, KV<Integer, LabeledText>> {
    private final int shards;

    KeyFn(int shards) {
      this.shards = shards;
    }

    @ProcessElement
    public void process(@Element LabeledText t, OutputReceiver<KV<Integer, LabeledText>> out) {
      out.output(KV.of(CalibrationBatches.bucket(t.text(), shards), t));
    }
  }

  static final class CutFn extends DoFn<KV<Integer, Iterable<LabeledText>>, ValidationShard> {
    private final String tokenizerPath;
    private final int maxLength;
    private final int batchSize;
    private final int maxTexts;
    private final int maxTokens;
    private final SessionPool sessions;

    CutFn(String tokenizerPath, int maxLength, int batchSize, int maxTexts, int maxTokens,
        SessionPool sessions) {
      this.tokenizerPath = tokenizerPath;
      this.maxLength = maxLength;
      this.batchSize = batchSize;
      this.maxTexts = maxTexts;
      this.maxTokens = maxTokens;
      this.sessions = sessions;
    }

    private EncodedBatch encode(List<String> texts) {
      try (ResourcePool.Lease<TextTokenizer> tokenizer =
          sessions.tokenizer(tokenizerPath, maxLength)) {
        return tokenizer.get().encode(texts);
      }
    }

    @ProcessElement
    public void process(@Element KV<Integer, Iterable<LabeledText>> shard,
        OutputReceiver<ValidationShard> out) {
      List<LabeledText> all = new ArrayList<>();
      shard.getValue().forEach(all::add);
      all.sort(Comparator.comparingInt((LabeledText t) -> t.text().length())
          .thenComparing(LabeledText::text).thenComparingInt(LabeledText::label));
      List<LabeledBatch> batches = new ArrayList<>();
      long texts = 0;
      long tokens = 0;
      for (int i = 0; i < all.size(); i += batchSize) {
        List<LabeledText> part = all.subList(i, Math.min(all.size(), i + batchSize));
        EncodedBatch encoded = encode(part.stream().map(LabeledText::text).toList());
        long batchTokens = (long) encoded.batchSize() * encoded.seqLen();
        if (!batches.isEmpty()
            && (texts + part.size() > maxTexts || tokens + batchTokens > maxTokens)) {
          out.output(new ValidationShard(shard.getKey(), batches, -1));
          batches.clear();
          texts = 0;
          tokens = 0;
        }
        batches.add(new LabeledBatch(encoded,
            part.stream().mapToInt(LabeledText::label).toArray(), null));
        texts += part.size();
        tokens += batchTokens;
      }
      if (!batches.isEmpty()) {
        out.output(new ValidationShard(shard.getKey(), batches, -1));
      }
    }
  }
}
