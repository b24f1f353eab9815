package io.quantbeam.core.quant;

import io.quantbeam.core.stats.AbsHistogram;
import io.quantbeam.core.stats.Range;
import io.quantbeam.core.stats.TensorStats;

/**
 * The SQNR an activation would have after Q/DQ with a given range, predicted from its calibration
 * histogram alone (no inference): signal = E[x^2]; noise = step^2 / 12 for values inside the range
 * (uniform rounding error) plus the squared clipping error of values outside it.
 *
 * <p>Transformer activations with a few huge outliers (the FFN input after GELU in early layers is
 * the classic case) get a step so coarse that typical values keep only a few levels; this number
 * finds them from the table, so the default scope can leave exactly those inputs in float.
 */
public final class PredictedNoise {
  private PredictedNoise() {}

  public static double sqnrDb(TensorStats s, Range range, QuantParams params) {
    AbsHistogram pos = s.positive();
    AbsHistogram neg = s.negative();
    double step = params.scale();
    double signal = 0;
    double clip = 0;
    long n = 0;
    for (int sign = 0; sign < 2; sign++) {
      AbsHistogram h = sign == 0 ? pos : neg;
      double edge = sign == 0 ? Math.max(0, range.max()) : Math.max(0, -range.min());
      long[] counts = h.counts();
      double w = h.binWidth();
      for (int i = 0; i < counts.length; i++) {
        if (counts[i] == 0) {
          continue;
        }
        double mid = (i + 0.5) * w;
        signal += counts[i] * mid * mid;
        if (mid > edge) {
          clip += counts[i] * (mid - edge) * (mid - edge);
        }
      }
      n += h.total();
    }
    if (n == 0 || signal == 0) {
      return Double.POSITIVE_INFINITY;
    }
    double noise = step * step / 12 + clip / n;
    return 10 * Math.log10((signal / n) / noise);
  }
}
