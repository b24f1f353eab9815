package io.quantbeam.core.stats;

import io.quantbeam.core.QuantbeamException;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.Arrays;

/**
 * Counts of non-negative magnitudes on a power-of-two-aligned grid, built so that merging is exact.
 *
 * <p>The grid has {@code bins} bins (a power of two) of width {@code 2^exponent}; bin {@code i}
 * holds magnitudes in {@code [i * w, (i + 1) * w)}. Exact zeros are counted separately in {@link
 * #zeroCount()} and do not influence the grid. The exponent is the smallest integer {@code k} such
 * that every non-zero magnitude seen satisfies {@code |x| < bins * 2^k}. When a larger magnitude
 * arrives (or a histogram with a larger exponent is merged in), the grid is coarsened by folding
 * adjacent bin pairs ({@code j <- 2j, 2j+1}) until it fits. Because every bin edge of the coarser
 * grid is an edge of the finer one, folding is exact: a histogram's content depends only on the
 * multiset of values added, never on their order or on how they were split into parts and merged.
 *
 * <p>Bin indexes are computed by scaling with an exact power of two, never by a rounding division.
 *
 * <p>Before any non-zero magnitude has been seen the histogram has no grid: {@link #exponent()}
 * returns {@link #NO_EXPONENT} and {@link #binWidth()} returns 0.
 *
 * <p>Not thread-safe.
 */
public final class AbsHistogram {
  /** Default number of bins. */
  public static final int DEFAULT_BINS = 2048;
  /** Largest number of bins accepted (2^24). */
  public static final int MAX_BINS = 1 << 24;
  /** Exponent reported while no non-zero magnitude has been seen. */
  public static final int NO_EXPONENT = Integer.MIN_VALUE;

  private final int bins;
  private final int logBins;
  private final long[] counts;
  private long zeroCount;
  private int exponent = NO_EXPONENT;

  /** A histogram with {@link #DEFAULT_BINS} bins. */
  public AbsHistogram() {
    this(DEFAULT_BINS);
  }

  /**
   * A histogram with {@code bins} bins.
   *
   * @throws QuantbeamException if {@code bins} is not a power of two in [2, 2^24]
   */
  public AbsHistogram(int bins) {
    checkBins(bins);
    this.bins = bins;
    this.logBins = Integer.numberOfTrailingZeros(bins);
    this.counts = new long[bins];
  }

  /** A deep copy. */
  public AbsHistogram(AbsHistogram other) {
    this.bins = other.bins;
    this.logBins = other.logBins;
    this.counts = other.counts.clone();
    this.zeroCount = other.zeroCount;
    this.exponent = other.exponent;
  }

  static void checkBins(int bins) {
    if (bins < 2 || bins > MAX_BINS || Integer.bitCount(bins) != 1) {
      throw new QuantbeamException(
          "histogram bins must be a power of two between 2 and " + MAX_BINS + ", got " + bins
              + "; use e.g. " + DEFAULT_BINS);
    }
  }

  /** Number of bins. */
  public int bins() {
    return bins;
  }

  /** Exponent k of the bin width 2^k, or {@link #NO_EXPONENT} before any non-zero magnitude. */
  public int exponent() {
    return exponent;
  }

  /** Bin width 2^exponent, or 0 before any non-zero magnitude. */
  public double binWidth() {
    return exponent == NO_EXPONENT ? 0.0 : Math.scalb(1.0, exponent);
  }

  /** Count of exact zeros (kept apart from bin 0). */
  public long zeroCount() {
    return zeroCount;
  }

  /** A copy of the bin counts (zeros not included). */
  public long[] counts() {
    return counts.clone();
  }

  /** Count in bin {@code i} (zeros not included). */
  public long count(int i) {
    return counts[i];
  }

  /** All values counted, zeros included. */
  public long total() {
    long t = zeroCount;
    for (long c : counts) {
      t += c;
    }
    return t;
  }

