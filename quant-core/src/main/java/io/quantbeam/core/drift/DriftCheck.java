package io.quantbeam.core.drift;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.stats.HistogramComparison;
import io.quantbeam.core.stats.Range;
import io.quantbeam.core.stats.RangeEstimator;
import io.quantbeam.core.stats.TensorStats;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Compares production statistics with the calibration statistics a serving model was built from.
 * Both tables come from the same observation (same tensors, same bins), so the comparison is exact
 * and deterministic. The calibrated range of each tensor is recomputed from the calibration table
 * with the serving model's configuration (method and its parameters). The clip rate counts values
 * outside that range, not outside the 8-bit grid built on it: the grid's zero-point rounding
 * clips a sliver of the calibration data itself (GELU outputs pile up at their minimum), which is
 * not drift.
 */
public final class DriftCheck {
  /** Buckets of the PSI (equal shares of the calibration values). */
  public static final int PSI_BUCKETS = 10;

  private DriftCheck() {}

  /**
   * @param calibration the serving model's calibration table
   * @param production statistics of the same tensors on the production sample
   * @param config the serving model's quantizer configuration (method, types)
   * @param unknownTokenRate share of real production tokens read as unknown (NaN if not known)
   */
  public static DriftResult compare(CalibrationTable calibration, CalibrationTable production,
      QuantConfig config, double unknownTokenRate, DriftThresholds thresholds) {
    if (production.tensors().isEmpty()) {
      throw new QuantbeamException("The production sample gave no statistics: it has no usable"
          + " text. Pass a Parquet sample with non-empty texts in the text column.");
    }
    List<TensorDrift> tensors = new ArrayList<>();
    double psiSum = 0;
    double clipSum = 0;
    int clipped = 0;
    double maxClip = 0;
    String maxClipTensor = "";
    for (Map.Entry<String, TensorStats> e : production.tensors().entrySet()) {
      TensorStats ref = calibration.get(e.getKey());
      if (ref == null) {
        throw new QuantbeamException("Tensor '" + e.getKey() + "' is not in the calibration"
            + " table: the production sample was observed on another model.");
      }
      TensorStats prod = e.getValue();
      double psi = HistogramComparison.psi(ref, prod, PSI_BUCKETS);
      double low = Double.NaN;
      double high = Double.NaN;
      double clip = Double.NaN;
      if (usable(ref)) {
        Range range = RangeEstimator.estimate(ref, config.calibration());
        low = range.min();
        high = range.max();
        clip = HistogramComparison.fractionOutside(prod, low, high);
        clipSum += clip;
        clipped++;
        if (clip > maxClip) {
          maxClip = clip;
          maxClipTensor = e.getKey();
        }
      }
      psiSum += psi;
      tensors.add(new TensorDrift(e.getKey(), clip, psi, low, high, prod.min(), prod.max()));
    }
    double meanPsi = psiSum / tensors.size();
    double meanClip = clipped == 0 ? 0.0 : clipSum / clipped;
    List<String> reasons = new ArrayList<>();
    if (meanPsi >= thresholds.psi()) {
      reasons.add(String.format(Locale.ROOT, "activations shifted: mean PSI %.3f >= %.3f",
          meanPsi, thresholds.psi()));
    }
    if (meanClip >= thresholds.clipRate()) {
      reasons.add(String.format(Locale.ROOT, "%.2f%% of production values fall outside the calibrated ranges on average"
          + " (>= %.2f%%; most in %s: %.2f%%)", 100 * meanClip, 100 * thresholds.clipRate(),
          maxClipTensor, 100 * maxClip));
    }
    if (unknownTokenRate >= thresholds.unknownTokenRate()) {
      reasons.add(String.format(Locale.ROOT, "%.1f%% of production tokens are unknown to the"
          + " tokenizer (>= %.1f%%): the text does not match this model's tokenizer or language",
          100 * unknownTokenRate, 100 * thresholds.unknownTokenRate()));
    }
    return new DriftResult(List.copyOf(tensors), meanPsi, meanClip, maxClip, maxClipTensor,
        unknownTokenRate, !reasons.isEmpty(), List.copyOf(reasons));
  }

  /** Whether the quantizer would give this tensor a range (see QdqQuantizer). */
  private static boolean usable(TensorStats s) {
    return s.count() > 0
        && s.nanCount() + s.posInfCount() + s.negInfCount() + s.extremeCount() == 0;
  }
}
