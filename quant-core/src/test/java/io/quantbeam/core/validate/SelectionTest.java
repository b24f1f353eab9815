package io.quantbeam.core.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.validate.Selection.Scored;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SelectionTest {
  @Test
  void criterionInPointsOrRelative() {
    Criterion points = Criterion.parse("0.5");
    assertFalse(points.relative());
    assertTrue(points.passes(0.8131, 0.8090));
    assertFalse(points.passes(0.8131, 0.8070));
    Criterion relative = Criterion.parse("1%");
    assertTrue(relative.relative());
    assertTrue(relative.passes(0.80, 0.7921)); // 0.79 points <= 0.8 points
    assertFalse(relative.passes(0.80, 0.7910));
    assertTrue(points.passes(0.80, 0.85), "a gain always passes");
    assertThrows(QuantbeamException.class, () -> Criterion.parse("half"));
    assertThrows(QuantbeamException.class, () -> Criterion.parse("-1"));
  }

  /** Call-by-call ratios given per challenger; records which ones the rule asked for. */
  private static final class GivenRatios implements Selection.PairedTiming {
    final Map<String, LatencyBench.Ratio> ratios;
    final List<String> asked = new ArrayList<>();

    GivenRatios(Map<String, LatencyBench.Ratio> ratios) {
      this.ratios = ratios;
    }

    @Override
    public LatencyBench.Ratio ratio(Scored candidate, Scored smallest) {
      asked.add(candidate.name() + " vs " + smallest.name());
      return ratios.get(candidate.name());
    }
  }

  /** A median ratio with a 95.7% interval over 30 calls. */
  private static LatencyBench.Ratio ratio(double median, double lower, double upper) {
    return new LatencyBench.Ratio(median, lower, upper, 0.957, 30);
  }

  private static final Selection.PairedTiming NO_TIMING = (c, s) -> {
    throw new AssertionError("nothing should be timed, asked for " + c.name());
  };

  @Test
  void aSelectionThatNoiseWouldDecidePicksTheSmallest() {
    // "topk-1" was 3% faster over the rounds, but call by call its interval crosses 1
    List<Scored> c = List.of(
        new Scored("baseline", 0.812, 100.0, 22_900_000),
        new Scored("topk-1", 0.813, 97.0, 24_700_000));
    GivenRatios timing = new GivenRatios(Map.of("topk-1", ratio(0.97, 0.94, 1.01)));
    // even with no margin at all: the rule needs the whole interval below 1
    Selection.Choice choice = Selection.select(c, 0.81, Criterion.parse("0.5"), 0.0, timing);
    assertTrue(choice.passed());
    assertEquals("baseline", choice.name(), choice.reason());
    assertEquals(List.of("topk-1 vs baseline"), timing.asked);
    assertEquals(1, choice.comparisons().size());
    assertFalse(choice.comparisons().get(0).faster());
    assertEquals(0.97, choice.comparisons().get(0).ratio().median());
    assertTrue(choice.reason().contains("baseline is the smallest, and no other is shown faster"),
        choice.reason());
    // the same with the default 3%
    assertEquals("baseline", Selection.select(c, 0.81, Criterion.parse("0.5"), 0.03,
        new GivenRatios(Map.of("topk-1", ratio(0.97, 0.94, 1.01)))).name());
  }

  @Test
  void aCandidateFasterBeyondItsIntervalAndTheMarginWins() {
    List<Scored> c = List.of(
        new Scored("baseline", 0.812, 100.0, 22_900_000),
        new Scored("per-tensor", 0.811, 88.0, 23_000_000));
    Selection.Choice choice = Selection.select(c, 0.81, Criterion.parse("0.5"), 0.03,
        new GivenRatios(Map.of("per-tensor", ratio(0.90, 0.88, 0.92))));
    assertEquals("per-tensor", choice.name());
    assertTrue(choice.comparisons().get(0).faster());
    assertTrue(choice.reason().contains("per-tensor is shown faster at batch 32 than the smallest,"
        + " baseline, by more than 3%"), choice.reason());
    // faster beyond 1 but not beyond the margin: 0.96 to 0.98 does not clear 0.97
    choice = Selection.select(c, 0.81, Criterion.parse("0.5"), 0.03,
        new GivenRatios(Map.of("per-tensor", ratio(0.97, 0.96, 0.98))));
    assertEquals("baseline", choice.name());
    // and does clear a 1% margin
    choice = Selection.select(c, 0.81, Criterion.parse("0.5"), 0.01,
        new GivenRatios(Map.of("per-tensor", ratio(0.97, 0.96, 0.98))));
    assertEquals("per-tensor", choice.name());
  }

  @Test
  void tooFewCallsForTheCoverageShowNothing() {
    List<Scored> c = List.of(new Scored("small", 0.81, 100.0, 10),
        new Scored("big", 0.81, 50.0, 20));
    // 5 calls: the range [min, max] covers the median with 93.75% only
    LatencyBench.Ratio fewCalls = new LatencyBench.Ratio(0.5, 0.45, 0.55, 0.9375, 5);
    assertEquals("small", Selection.select(c, 0.81, Criterion.parse("0.5"), 0.03,
        new GivenRatios(Map.of("big", fewCalls))).name());
  }

  @Test
  void onlyCandidatesFasterInRoundsAreTimedAtMostThreeAndTheBestUpperBoundWins() {
    List<Scored> c = List.of(
        new Scored("s", 0.81, 100.0, 10),
        new Scored("slower", 0.81, 101.0, 11), // not faster even in rounds: not timed
        new Scored("a", 0.81, 90.0, 30),
        new Scored("b", 0.81, 91.0, 20),
        new Scored("d", 0.81, 92.0, 25),
        new Scored("e", 0.81, 93.0, 12), // the 4th fastest: not timed
        new Scored("fails", 0.70, 10.0, 5)); // fails the criterion: neither smallest nor timed
    GivenRatios timing = new GivenRatios(Map.of(
        "a", ratio(0.90, 0.88, 0.93),
        "b", ratio(0.91, 0.89, 0.92), // best upper bound
        "d", ratio(0.99, 0.95, 1.02)));
    Selection.Choice choice = Selection.select(c, 0.81, Criterion.parse("0.5"), 0.03, timing);
    assertEquals(List.of("a vs s", "b vs s", "d vs s"), timing.asked);
    assertEquals("b", choice.name());
    assertEquals(List.of(true, true, false),
        choice.comparisons().stream().map(Selection.Comparison::faster).toList());
  }

  @Test
  void anInfiniteToleranceSelectsTheSmallestAndTimesNothing() {
    List<Scored> c = List.of(
        new Scored("baseline", 0.70, 10.0, 100),
        new Scored("a", 0.80, 12.0, 300),
        new Scored("b", 0.80, 12.2, 200),
        new Scored("c", 0.81, 20.0, 50));
    Selection.Choice choice = Selection.select(c, 0.81, Criterion.parse("0.5"),
        Double.POSITIVE_INFINITY, NO_TIMING);
    assertEquals("c", choice.name()); // only c passes within 0.5 points
    choice = Selection.select(c, 0.81, Criterion.parse("2"), Double.POSITIVE_INFINITY, NO_TIMING);
    assertEquals("c", choice.name());
    assertTrue(choice.reason().contains("smallest"), choice.reason());
    assertEquals(List.of(), choice.comparisons());
    assertTrue(choice.rule().contains("not used"), choice.rule());
  }

  @Test
  void theRuleIsStatedInPlainWords() {
    String rule = Selection.rule(0.03);
    assertTrue(rule.startsWith("The smallest candidate that passes the accuracy criterion is"
        + " selected."), rule);
    assertTrue(rule.contains("by more than 3%") && rule.contains("95% interval")
        && rule.contains("below 0.97") && rule.contains("call by call"), rule);
    assertTrue(Selection.rule(0.025).contains("below 0.975"), Selection.rule(0.025));
  }

  @Test
  void nonePassesGivesTheMostAccurateAndSaysSo() {
    List<Scored> c = List.of(new Scored("x", 0.60, 5, 10), new Scored("y", 0.70, 9, 10));
    Selection.Choice choice = Selection.select(c, 0.90, Criterion.parse("0.5"), 0.03, NO_TIMING);
    assertFalse(choice.passed());
    assertEquals("y", choice.name());
    assertTrue(choice.reason().contains("NO candidate passes"), choice.reason());
    assertEquals(List.of(), choice.comparisons());
  }
}
