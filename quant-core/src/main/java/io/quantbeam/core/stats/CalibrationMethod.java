package io.quantbeam.core.stats;

import io.quantbeam.core.QuantbeamException;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

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
   * Parses a method name, ignoring case; '-' and ' ' count as '_' ("moving-average" works).
   *
   * @throws QuantbeamException naming the valid methods if {@code name} is not one
   */
  public static CalibrationMethod parse(String name) {
    if (name != null) {
      String n = name.trim().toUpperCase(Locale.ROOT).replace('-', '_').replace(' ', '_');
      for (CalibrationMethod m : values()) {
        if (m.name().equals(n)) {
          return m;
        }
      }
    }
    throw new QuantbeamException(
        "unknown calibration method '" + name + "'; use one of "
            + Arrays.stream(values())
                .map(m -> m.name().toLowerCase(Locale.ROOT))
                .collect(Collectors.joining(", ")));
  }
}
