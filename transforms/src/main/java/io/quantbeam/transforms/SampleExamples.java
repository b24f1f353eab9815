package io.quantbeam.transforms;

import io.quantbeam.core.calib.CalibrationBatches;
import java.io.Serializable;
import java.util.Comparator;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.Top;
import org.apache.beam.sdk.values.PCollection;

/**
 * Keeps at most {@code max} texts: those with the smallest {@link CalibrationBatches#key} (ties by
 * text), exactly as {@link CalibrationBatches#sample} does, so the sample does not depend on file
 * layout, order or runner. The kept texts pass through one worker (Top), so {@code max} should fit
 * in memory.
 */
public final class SampleExamples extends PTransform<PCollection<String>, PCollection<String>> {
  private final int max;

  private SampleExamples(int max) {
    this.max = max;
  }

  public static SampleExamples atMost(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("maxExamples must be at least 1, got " + max);
    }
    return new SampleExamples(max);
  }

  @Override
  public PCollection<String> expand(PCollection<String> texts) {
    return texts
        .apply("SmallestKeys", Top.of(max, new LargerKeyFirst()))
        .apply("Unlist", Flatten.iterables());
  }

  /** Top keeps the largest; this order makes the smallest (key, text) the largest. */
  static final class LargerKeyFirst implements Comparator<String>, Serializable {
    @Override
    public int compare(String a, String b) {
      int c = Long.compare(CalibrationBatches.key(a), CalibrationBatches.key(b));
      return -(c != 0 ? c : a.compareTo(b));
    }
  }
}
