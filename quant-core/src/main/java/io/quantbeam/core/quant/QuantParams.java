package io.quantbeam.core.quant;

/**
 * A scale and zero point, computed exactly as ONNX Runtime's reference tool does: the range is
 * widened to include zero, symmetric ranges are centred, the scale is computed in double and
 * stored as float, and every rounding is half-to-even ({@link Math#rint}).
 */
public record QuantParams(float scale, int zeroPoint, QuantType type) {

  public static QuantParams compute(
      double rmin, double rmax, QuantType type, boolean symmetric, boolean reduceRange) {
    rmin = Math.min(rmin, 0.0);
    rmax = Math.max(rmax, 0.0);
    int qmin = type.qmin(symmetric, reduceRange);
    int qmax = type.qmax(symmetric, reduceRange);
    if (symmetric) {
      double absMax = Math.max(Math.abs(rmin), Math.abs(rmax));
      rmin = -absMax;
      rmax = absMax;
    }
    double scale = (rmax - rmin) / (qmax - qmin);
    if (!(scale >= Float.MIN_NORMAL) || Double.isInfinite(scale)) {
      // Covers an all-zero tensor (scale 0); an infinite range never gets here: callers refuse it.
      return new QuantParams(1.0f, 0, type);
    }
    int zeroPoint =
        symmetric ? (int) Math.rint((qmin + qmax) / 2.0) : (int) Math.rint(qmin - rmin / scale);
    return new QuantParams((float) scale, zeroPoint, type);
  }

  /** q = clip(rint(x / scale) + zp, full range). */
  public int quantize(float x) {
    double q = Math.rint(x / (double) scale) + zeroPoint;
    return (int) Math.max(type.fullMin(), Math.min(type.fullMax(), q));
  }

  public float dequantize(int q) {
    return (q - zeroPoint) * scale;
  }
}
