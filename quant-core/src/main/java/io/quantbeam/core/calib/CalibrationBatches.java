package io.quantbeam.core.calib;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Decides which texts are calibrated together, from the texts alone.
 *
 * <p>ONNX Runtime's float results depend (in the last bits) on the batch a text is run in — the
 * padding length and the GEMM shapes differ — so for the calibration table, and the model, to be
 * byte-identical however the corpus is split into files, shards or workers, batches must not
 * depend on arrival order. Each text gets a 64-bit key from its SHA-256; texts are spread over a
 * fixed number of buckets by key; inside a bucket they are sorted by length (less padding) then
 * key, and cut into batches. The one-machine API and the Beam pipeline both use this plan.
 */
public final class CalibrationBatches {
  /** Default number of buckets: the calibration's available parallelism. */
  public static final int DEFAULT_BUCKETS = 16;

  private static final Comparator<String> ORDER = Comparator.comparingInt(String::length)
      .thenComparingLong(CalibrationBatches::key)
      .thenComparing(Comparator.naturalOrder());

  private CalibrationBatches() {}

  /** A stable 64-bit key: the first 8 bytes of the text's UTF-8 SHA-256. */
  public static long key(String text) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      long k = 0;
      for (int i = 0; i < 8; i++) {
        k = (k << 8) | (h[i] & 0xff);
      }
      return k;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public static int bucket(String text, int buckets) {
    return (int) Long.remainderUnsigned(key(text), buckets);
  }

  /** The batches of one bucket's texts (in any order): sorted by length, key, text; then cut. */
  public static List<List<String>> batchesOfBucket(List<String> texts, int batchSize) {
    List<String> sorted = new ArrayList<>(texts);
    sorted.sort(ORDER);
    List<List<String>> batches = new ArrayList<>();
    for (int i = 0; i < sorted.size(); i += batchSize) {
      batches.add(List.copyOf(sorted.subList(i, Math.min(sorted.size(), i + batchSize))));
    }
    return batches;
  }

  /** All batches of a corpus, bucket by bucket: the plan a pipeline reproduces shard by shard. */
  public static List<List<String>> plan(List<String> texts, int batchSize, int buckets) {
    List<List<String>> byBucket = new ArrayList<>();
    for (int b = 0; b < buckets; b++) {
      byBucket.add(new ArrayList<>());
    }
    for (String t : texts) {
      byBucket.get(bucket(t, buckets)).add(t);
    }
    List<List<String>> batches = new ArrayList<>();
    for (List<String> bucket : byBucket) {
      batches.addAll(batchesOfBucket(bucket, batchSize));
    }
    return batches;
  }

  /**
   * The {@code max} texts with the smallest keys (ties broken by text): a sample that does not
   * depend on file layout or order, so "--maxExamples" means the same on every runner.
   */
  public static List<String> sample(List<String> texts, int max) {
    if (texts.size() <= max) {
      return texts;
    }
    List<String> sorted = new ArrayList<>(texts);
    sorted.sort(Comparator.comparingLong(CalibrationBatches::key)
        .thenComparing(Comparator.naturalOrder()));
    return sorted.subList(0, max);
  }
}
