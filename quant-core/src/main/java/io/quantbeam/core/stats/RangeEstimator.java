package io.quantbeam.core.stats;

/**
 * Derives a tensor's quantization range from its statistics. Deterministic: the same statistics and
 * parameters always give the same range, on any JVM (logarithms use {@link StrictMath}).
 *
 * <ul>
 *   <li>{@code MINMAX}: [min, max].
 *   <li>{@code MOVING_AVERAGE}: [mean of per-batch minima, mean of per-batch maxima].
 *   <li>{@code PERCENTILE}, symmetric: t = the upper bin edge at which the CDF of |x| (the
 *       {@link TensorStats#absolute()} histogram, zeros in bin 0) reaches p/100; range [-t, t]
 *       clamped to [min, max] (a non-negative tensor gives [min, t]). Non-symmetric: each tail
 *       separately, with tail fraction (1 - p/100) of ALL histogrammed values (not of that side):
 *       the upper end is where the positive histogram (zeros included) leaves at most that many
 *       values above it, the lower end likewise on the negative histogram; then clamped.
 *   <li>{@code ENTROPY}: the KL-divergence threshold search described at {@link #entropyThreshold}.
 * </ul>
 *
 * <p>Percentile and entropy work on the histograms, which leave out extreme values (|x| >= 2^64,
 * e.g. -3.4e38 mask constants); those only move min/max, which the result is clamped to.
 *
 * <p>Special cases, never NaN: a tensor without finite values gives [0, 0]; a tensor whose finite
 * values are all extreme (empty histograms) gives [min, max] for PERCENTILE and ENTROPY. A mask
 * tensor of zeros and -3.4e38 gives [-3.4e38, 0] under MINMAX but [0, 0] under PERCENTILE and
 * ENTROPY (the histogram holds only zeros); such tensors are best left unquantized.
 */
public final class RangeEstimator {
  /** Probability given to a bin where P has mass but Q has none, before renormalising Q. */
  static final double ENTROPY_EPS = 1e-4;

  private RangeEstimator() {}

  /** The range of {@code s} under {@code p}. */
  public static Range estimate(TensorStats s, CalibrationParams p) {
    if (s.count() == 0) {
      return new Range(0.0, 0.0);
    }
    switch (p.method()) {
      case MINMAX:
        return new Range(s.min(), s.max());
      case MOVING_AVERAGE:
        return new Range(s.meanBatchMin(), s.meanBatchMax());
      case PERCENTILE:
        return p.symmetricPercentile() ? symmetricPercentile(s, p.percentile())
            : tailPercentile(s, p.percentile());
      case ENTROPY: {
        double t = entropyThreshold(s.absolute(), s, p.entropyTargetBins());
        return clamped(s, -t, t);
      }
      default:
        throw new AssertionError(p.method());
    }
  }

  private static Range symmetricPercentile(TensorStats s, double percentile) {
    AbsHistogram abs = s.absolute();
    if (abs.total() == 0) {
      return emptyHistogramRange(s);
    }
    double t = abs.upperEdgeAtFraction(percentile / 100.0);
    return clamped(s, -t, t);
  }

  private static Range tailPercentile(TensorStats s, double percentile) {
    AbsHistogram pos = s.positive();
    AbsHistogram neg = s.negative();
    long posTotal = pos.total();
    long negTotal = neg.total();
    long all = posTotal + negTotal;
    if (all == 0) {
      return new Range(s.min(), s.max());
    }
    double tail = (1.0 - percentile / 100.0) * all;
    double hi = posTotal == 0 ? 0.0 : pos.upperEdgeAtFraction(1.0 - tail / posTotal);
    double lo = negTotal == 0 ? 0.0 : -neg.upperEdgeAtFraction(1.0 - tail / negTotal);
    return clamped(s, lo, hi);
  }

  private static Range emptyHistogramRange(TensorStats s) {
    return new Range(s.min(), s.max());
  }

  private static Range clamped(TensorStats s, double lo, double hi) {
    double a = Math.max(lo, s.min()) + 0.0;
    double b = Math.min(hi, s.max()) + 0.0;
    if (!(a <= b)) {
      return new Range(s.min(), s.max());
    }
    return new Range(a, b);
  }

