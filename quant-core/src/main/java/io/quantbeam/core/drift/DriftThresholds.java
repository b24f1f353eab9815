package io.quantbeam.core.drift;

import io.quantbeam.core.QuantbeamException;

/**
 * When a production sample counts as drifted: any one of the three limits reached.
 *
 * @param psi the mean PSI over calibrated tensors (default 0.02). Not the 0.1 / 0.25 marks used
 *     for a single business feature: a transformer's activations are many and mostly stable, so
 *     the mean is small. Measured on all-MiniLM-L6-v2 calibrated on 400 GLUE SST-2 phrases
 *     (PSI on 10 buckets): other GLUE phrases 0.0034, SST-2 test sentences 0.0030, IMDB reviews
 *     0.051; 0.02 sits between with a margin of about 6x and 2.5x
 * @param clipRate the mean share of values outside the calibrated ranges (default 0.01: one value
 *     in a hundred saturates, where the calibration data itself has none outside under MinMax)
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
    return new DriftThresholds(0.02, 0.01, 0.05);
  }
}
