package io.quantbeam.core.validate;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Picks the model to ship: among the candidates that pass the criterion, the fastest at batch 32;
 * candidates within {@code tieTolerance} (relative) of the fastest count as equally fast, and the
 * smallest of those wins (then the faster, then the name). An infinite tolerance makes the choice
 * the smallest passing candidate, independent of timing noise. When none passes, the best so far: the
 * most accurate (then the fastest), with {@code passed = false}.
 */
public final class Selection {
  /** A candidate's figures for the choice. */
  public record Scored(String name, double accuracy, double latencyBatch32Ms, long sizeBytes) {}

  /** The choice and whether it passed. */
  public record Choice(String name, boolean passed, String reason) {}

  private Selection() {}

  public static Choice select(List<Scored> candidates, double fp32Accuracy, Criterion criterion,
      double tieTolerance) {
    if (candidates.isEmpty()) {
      throw new IllegalArgumentException("no candidates");
    }
    List<Scored> passing = candidates.stream()
        .filter(c -> criterion.passes(fp32Accuracy, c.accuracy())).toList();
    if (!passing.isEmpty()) {
      double fastest = passing.stream().mapToDouble(Scored::latencyBatch32Ms).min().orElseThrow();
      Optional<Scored> pick = passing.stream()
          .filter(c -> c.latencyBatch32Ms() <= fastest * (1 + tieTolerance))
          .min(Comparator.comparingLong(Scored::sizeBytes)
              .thenComparingDouble(Scored::latencyBatch32Ms).thenComparing(Scored::name));
      Scored s = pick.orElseThrow();
      if (Double.isInfinite(tieTolerance)) {
        return new Choice(s.name(), true, String.format(java.util.Locale.ROOT,
            "%d of %d candidates pass (%s); %s is the smallest (speed is measured and reported,"
                + " not used: infinite tie tolerance)", passing.size(), candidates.size(),
            criterion, s.name()));
      }
      return new Choice(s.name(), true, String.format(java.util.Locale.ROOT,
          "%d of %d candidates pass (%s); %s is the fastest at batch 32 (within %.0f%%), then the"
              + " smallest", passing.size(), candidates.size(), criterion, s.name(),
          100 * tieTolerance));
    }
    Scored best = candidates.stream()
        .max(Comparator.comparingDouble(Scored::accuracy)
            .thenComparing(Comparator.comparingDouble(Scored::latencyBatch32Ms).reversed())
            .thenComparing(Comparator.comparing(Scored::name).reversed()))
        .orElseThrow();
    return new Choice(best.name(), false, String.format(java.util.Locale.ROOT,
        "NO candidate passes (%s, FP32 accuracy %.2f%%); written: the most accurate, %s"
            + " (%.2f%%, drop %.2f points)", criterion, 100 * fp32Accuracy, best.name(),
        100 * best.accuracy(), Criterion.dropPoints(fp32Accuracy, best.accuracy())));
  }
}
