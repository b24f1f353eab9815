package io.quantbeam.core.drift;

import io.quantbeam.core.QuantbeamException;

/**
 * When a production sample counts as drifted: any one of the three limits reached.
 *
 * @param psi the mean PSI over calibrated tensors (default 0.25, the usual "large shift" mark)
 * @param clipRate the mean share of values clipped by the quantized ranges (default 0.01: one value
 *     in a hundred saturates, where calibration data saturates none under MinMax)
 * @param unknownTokenRate the share of real tokens the tokenizer maps to its unknown token (default
 *     0.05: text this model's tokenizer cannot read)
 */
public record DriftThresholds(double psi, double clipRate, double unknownTokenRate) {
  public DriftThresholds {
    if (!(psi > 0) || !(clipRate > 0 && clipRate <= 1)
        || !(unknownTokenRate > 0 && unknownTokenRate <= 1)) {
      throw new QuantbeamException("Drift thresholds must be positive (rates at most 1): psi "
          + psi + ", clip rate " + clipRate + ", unknown-token rate " + unknownTokenRate);
    }
  }

  public static DriftThresholds defaults() {
    return new DriftThresholds(0.25, 0.01, 0.05);
  }
}
