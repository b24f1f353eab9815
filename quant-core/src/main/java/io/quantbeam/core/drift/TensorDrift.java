package io.quantbeam.core.drift;

/**
 * One calibrated tensor on a production sample.
 *
 * @param tensor the activation's name
 * @param clipRate share of production values outside the range calibrated for this tensor (NaN
 *     when its calibration statistics are unusable, e.g. a mask tensor)
 * @param psi population stability index of the production values against the calibration values
 * @param low lower bound of the calibrated range (NaN when unusable)
 * @param high upper bound of the calibrated range (NaN when unusable)
 * @param productionMin smallest production value seen
 * @param productionMax largest production value seen
 */
public record TensorDrift(String tensor, double clipRate, double psi, double low, double high,
    double productionMin, double productionMax) {}
