package io.quantbeam.core.stats;

import io.quantbeam.core.QuantbeamException;

/**
 * Settings of range estimation.
 *
 * @param method how ranges are derived
 * @param percentile for {@link CalibrationMethod#PERCENTILE}: the percentile in (0, 100], default
 *     99.999
 * @param symmetricPercentile for PERCENTILE: true (default) takes the percentile of |x| and gives
 *     [-t, t] clamped to [min, max]; false takes each tail separately
 * @param entropyTargetBins for {@link CalibrationMethod#ENTROPY}: Q, the number of quantized
 *     levels the reference distribution is compared against (default 128, at least 2)
 */
public record CalibrationParams(
    CalibrationMethod method,
    double percentile,
    boolean symmetricPercentile,
    int entropyTargetBins) {

  public static final double DEFAULT_PERCENTILE = 99.999;
  public static final int DEFAULT_ENTROPY_TARGET_BINS = 128;

  public CalibrationParams {
    if (method == null) {
      throw new QuantbeamException("calibration method must be set; use e.g. minmax");
    }
    if (!(percentile > 0.0 && percentile <= 100.0)) {
      throw new QuantbeamException(
          "percentile must be in (0, 100], got " + percentile + "; the default is "
              + DEFAULT_PERCENTILE);
    }
    if (entropyTargetBins < 2) {
      throw new QuantbeamException(
          "entropy target bins must be at least 2, got " + entropyTargetBins + "; the default is "
              + DEFAULT_ENTROPY_TARGET_BINS);
    }
  }

  /** MINMAX (the reference tool's default) with the default percentile and entropy settings. */
  public static CalibrationParams defaults() {
    return of(CalibrationMethod.MINMAX);
  }

  /** {@code method} with the default percentile and entropy settings. */
  public static CalibrationParams of(CalibrationMethod method) {
    return new CalibrationParams(method, DEFAULT_PERCENTILE, true, DEFAULT_ENTROPY_TARGET_BINS);
  }

  public CalibrationParams withMethod(CalibrationMethod m) {
    return new CalibrationParams(m, percentile, symmetricPercentile, entropyTargetBins);
  }

  public CalibrationParams withPercentile(double p, boolean symmetric) {
    return new CalibrationParams(method, p, symmetric, entropyTargetBins);
  }

  public CalibrationParams withEntropyTargetBins(int q) {
    return new CalibrationParams(method, percentile, symmetricPercentile, q);
  }
}