  /** Index of the last non-empty bin, or -1 when all bins are empty (zeros are not in a bin). */
  public int lastNonEmptyBin() {
    for (int i = bins - 1; i >= 0; i--) {
      if (counts[i] != 0) {
        return i;
      }
    }
    return -1;
  }

  /** The exponent that a grid of {@code bins} bins needs to hold magnitude {@code abs > 0}. */
  static int exponentFor(double abs, int logBins) {
    // getExponent gives e with 2^e <= abs < 2^(e+1) (e = -1023 for subnormals, where abs < 2^-1022);
    // abs < bins * 2^k  <=>  e + 1 <= logBins + k.
    return Math.getExponent(abs) + 1 - logBins;
  }

  /**
   * Adds one magnitude.
   *
   * @throws IllegalArgumentException if {@code abs} is negative, NaN or infinite
   */
  public void add(double abs) {
    if (!(abs >= 0.0) || abs == Double.POSITIVE_INFINITY) {
      throw new IllegalArgumentException("magnitude must be finite and >= 0, got " + abs);
    }
    if (abs == 0.0) {
      zeroCount++;
      return;
    }
    coarsenToFit(abs);
    counts[(int) Math.scalb(abs, -exponent)]++;
  }

  /**
   * Adds {@code |values[i]|} for {@code from <= i < to}: one pass for the largest magnitude, one
   * coarsening, then a tight binning pass.
   *
   * @throws IllegalArgumentException if a value is NaN or infinite (nothing is added then)
   */
  public void addAll(float[] values, int from, int to) {
    java.util.Objects.checkFromToIndex(from, to, values.length);
    float maxAbs = 0f;
    boolean nonFinite = false;
    for (int i = from; i < to; i++) {
      float a = Math.abs(values[i]);
      maxAbs = Math.max(maxAbs, a); // NaN propagates
    }
    if (Float.isNaN(maxAbs) || Float.isInfinite(maxAbs)) {
      throw new IllegalArgumentException("values must be finite");
    }
    if (maxAbs == 0f) {
      zeroCount += to - from;
      return;
    }
    coarsenToFit(maxAbs);
    double mult = multiplier();
    long zeros = 0;
    for (int i = from; i < to; i++) {
      float a = Math.abs(values[i]);
      if (a == 0f) {
        zeros++;
      } else {
        counts[(int) (a * mult)]++;
      }
    }
    zeroCount += zeros;
  }

  /**
   * Merges {@code other} into this histogram exactly (coarsening whichever grid is finer).
   *
   * @throws QuantbeamException if the bin counts differ
   */
  public void merge(AbsHistogram other) {
    if (other.bins != bins) {
      throw new QuantbeamException(
          "cannot merge histograms with " + bins + " and " + other.bins
              + " bins; calibrate every part with the same bin count");
    }
    zeroCount += other.zeroCount;
    if (other.exponent == NO_EXPONENT) {
      return;
    }
    coarsenTo(Math.max(other.exponent, exponent == NO_EXPONENT ? other.exponent : exponent));
    int shift = exponent - other.exponent;
    if (shift == 0) {
      for (int i = 0; i < bins; i++) {
        counts[i] += other.counts[i];
      }
    } else if (shift < 31) {
      for (int i = 0; i < bins; i++) {
        counts[i >> shift] += other.counts[i];
      }
    } else {
      long sum = 0;
      for (long c : other.counts) {
        sum += c;
      }
      counts[0] += sum;
    }
  }

