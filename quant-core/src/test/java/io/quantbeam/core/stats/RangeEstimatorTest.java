package io.quantbeam.core.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.QuantbeamException;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RangeEstimatorTest {
  private static final CalibrationParams MINMAX = CalibrationParams.of(CalibrationMethod.MINMAX);
  private static final CalibrationParams ENTROPY = CalibrationParams.of(CalibrationMethod.ENTROPY);

  private static TensorStats stats(float[] v) {
    TensorStats s = new TensorStats();
    for (int from = 0; from < v.length; from += 100_000) {
      s.addBatch(v, from, Math.min(v.length, from + 100_000));
    }
    return s;
  }

  @Test
  void gaussianPercentileWithinOneBinOfTheOrderStatistic() {
    Random r = new Random(42);
    float[] v = TensorStatsTest.gaussian(r, 2_000_000, 1.0);
    TensorStats s = stats(v);
    CalibrationParams p = CalibrationParams.of(CalibrationMethod.PERCENTILE).withPercentile(99.99,
        true);
    Range range = RangeEstimator.estimate(s, p);
    float[] abs = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      abs[i] = Math.abs(v[i]);
    }
    Arrays.sort(abs);
    double empirical = abs[(int) Math.ceil(0.9999 * abs.length) - 1];
    double w = s.absolute().binWidth();
    double t = range.max();
    assertEquals(-t, range.min());
    assertTrue(t >= empirical && t - empirical <= w,
        "t " + t + " empirical " + empirical + " width " + w);
    // the true 99.99th percentile of |x| for N(0, 1) is 3.8906 (3.719 is the one-sided one)
    assertEquals(3.8906, t, 0.06);
  }

  @Test
  void percentileOfNonNegativeTensorStartsAtItsMinimum() {
    float[] v = new float[10_000];
    for (int i = 0; i < v.length; i++) {
      v[i] = 1f + i / 1000f; // [1, 11)
    }
    Range r = RangeEstimator.estimate(stats(v), CalibrationParams.of(CalibrationMethod.PERCENTILE)
        .withPercentile(99.0, true));
    assertEquals(1.0, r.min());
    assertEquals(10.9, r.max(), 0.01);
  }

  @Test
  void asymmetricPercentileTakesEachTail() {
    float[] v = new float[100_000];
    for (int i = 0; i < v.length; i++) {
      v[i] = i < 90_000 ? i / 9_000f : -(i - 90_000) / 10_000f; // [0, 10) and (-1, 0]
    }
    TensorStats s = stats(v);
    Range r = RangeEstimator.estimate(s, CalibrationParams.of(CalibrationMethod.PERCENTILE)
        .withPercentile(99.0, false));
    // 1% of all values = 1000 values per tail: upper ~ 10 - 1000/9000, lower ~ -(1 - 1000/10000)
    assertEquals(10 - 1000 / 9000.0, r.max(), s.positive().binWidth() + 1e-6);
    assertEquals(-0.9, r.min(), s.negative().binWidth() + 1e-6);
  }

  @Test
  void entropyClipsFarOutliersWhereMinMaxDoesNot() {
    Random r = new Random(1);
    float[] v = TensorStatsTest.gaussian(r, 1_000_000, 1.0);
    for (int i = 0; i < 20; i++) {
      v[i * 997] = (i % 2 == 0 ? 1 : -1) * (40f + i);
    }
    TensorStats s = stats(v);
    Range mm = RangeEstimator.estimate(s, MINMAX);
    assertEquals(new Range(-59, 58), mm); // the outliers
    assertTrue(mm.max() >= 40.0);
    Range e = RangeEstimator.estimate(s, ENTROPY);
    assertEquals(-e.max(), e.min());
    assertTrue(e.max() > 2.5 && e.max() < 15, "entropy threshold " + e.max());
  }

  /** KL of candidate i computed the slow, explicit way, as documented on entropyThreshold. */
  private static double naiveKl(long[] h, int i, int q) {
    double[] p = new double[i];
    for (int j = 0; j < i; j++) {
      p[j] = h[j];
    }
    for (int j = i; j < h.length; j++) {
      p[i - 1] += h[j];
    }
    double[] qd = new double[i];
    for (int g = 0; g < q; g++) {
      int start = (int) ((long) g * i / q);
      int end = (int) ((long) (g + 1) * i / q);
      double mass = 0;
      int nonZero = 0;
      for (int j = start; j < end; j++) {
        mass += h[j];
        nonZero += p[j] > 0 ? 1 : 0;
      }
      for (int j = start; j < end; j++) {
        qd[j] = p[j] > 0 ? mass / nonZero : 0;
      }
    }
    double sp = Arrays.stream(p).sum();
    double sq = Arrays.stream(qd).sum();
    double z = 0;
    for (int j = 0; j < i; j++) {
      qd[j] = qd[j] > 0 ? qd[j] / sq : (p[j] > 0 ? RangeEstimator.ENTROPY_EPS : 0);
      z += qd[j];
    }
    double kl = 0;
    for (int j = 0; j < i; j++) {
      if (p[j] > 0) {
        kl += p[j] / sp * Math.log((p[j] / sp) / (qd[j] / z));
      }
    }
    return kl;
  }

  @Test
  void prefixSumDivergencesMatchTheExplicitComputation() {
    Random r = new Random(4);
    long[] h = new long[300];
    for (int j = 0; j < 200; j++) {
      h[j] = r.nextInt(3) == 0 ? 0 : r.nextInt(1000); // gaps, so groups have empty bins
    }
    h[299] = 3; // far outliers; bins 200..298 empty, so folded last bins have zero Q mass
    int q = 16;
    double[] kl = RangeEstimator.entropyDivergences(h, 300, q);
    for (int i = q; i <= 300; i++) {
      assertEquals(naiveKl(h, i, q), kl[i], 1e-9, "candidate " + i);
    }
  }

  @Test
  void entropyOnUniformKeepsNearlyEverything() {
    Random r = new Random(2);
    float[] v = new float[1_000_000];
    for (int i = 0; i < v.length; i++) {
      v[i] = r.nextFloat() * 2 - 1;
    }
    TensorStats s = stats(v);
    double maxAbs = Math.max(-s.min(), s.max());
    Range e = RangeEstimator.estimate(s, ENTROPY);
    assertTrue(e.max() >= 0.9 * maxAbs, "entropy threshold " + e.max() + " of " + maxAbs);
  }

  @Test
  void entropyWithFewOccupiedBinsIsMinMax() {
    TensorStats s = stats(new float[] {-1f, 0.5f, 2f, 0f});
    // with 8 bins at most 8 <= Q bins are occupied: the range is max|x| clamped, i.e. [min, max]
    TensorStats coarse = new TensorStats(8);
    coarse.addBatch(new float[] {-1f, 0.5f, 2f, 0f}, 0, 4);
    assertEquals(new Range(-1, 2), RangeEstimator.estimate(coarse, ENTROPY));
    Range fine = RangeEstimator.estimate(s, ENTROPY);
    assertTrue(fine.min() >= -1 && fine.max() <= 2 && fine.max() > 0);
  }

  @Test
  void movingAverageUsesTheMeansOfBatchExtremes() {
    TensorStats s = new TensorStats();
    s.addBatch(new float[] {-1f, 2f}, 0, 2);
    s.addBatch(new float[] {-4f, 3f, 0f}, 0, 3);
    s.addBatch(new float[] {0.5f, 0.25f}, 0, 2);
    s.addBatch(new float[] {Float.NaN}, 0, 1); // no finite value: not a batch
    Range ma = RangeEstimator.estimate(s, CalibrationParams.of(CalibrationMethod.MOVING_AVERAGE));
    assertEquals(new Range((-1 - 4 + 0.25) / 3, (2 + 3 + 0.5) / 3), ma);
  }

  @Test
  void minMaxAndEmptyAndMaskTensors() {
    TensorStats s = stats(new float[] {-2f, 5f, Float.NaN});
    assertEquals(new Range(-2, 5), RangeEstimator.estimate(s, MINMAX));
    TensorStats none = new TensorStats();
    none.addBatch(new float[] {Float.NaN, Float.NEGATIVE_INFINITY}, 0, 2);
    for (CalibrationMethod m : CalibrationMethod.values()) {
      assertEquals(new Range(0, 0), RangeEstimator.estimate(none, CalibrationParams.of(m)), m.name());
      assertEquals(new Range(0, 0),
          RangeEstimator.estimate(new TensorStats(), CalibrationParams.of(m)), m.name());
    }
    TensorStats mask = stats(new float[] {-3.4e38f, -3.4e38f});
    for (CalibrationMethod m : CalibrationMethod.values()) {
      Range r = RangeEstimator.estimate(mask, CalibrationParams.of(m));
      assertEquals(-3.4e38f, r.min(), m.name());
      assertEquals(-3.4e38f, r.max(), m.name());
    }
    TensorStats zerosAndMask = stats(new float[] {0f, -3.4e38f, 0f, 0f});
    assertEquals(new Range(-3.4e38f, 0), RangeEstimator.estimate(zerosAndMask, MINMAX));
    assertEquals(new Range(0, 0), RangeEstimator.estimate(zerosAndMask, ENTROPY));
    assertEquals(new Range(0, 0), RangeEstimator.estimate(zerosAndMask,
        CalibrationParams.of(CalibrationMethod.PERCENTILE)));
    TensorStats zeros = stats(new float[] {0f, 0f});
    for (CalibrationMethod m : CalibrationMethod.values()) {
      assertEquals(new Range(0, 0), RangeEstimator.estimate(zeros, CalibrationParams.of(m)));
    }
  }

  @Test
  void methodNamesAndParams() {
    assertEquals(CalibrationMethod.MOVING_AVERAGE, CalibrationMethod.parse("Moving-Average"));
    assertEquals(CalibrationMethod.ENTROPY, CalibrationMethod.parse("entropy"));
    QuantbeamException e =
        assertThrows(QuantbeamException.class, () -> CalibrationMethod.parse("kl"));
    assertTrue(e.getMessage().contains("minmax, moving-average, percentile, entropy"),
        e.getMessage());
    CalibrationParams d = CalibrationParams.defaults();
    assertEquals(99.999, d.percentile());
    assertTrue(d.symmetricPercentile());
    assertEquals(128, d.entropyTargetBins());
    assertThrows(QuantbeamException.class,
        () -> new CalibrationParams(CalibrationMethod.PERCENTILE, 0, true, 128));
    assertThrows(QuantbeamException.class,
        () -> new CalibrationParams(CalibrationMethod.PERCENTILE, 100.5, true, 128));
    assertThrows(QuantbeamException.class,
        () -> new CalibrationParams(CalibrationMethod.ENTROPY, 99.9, true, 1));
  }
}
