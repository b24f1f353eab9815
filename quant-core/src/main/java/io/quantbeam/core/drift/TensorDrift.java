package io.quantbeam.core.drift;

/**
 * One calibrated tensor on a production sample.
 *
 * @param tensor the activation's name
 * @param clipRate share of production values outside the range the serving model quantizes this
 *     tensor to (NaN when the serving model leaves it in float)
 * @param psi population stability index of the production values against the calibration values
 * @param low lower bound of the quantized range (NaN when not quantized)
 * @param high upper bound of the quantized range (NaN when not quantized)
 * @param productionMin smallest production value seen
 * @param productionMax largest production value seen
 */
public record TensorDrift(String tensor, double clipRate, double psi, double low, double high,
    double productionMin, double productionMax) {}
