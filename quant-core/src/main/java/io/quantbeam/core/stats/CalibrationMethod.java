package io.quantbeam.core.stats;

import com.fasterxml.jackson.annotation.JsonCreator;
import io.quantbeam.core.EnumNames;
import io.quantbeam.core.QuantbeamException;

/** How a tensor's quantization range is derived from its {@link TensorStats}. */
public enum CalibrationMethod {
  /** Global minimum and maximum. */
  MINMAX,
  /** Mean of the per-batch minima and maxima. */
  MOVING_AVERAGE,
  /** Where the magnitude distribution reaches a percentile (see {@link RangeEstimator}). */
  PERCENTILE,
  /** The clipping threshold of least KL divergence (see {@link RangeEstimator}). */
  ENTROPY;

  /**
   * Parses a method name, ignoring case; '-' and ' ' count as '_' ("moving-average" works). Also
   * how Beam reads {@code --method} (Jackson calls the creator).
   *
   * @throws QuantbeamException naming the valid methods if {@code name} is not one
   */
  @JsonCreator
  public static CalibrationMethod parse(String name) {
    return EnumNames.parse(CalibrationMethod.class, name, "calibration method");
  }
}
