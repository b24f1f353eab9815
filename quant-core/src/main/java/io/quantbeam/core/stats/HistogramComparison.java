package io.quantbeam.core.stats;

/**
 * Compares a tensor's statistics from two corpora: how much of one falls outside a range, and how
 * far apart the two distributions are. Both read only the exact histograms, so the results do not
 * depend on how either corpus was split or merged.
 */
public final class HistogramComparison {
  /** Floor for a bucket's share in {@link #psi}, so an empty bucket does not give log(0). */
  static final double PSI_FLOOR = 1e-4;

  private HistogramComparison() {}

  /**
   * Fraction of the histogrammed values of {@code s} below {@code lo} or above {@code hi}
   * ({@code lo <= 0 <= hi}); within the bin a bound falls in, values are taken as uniform up to
   * the largest value seen. Values
   * kept out of the histograms (NaN, infinities, mask sentinels) are not counted either way.
   * Returns 0 for statistics without values.
   */
  public static double fractionOutside(TensorStats s, double lo, double hi) {
    long total = s.positive().total() + s.negative().total();
    if (total == 0) {
      return 0.0;
    }
    return (massAbove(s.positive(), hi, Math.max(0.0, s.max()))
        + massAbove(s.negative(), -lo, Math.max(0.0, -s.min()))) / total;
  }

  /**
   * Count of magnitudes above {@code bound >= 0}. In the bin the bound falls in, values are taken
   * as uniform between the bin's lower edge and the smaller of its upper edge and {@code largest}
   * (the largest magnitude seen), so a bound at or beyond the data counts nothing.
   */
  private static double massAbove(AbsHistogram h, double bound, double largest) {
    if (h.exponent() == AbsHistogram.NO_EXPONENT || bound >= largest) {
      return 0.0;
    }
    double w = h.binWidth();
    double mass = 0.0;
    for (int i = 0; i < h.bins(); i++) {
      long c = h.count(i);
      if (c == 0) {
        continue;
      }
      double lower = i * w;
      double upper = Math.min(lower + w, largest);
      if (lower >= bound) {
        mass += c;
      } else if (upper > bound) {
        mass += c * (upper - bound) / (upper - lower);
      }
    }
    return mass;
  }

  /**
   * Population stability index of {@code production} against {@code reference}: the signed value
   * axis is cut into (at most) {@code buckets} intervals holding equal shares of the reference,
   * values beyond the reference's extremes join the outermost intervals, and PSI is the sum over
   * intervals of {@code (p - r) ln(p / r)} with shares floored at {@value #PSI_FLOOR}. The usual
   * reading: below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a large one. Returns 0
   * when either side has no values.
   */
  public static double psi(TensorStats reference, TensorStats production, int buckets) {
    if (buckets < 2) {
      throw new IllegalArgumentException("PSI needs at least 2 buckets, got " + buckets);
    }
    if (reference.bins() != production.bins()) {
      throw new IllegalArgumentException("cannot compare statistics with " + reference.bins()
          + " and " + production.bins() + " bins");
    }
    int exponent = AbsHistogram.NO_EXPONENT;
    for (AbsHistogram h : new AbsHistogram[] {reference.positive(), reference.negative(),
        production.positive(), production.negative()}) {
      exponent = Math.max(exponent, h.exponent());
    }
    long[] ref = signed(reference, exponent);
    long[] prod = signed(production, exponent);
    long refTotal = sum(ref);
    long prodTotal = sum(prod);
    if (refTotal == 0 || prodTotal == 0) {
      return 0.0;
    }
    double[] r = new double[buckets];
    double[] p = new double[buckets];
    int b = 0;
    long cum = 0;
    for (int i = 0; i < ref.length; i++) {
      r[b] += ref[i];
      p[b] += prod[i];
      cum += ref[i];
      // move on once this bucket holds its share of the reference
      while (b < buckets - 1 && cum * (double) buckets >= (b + 1) * (double) refTotal) {
        b++;
      }
    }
    double psi = 0.0;
    for (int i = 0; i < buckets; i++) {
      double ri = Math.max(PSI_FLOOR, r[i] / refTotal);
      double pi = Math.max(PSI_FLOOR, p[i] / prodTotal);
      psi += (pi - ri) * Math.log(pi / ri);
    }
    return psi;
  }

  /**
   * Counts on the signed axis at grid exponent {@code exponent}: negative bins from the most
   * negative up, the zeros, then positive bins upwards.
   */
  private static long[] signed(TensorStats s, int exponent) {
    int bins = s.bins();
    long[] out = new long[2 * bins + 1];
    AbsHistogram neg = new AbsHistogram(s.negative());
    AbsHistogram pos = new AbsHistogram(s.positive());
    if (exponent != AbsHistogram.NO_EXPONENT) {
      neg.coarsenTo(exponent);
      pos.coarsenTo(exponent);
    }
    for (int i = 0; i < bins; i++) {
      out[bins - 1 - i] = neg.count(i);
      out[bins + 1 + i] = pos.count(i);
    }
    out[bins] = neg.zeroCount() + pos.zeroCount();
    return out;
  }

  private static long sum(long[] v) {
    long t = 0;
    for (long x : v) {
      t += x;
    }
    return t;
  }
}