  /**
   * The KL threshold t over the |x| histogram {@code h} (zeros counted in bin 0), with Q = {@code
   * targetBins}.
   *
   * <p>Let nb be one past the last non-empty bin. If nb <= Q, t = max|x| (bounded by nb bin
   * widths when extreme values are present). Otherwise every candidate i in [Q, nb] is tried:
   *
   * <ol>
   *   <li>P: the first i bins, with all counts of bins >= i added to bin i-1.
   *   <li>Q: the first i bins of the histogram (without the added outliers) merged into Q groups;
   *       group g covers bins [floor(g*i/Q), floor((g+1)*i/Q)) (integer arithmetic). Each group's
   *       mass is spread evenly over the bins of the group where P is non-zero.
   *   <li>Both normalised; a bin where P > 0 but Q = 0 (possible only for bin i-1 when all its mass
   *       is folded outliers) gets probability {@link #ENTROPY_EPS}, and Q is renormalised.
   *   <li>KL(P || Q) = sum over P > 0 of p ln(p / q).
   * </ol>
   *
   * The i with least KL wins (ties: the smallest i) and t = i * binWidth. Per candidate the cost is
   * O(Q) through prefix sums of counts, non-empty bins and c ln c.
   */
  static double entropyThreshold(AbsHistogram abs, TensorStats s, int targetBins) {
    if (abs.exponent() == AbsHistogram.NO_EXPONENT) {
      return 0.0; // only zeros (and maybe extremes): clamping gives [min, max]
    }
    long[] h = abs.counts();
    h[0] += abs.zeroCount();
    int nb = abs.lastNonEmptyBin() + 1;
    if (nb == 0) {
      nb = 1;
    }
    double w = abs.binWidth();
    int q = targetBins;
    if (nb <= q) {
      double maxAbs = Math.max(Math.abs(s.min()), Math.abs(s.max()));
      return Math.min(nb * w, maxAbs);
    }
    double[] kl = entropyDivergences(h, nb, q);
    int bestI = q;
    for (int i = q + 1; i <= nb; i++) {
      if (kl[i] < kl[bestI]) { // strict: ties keep the smallest i
        bestI = i;
      }
    }
    return bestI * w;
  }

  /**
   * KL(P || Q) for every candidate i in [q, nb] (index i of the result; other entries NaN) over
   * bin counts {@code h} (zeros in bin 0) whose last non-empty bin is nb - 1.
   */
  static double[] entropyDivergences(long[] h, int nb, int q) {
    long[] cum = new long[nb + 1];
    int[] nonZero = new int[nb + 1];
    double[] cLogC = new double[nb + 1];
    for (int j = 0; j < nb; j++) {
      long c = h[j];
      cum[j + 1] = cum[j] + c;
      nonZero[j + 1] = nonZero[j] + (c != 0 ? 1 : 0);
      cLogC[j + 1] = cLogC[j] + xLogX(c);
    }
    double[] logInt = new double[nb + 1];
    for (int n = 1; n <= nb; n++) {
      logInt[n] = StrictMath.log(n);
    }
    long total = cum[nb];
    double logTotal = StrictMath.log(total);
    double logEps = StrictMath.log(ENTROPY_EPS);

    double[] result = new double[nb + 1];
    java.util.Arrays.fill(result, Double.NaN);
    for (int i = q; i <= nb; i++) {
      long outliers = total - cum[i];
      long lastBin = h[i - 1];
      long lastP = lastBin + outliers;
      long inside = cum[i]; // S: the mass Q is built from
      double sumPLogP = cLogC[i] - xLogX(lastBin) + xLogX(lastP);
      // First pass over groups: how many P-non-zero bins get no Q mass (smoothing), for Z.
      // Only the last group can be in that state.
      int lastStart = (int) ((long) (q - 1) * i / q);
      long lastMass = cum[i] - cum[lastStart];
      int lastNonZero = nonZero[i] - nonZero[lastStart]
          + ((lastBin == 0 && outliers > 0) ? 1 : 0);
      int smoothed = lastMass == 0 ? lastNonZero : 0;
      double z = (inside > 0 ? 1.0 : 0.0) + ENTROPY_EPS * smoothed;
      double logZ = StrictMath.log(z);
      double logInside = inside > 0 ? StrictMath.log(inside) : 0.0;
      double sumPLogQ = 0.0;
      int start = 0;
      for (int g = 0; g < q; g++) {
        int end = (int) ((long) (g + 1) * i / q);
        long mass = cum[end] - cum[start];
        long pMass = mass;
        int nz = nonZero[end] - nonZero[start];
        if (g == q - 1) {
          pMass += outliers;
          nz = lastNonZero;
        }
        if (pMass != 0) {
          double logQ;
          if (mass != 0) {
            logQ = StrictMath.log(mass) - logInt[nz] - logInside - logZ;
          } else {
            logQ = logEps - logZ;
          }
          sumPLogQ += pMass * logQ;
        }
        start = end;
      }
      result[i] = (sumPLogP - sumPLogQ) / total - logTotal;
    }
    return result;
  }

  private static double xLogX(long c) {
    return c == 0 ? 0.0 : c * StrictMath.log(c);
  }
}
