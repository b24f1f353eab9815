package io.quantbeam.transforms;

import io.quantbeam.core.calib.CalibrationBatches;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.LabeledText;
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
 * <p>A shard travels as records of at most {@value #MAX_TEXTS_PER_RECORD} texts (whole batches,
 * at least one), whatever the shard count: Flink sorts records in a buffer of about 3 MB, and a
 * record of 1,000 tokenized texts with their FP32 outputs already exceeds it. The batches are the
 * same either way, and scores merge exactly, so the figures do not depend on this split.
 */
public final class ShardValidationData
    extends PTransform<PCollection<LabeledText>, PCollection<ValidationShard>> {
  private final String tokenizerPath;
  private final int maxLength;
  private final int batchSize;
  /** Texts per record at most (rounded down to whole batches, at least one batch). */
  public static final int MAX_TEXTS_PER_RECORD = 256;

  private final int shards;
  private final int maxTextsPerRecord;

  private ShardValidationData(String tokenizerPath, int maxLength, int batchSize, int shards,
      int maxTextsPerRecord) {
    if (batchSize < 1 || shards < 1 || maxLength < 2) {
      throw new IllegalArgumentException("batchSize and shards must be >= 1 and maxLength >= 2");
    }
    this.tokenizerPath = tokenizerPath;
    this.maxLength = maxLength;
    this.batchSize = batchSize;
    this.shards = shards;
    this.maxTextsPerRecord = maxTextsPerRecord;
  }

  public static ShardValidationData of(String tokenizerPath, int maxLength, int batchSize,
      int shards) {
    return new ShardValidationData(tokenizerPath, maxLength, batchSize, shards,
        MAX_TEXTS_PER_RECORD);
  }

  /** The same with another record cap (tests). */
  ShardValidationData withMaxTextsPerRecord(int texts) {
    return new ShardValidationData(tokenizerPath, maxLength, batchSize, shards, texts);
  }

  @Override
  public PCollection<ValidationShard> expand(PCollection<LabeledText> texts) {
    return texts
        .apply("KeyByShard", ParDo.of(new KeyFn(shards)))
        .setCoder(KvCoder.of(VarIntCoder.of(), Coders.LabeledTextCoder.of()))
        .apply("GroupByShard", GroupByKey.create())
        .apply("CutAndTokenize", ParDo.of(
            new CutFn(tokenizerPath, maxLength, batchSize, maxTextsPerRecord)))
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
    private final int batchesPerRecord;
    private transient TextTokenizer tokenizer;

    CutFn(String tokenizerPath, int maxLength, int batchSize, int maxTextsPerRecord) {
      this.tokenizerPath = tokenizerPath;
      this.maxLength = maxLength;
      this.batchSize = batchSize;
      this.batchesPerRecord = Math.max(1, maxTextsPerRecord / batchSize);
    }

    @Setup
    public void setup() {
      tokenizer = SharedResources.tokenizer(tokenizerPath, maxLength);
    }

    @ProcessElement
    public void process(@Element KV<Integer, Iterable<LabeledText>> shard,
        OutputReceiver<ValidationShard> out) {
      List<LabeledText> all = new ArrayList<>();
      shard.getValue().forEach(all::add);
      all.sort(Comparator.comparingInt((LabeledText t) -> t.text().length())
          .thenComparing(LabeledText::text).thenComparingInt(LabeledText::label));
      List<LabeledBatch> batches = new ArrayList<>();
      for (int i = 0; i < all.size(); i += batchSize) {
        List<LabeledText> part = all.subList(i, Math.min(all.size(), i + batchSize));
        EncodedBatch encoded = tokenizer.encode(part.stream().map(LabeledText::text).toList());
        batches.add(new LabeledBatch(encoded,
            part.stream().mapToInt(LabeledText::label).toArray(), null));
        if (batches.size() == batchesPerRecord) {
          out.output(new ValidationShard(shard.getKey(), batches, -1));
          batches.clear();
        }
      }
      if (!batches.isEmpty()) {
        out.output(new ValidationShard(shard.getKey(), batches, -1));
      }
    }
  }
}