  /**
   * The upper edge {@code (i + 1) * binWidth()} of the first bin {@code i} at which the cumulative
   * count, with zeros counted in bin 0, reaches {@code f * total()} (and at least one value).
   * Returns 0 when the histogram holds no non-zero magnitude. {@code f} is clamped to [0, 1].
   */
  public double upperEdgeAtFraction(double f) {
    long total = total();
    if (total == 0 || exponent == NO_EXPONENT) {
      return 0.0;
    }
    double ff = Double.isNaN(f) ? 1.0 : Math.min(1.0, Math.max(0.0, f));
    double target = Math.max(1.0, Math.ceil(ff * total));
    long cum = zeroCount;
    for (int i = 0; i < bins; i++) {
      cum += counts[i];
      if (cum >= target) {
        return Math.scalb((double) (i + 1), exponent);
      }
    }
    return Math.scalb((double) bins, exponent);
  }

  // ---- package-private hooks for the TensorStats hot path ----

  /** Coarsens the grid so that magnitude {@code abs > 0} fits. */
  void coarsenToFit(double abs) {
    int needed = exponentFor(abs, logBins);
    if (exponent == NO_EXPONENT || needed > exponent) {
      coarsenTo(needed);
    }
  }

  /** Multiplier 2^-exponent mapping a magnitude to its (fractional) bin index. */
  double multiplier() {
    return Math.scalb(1.0, -exponent);
  }

  long[] countsRef() {
    return counts;
  }

  void addZeros(long n) {
    zeroCount += n;
  }

  /** Sets the exponent to {@code target >= exponent}, folding bins as needed. */
  void coarsenTo(int target) {
    if (exponent == NO_EXPONENT) {
      exponent = target;
      return;
    }
    int shift = target - exponent;
    if (shift <= 0) {
      return;
    }
    if (shift >= logBins) {
      long sum = 0;
      for (long c : counts) {
        sum += c;
      }
      Arrays.fill(counts, 0L);
      counts[0] = sum;
    } else {
      int span = 1 << shift;
      int keep = bins >> shift;
      for (int j = 0; j < keep; j++) {
        long s = 0;
        int base = j << shift;
        for (int t = 0; t < span; t++) {
          s += counts[base + t];
        }
        counts[j] = s;
      }
      Arrays.fill(counts, keep, bins, 0L);
    }
    exponent = target;
  }

  // ---- encoding ----

  void write(DataOutput out) throws IOException {
    out.writeInt(exponent);
    Varint.write(out, zeroCount);
    int first = 0;
    while (first < bins && counts[first] == 0) {
      first++;
    }
    int last = lastNonEmptyBin();
    if (last < 0) {
      out.writeInt(-1);
      return;
    }
    out.writeInt(first);
    out.writeInt(last);
    for (int i = first; i <= last; i++) {
      Varint.write(out, counts[i]);
    }
  }

  static AbsHistogram read(DataInput in, int bins) throws IOException {
    AbsHistogram h = new AbsHistogram(bins);
    int exponent = in.readInt();
    h.zeroCount = Varint.read(in);
    int first = in.readInt();
    if (first == -1) {
      if (exponent != NO_EXPONENT) {
        throw new QuantbeamException(
            "corrupt histogram (a grid exponent without counts); the statistics are damaged:"
                + " recalibrate");
      }
      return h;
    }
    int last = in.readInt();
    if (exponent < -1100 || exponent > 1100 || first < 0 || last < first || last >= bins) {
      throw new QuantbeamException(
          "corrupt histogram (exponent " + exponent + ", bins " + first + ".." + last
              + "); the statistics are damaged: recalibrate");
    }
    h.exponent = exponent;
    for (int i = first; i <= last; i++) {
      h.counts[i] = Varint.read(in);
    }
    return h;
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof AbsHistogram)) {
      return false;
    }
    AbsHistogram h = (AbsHistogram) o;
    return bins == h.bins
        && exponent == h.exponent
        && zeroCount == h.zeroCount
        && Arrays.equals(counts, h.counts);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * (31 * bins + exponent) + Long.hashCode(zeroCount)) + Arrays.hashCode(counts);
  }

  @Override
  public String toString() {
    return "AbsHistogram{bins=" + bins + ", exponent=" + exponent + ", zeros=" + zeroCount
        + ", total=" + total() + "}";
  }
}
