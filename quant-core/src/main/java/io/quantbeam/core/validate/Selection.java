package io.quantbeam.core.validate;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Picks the model to ship without trading size for timing noise.
 *
 * <p>Among the candidates that pass the criterion, the smallest (then the name) is selected. Another
 * passing candidate replaces it only when it is shown faster at batch 32 by more than
 * {@code tieTolerance}: timed against the smallest call by call ({@link PairedTiming}), the whole
 * {@link #CONFIDENCE} interval of its median time ratio must lie below {@code 1 - tieTolerance}.
 * Size is exact and permanent; a speed-up is an estimate on this machine, so an unproven one (an
 * interval that reaches {@code 1 - tieTolerance}) never costs bytes. Only plausible challengers
 * are timed, to keep this cheap: those whose round-based batch-32 p50 is below the smallest's, at
 * most {@link #MAX_COMPARED} of them, the fastest first. Of several shown faster, the one with
 * the lowest upper bound (the speed-up best vouched for) wins, then the smaller, then the name.
 * An infinite tolerance selects the smallest and times nothing.
 *
 * <p>When none passes, the best so far: the most accurate (then the fastest), with
 * {@code passed = false}.
 */
public final class Selection {
  /** Coverage of the interval a speed-up must clear. */
  public static final double CONFIDENCE = 0.95;
  /** At most this many challengers are timed against the smallest (each costs two sessions). */
  public static final int MAX_COMPARED = 3;

  /** A candidate's figures for the choice; the latency is the round-based batch-32 p50. */
  public record Scored(String name, double accuracy, double latencyBatch32Ms, long sizeBytes) {}

  /**
   * One challenger timed against the smallest passing candidate: {@code ratio} is challenger /
   * smallest per call (below 1: the challenger is faster); {@code faster} says whether its whole
   * interval cleared the rule's bound.
   */
  public record Comparison(String candidate, String against, LatencyBench.Ratio ratio,
      boolean faster) {}

  /**
   * The choice, whether it passed, why (words only: the same outcome gives the same text), the
   * rule in plain words, and the call-by-call comparisons that were made (timings).
   */
  public record Choice(String name, boolean passed, String reason, String rule,
      List<Comparison> comparisons) {}

  /** Times {@code candidate} against {@code smallest} call by call at batch 32. */
  @FunctionalInterface
  public interface PairedTiming {
    LatencyBench.Ratio ratio(Scored candidate, Scored smallest);
  }

  private Selection() {}

  public static Choice select(List<Scored> candidates, double fp32Accuracy, Criterion criterion,
      double tieTolerance, PairedTiming timing) {
    if (candidates.isEmpty()) {
      throw new IllegalArgumentException("no candidates");
    }
    String rule = rule(tieTolerance);
    List<Scored> passing = candidates.stream()
        .filter(c -> criterion.passes(fp32Accuracy, c.accuracy())).toList();
    if (passing.isEmpty()) {
      Scored best = candidates.stream()
          .max(Comparator.comparingDouble(Scored::accuracy)
              .thenComparing(Comparator.comparingDouble(Scored::latencyBatch32Ms).reversed())
              .thenComparing(Comparator.comparing(Scored::name).reversed()))
          .orElseThrow();
      return new Choice(best.name(), false, String.format(Locale.ROOT,
          "NO candidate passes (%s, FP32 accuracy %.2f%%); written: the most accurate, %s"
              + " (%.2f%%, drop %.2f points)", criterion, 100 * fp32Accuracy, best.name(),
          100 * best.accuracy(), Criterion.dropPoints(fp32Accuracy, best.accuracy())), rule,
          List.of());
    }
    Scored smallest = passing.stream()
        .min(Comparator.comparingLong(Scored::sizeBytes).thenComparing(Scored::name))
        .orElseThrow();
    String passed = String.format(Locale.ROOT, "%d of %d candidates pass (%s)", passing.size(),
        candidates.size(), criterion);
    if (Double.isInfinite(tieTolerance)) {
      return new Choice(smallest.name(), true, String.format(Locale.ROOT, "%s; %s is the smallest"
          + " (speed is measured and reported, not used: infinite tie tolerance)", passed,
          smallest.name()), rule, List.of());
    }
    double bound = 1 - tieTolerance;
    List<Comparison> comparisons = new ArrayList<>();
    for (Scored c : challengers(passing, smallest)) {
      LatencyBench.Ratio r = timing.ratio(c, smallest);
      comparisons.add(new Comparison(c.name(), smallest.name(), r,
          r.wholeIntervalBelow(bound, CONFIDENCE)));
    }
    Comparison winner = comparisons.stream().filter(Comparison::faster)
        .min(Comparator.comparingDouble((Comparison x) -> x.ratio().upper())
            .thenComparingLong(x -> size(passing, x.candidate()))
            .thenComparing(Comparison::candidate))
        .orElse(null);
    if (winner == null) {
      return new Choice(smallest.name(), true, String.format(Locale.ROOT, "%s; %s is the smallest,"
          + " and no other is shown faster at batch 32 by more than %s (call by call, %.0f%%"
          + " interval)", passed, smallest.name(), percent(tieTolerance), 100 * CONFIDENCE), rule,
          List.copyOf(comparisons));
    }
    return new Choice(winner.candidate(), true, String.format(Locale.ROOT, "%s; %s is shown faster"
        + " at batch 32 than the smallest, %s, by more than %s (call by call, %.0f%% interval)",
        passed, winner.candidate(), smallest.name(), percent(tieTolerance), 100 * CONFIDENCE),
        rule, List.copyOf(comparisons));
  }

  /**
   * The passing candidates worth timing against the smallest: those whose round-based p50 is
   * below the smallest's (a candidate that was not faster even in rounds is very unlikely to be
   * shown faster), at most {@link #MAX_COMPARED}, the fastest first (then the smaller, the name).
   */
  static List<Scored> challengers(List<Scored> passing, Scored smallest) {
    return passing.stream()
        .filter(c -> c != smallest && c.latencyBatch32Ms() < smallest.latencyBatch32Ms())
        .sorted(Comparator.comparingDouble(Scored::latencyBatch32Ms)
            .thenComparingLong(Scored::sizeBytes).thenComparing(Scored::name))
        .limit(MAX_COMPARED)
        .toList();
  }

  /** The rule in plain words, for the report. */
  public static String rule(double tieTolerance) {
    String none = " When no candidate passes, the most accurate is written and the report says so.";
    if (Double.isInfinite(tieTolerance)) {
      return "The smallest candidate that passes the accuracy criterion is selected; latency is"
          + " measured and reported but not used (infinite speed tie tolerance)." + none;
    }
    return String.format(Locale.ROOT, "The smallest candidate that passes the accuracy criterion"
        + " is selected. Another passing candidate replaces it only when it is shown faster at"
        + " batch 32 by more than %s: each passing candidate whose batch-32 p50 over the rounds is"
        + " below the smallest's (at most %d, the fastest first) is timed against the smallest"
        + " call by call (every batch of 32 on both models back to back, one intra-op thread),"
        + " and the whole %.0f%% interval of its median time ratio must lie below %s. Of several"
        + " such, the one with the lowest upper bound wins, then the smaller. A speed difference"
        + " that the interval does not prove never costs size.", percent(tieTolerance),
        MAX_COMPARED, 100 * CONFIDENCE, trim(1 - tieTolerance)) + none;
  }

  private static long size(List<Scored> passing, String name) {
    return passing.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow()
        .sizeBytes();
  }

  private static String percent(double fraction) {
    return trim(100 * fraction) + "%";
  }

  /** At most 4 decimals, no trailing zeros: 0.97, 3%, 2.5%. */
  private static String trim(double v) {
    return new java.math.BigDecimal(String.format(Locale.ROOT, "%.4f", v)).stripTrailingZeros()
        .toPlainString();
  }
}
