package io.quantbeam.core.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.quantbeam.core.QuantbeamException;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AbsHistogramTest {

  @Test
  void binsHandComputedValues() {
    AbsHistogram h = new AbsHistogram(8);
    assertEquals(AbsHistogram.NO_EXPONENT, h.exponent());
    assertEquals(0.0, h.binWidth());
    h.add(1.0); // 1.0 < 8 * 2^-2 = 2: exponent -2, width 0.25, bin 4
    assertEquals(-2, h.exponent());
    assertEquals(0.25, h.binWidth());
    h.add(0.3); // bin 1
    h.add(0.25); // lower edge of bin 1
    h.add(1.99); // bin 7
    h.add(0.0); // zero count, not bin 0
    assertArrayEquals(new long[] {0, 2, 0, 0, 1, 0, 0, 1}, h.counts());
    assertEquals(1, h.zeroCount());
    assertEquals(5, h.total());
  }

  @Test
  void smallestExponentThatHoldsTheValue() {
    AbsHistogram h = new AbsHistogram(2048);
    h.add(2048.0); // 2048 < 2048 * 2^k needs k = 1
    assertEquals(1, h.exponent());
    assertEquals(1024, h.lastNonEmptyBin());
    AbsHistogram g = new AbsHistogram(2048);
    g.add(2047.0); // fits with k = 0, bin 2047
    assertEquals(0, g.exponent());
    assertEquals(2047, g.lastNonEmptyBin());
    AbsHistogram tiny = new AbsHistogram(2048);
    tiny.add(Float.MIN_VALUE); // 2^-149
    assertEquals(-149 + 1 - 11, tiny.exponent());
    assertEquals(1, tiny.count(1024));
  }

  @Test
  void coarseningFoldsPairsExactly() {
    AbsHistogram h = new AbsHistogram(8);
    for (double v : new double[] {1.0, 0.3, 0.25, 1.99}) {
      h.add(v);
    }
    h.add(2.0); // needs width 0.5: bins fold pairwise, then 2.0 lands in bin 4
    assertEquals(-1, h.exponent());
    assertArrayEquals(new long[] {2, 0, 1, 1, 1, 0, 0, 0}, h.counts());
    h.add(1000.0); // width 128: everything but 1000 folds into bin 0; 1000 / 128 = 7.8
    assertEquals(7, h.exponent());
    assertArrayEquals(new long[] {5, 0, 0, 0, 0, 0, 0, 1}, h.counts());
  }

  @Test
  void coarsenedEqualsDirectBinningForAnyOrder() {
    Random r = new Random(7);
    double[] values = new double[5000];
    for (int i = 0; i < values.length; i++) {
      values[i] = Math.abs(r.nextGaussian()) * Math.scalb(1.0, r.nextInt(30) - 15);
    }
    AbsHistogram ascending = new AbsHistogram(64);
    double[] sorted = values.clone();
    java.util.Arrays.sort(sorted);
    for (double v : sorted) {
      ascending.add(v);
    }
    AbsHistogram descending = new AbsHistogram(64);
    for (int i = sorted.length - 1; i >= 0; i--) {
      descending.add(sorted[i]);
    }
    assertEquals(descending, ascending); // descending never coarsens after the first value
  }

  @Test
  void mergeOfDifferentExponentsEqualsSingleStream() {
    AbsHistogram small = new AbsHistogram(16);
    AbsHistogram large = new AbsHistogram(16);
    AbsHistogram all = new AbsHistogram(16);
    for (double v : new double[] {0.01, 0.02, 0.5, 0.0}) {
      small.add(v);
      all.add(v);
    }
    for (double v : new double[] {3.0, 70.0, 0.7}) {
      large.add(v);
      all.add(v);
    }
    AbsHistogram a = new AbsHistogram(small);
    a.merge(large);
    AbsHistogram b = new AbsHistogram(large);
    b.merge(small);
    assertEquals(all, a);
    assertEquals(all, b);
    assertEquals(all.hashCode(), a.hashCode());
    AbsHistogram empty = new AbsHistogram(16);
    a.merge(empty);
    assertEquals(all, a);
    empty.merge(all);
    assertEquals(all, empty);
  }

  @Test
  void addAllMatchesAdd() {
    float[] v = {0f, -0f, 1.5f, -3.25f, 1e-30f, -7e5f, 42f};
    AbsHistogram a = new AbsHistogram(32);
    a.addAll(v, 0, v.length);
    AbsHistogram b = new AbsHistogram(32);
    for (float x : v) {
      b.add(Math.abs(x));
    }
    assertEquals(b, a);
    assertEquals(2, a.zeroCount());
    assertThrows(IllegalArgumentException.class, () -> a.addAll(new float[] {Float.NaN}, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> a.add(-1.0));
    assertThrows(IllegalArgumentException.class, () -> a.add(Double.POSITIVE_INFINITY));
  }

  @Test
  void upperEdgeAtFraction() {
    AbsHistogram h = new AbsHistogram(8);
    for (double v : new double[] {0.3, 0.25, 1.0, 1.99, 2.0, 0.0}) {
      h.add(v);
    }
    // width 0.5; zeros 1, bins {2, 0, 1, 1, 1, ...}; total 6
    assertEquals(0.5, h.upperEdgeAtFraction(0.5)); // 3 values reached with bin 0
    assertEquals(1.5, h.upperEdgeAtFraction(0.51)); // 4th value in bin 2
    assertEquals(2.5, h.upperEdgeAtFraction(1.0));
    assertEquals(0.5, h.upperEdgeAtFraction(0.0));
    assertEquals(0.0, new AbsHistogram(8).upperEdgeAtFraction(0.5));
  }

  @Test
  void mismatchedBinsAndBadBinCountsAreRefused() {
    assertThrows(QuantbeamException.class, () -> new AbsHistogram(100));
    assertThrows(QuantbeamException.class, () -> new AbsHistogram(1));
    AbsHistogram a = new AbsHistogram(8);
    QuantbeamException e =
        assertThrows(QuantbeamException.class, () -> a.merge(new AbsHistogram(16)));
    assertNotEquals(-1, e.getMessage().indexOf("same bin count"));
  }
}
