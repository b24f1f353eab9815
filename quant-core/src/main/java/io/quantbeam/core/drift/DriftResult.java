package io.quantbeam.core.drift;

import java.util.List;

/**
 * The outcome of a drift check.
 *
 * @param tensors per calibrated tensor, sorted by name
 * @param meanPsi mean PSI over the tensors: the drift score
 * @param meanClipRate mean clip rate over the quantized tensors
 * @param maxClipRate largest clip rate and {@code maxClipTensor} the tensor it belongs to
 * @param unknownTokenRate share of real tokens read as the unknown token (NaN if not known)
 * @param drifted whether any threshold was reached
 * @param reasons one plain sentence per threshold reached (empty when not drifted)
 */
public record DriftResult(List<TensorDrift> tensors, double meanPsi, double meanClipRate,
    double maxClipRate, String maxClipTensor, double unknownTokenRate, boolean drifted,
    List<String> reasons) {}
