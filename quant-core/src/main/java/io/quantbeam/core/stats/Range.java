package io.quantbeam.core.stats;

/**
 * A real-valued range [min, max] that a tensor's quantization covers. Always finite and ordered.
 */
public record Range(double min, double max) {
  public Range {
    if (!(min <= max) || Double.isInfinite(min) || Double.isInfinite(max)) {
      throw new IllegalArgumentException("invalid range [" + min + ", " + max + "]");
    }
  }
}
