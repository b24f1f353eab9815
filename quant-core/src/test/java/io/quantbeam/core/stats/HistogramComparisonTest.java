package io.quantbeam.core.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class HistogramComparisonTest {
  static TensorStats gaussian(long seed, int n, double mean, double sigma) {
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (mean + r.nextGaussian() * sigma);
    }
    TensorStats s = new TensorStats();
    s.addBatch(v, 0, n);
    return s;
  }

  @Test
  void fractionOutsideCountsBothTailsAndInterpolatesTheBoundaryBin() {
    float[] v = new float[1000];
    for (int i = 0; i < v.length; i++) {
      v[i] = (i - 500) / 100f; // -5.00 .. 4.99, uniform
    }
    TensorStats s = new TensorStats();
    s.addBatch(v, 0, v.length);
    assertEquals(0.0, HistogramComparison.fractionOutside(s, -10, 10));
    // below -4 (100 values) and above 3 (199 values); the boundary values themselves fall in a
    // bin whose lower edge is the bound, so the histogram counts them: within one value per tail
    assertEquals(0.299, HistogramComparison.fractionOutside(s, -4, 3), 0.0025);
    assertEquals(0.0, HistogramComparison.fractionOutside(new TensorStats(), -1, 1));
    // the range of the data itself clips nothing, whatever the bins
    assertEquals(0.0, HistogramComparison.fractionOutside(s, s.min(), s.max()));
  }

  @Test
  void psiIsNearZeroForTheSameDistributionAndLargeForAShiftedOne() {
    TensorStats calibration = gaussian(1, 50_000, 0, 1);
    double same = HistogramComparison.psi(calibration, gaussian(2, 20_000, 0, 1), 10);
    double shifted = HistogramComparison.psi(calibration, gaussian(3, 20_000, 1, 1), 10);
    double wider = HistogramComparison.psi(calibration, gaussian(4, 20_000, 0, 4), 10);
    assertTrue(same < 0.01, "same distribution: " + same);
    assertTrue(shifted > 0.25, "shifted by one sigma: " + shifted);
    assertTrue(wider > 0.25, "four times wider: " + wider);
  }

  @Test
  void psiDoesNotDependOnHowTheProductionSampleWasSplit() {
    TensorStats calibration = gaussian(1, 30_000, 0, 1);
    TensorStats whole = gaussian(5, 30_000, 0.5, 2);
    TensorStats parts = gaussian(5, 30_000, 0.5, 2).merge(new TensorStats()); // same values
    TensorStats a = gaussian(6, 10_000, 0.5, 2);
    TensorStats b = gaussian(7, 10_000, 0.5, 2);
    assertEquals(HistogramComparison.psi(calibration, whole, 10),
        HistogramComparison.psi(calibration, parts, 10));
    assertEquals(HistogramComparison.psi(calibration, a.merge(b), 10),
        HistogramComparison.psi(calibration, b.merge(a), 10));
  }
}
