package io.quantbeam.core.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.validate.Selection.Scored;
import java.util.List;
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

  @Test
  void fastestPassingThenSmallest() {
    List<Scored> c = List.of(
        new Scored("baseline", 0.70, 10.0, 100),
        new Scored("a", 0.80, 12.0, 300),
        new Scored("b", 0.80, 12.2, 200), // within 3% of a: smaller wins
        new Scored("c", 0.81, 20.0, 50));
    Selection.Choice choice = Selection.select(c, 0.81, Criterion.parse("0.5"), 0.03);
    assertTrue(choice.passed());
    assertEquals("c", choice.name()); // only c passes within 0.5 points
    choice = Selection.select(c, 0.81, Criterion.parse("2"), 0.03);
    assertEquals("b", choice.name());
    choice = Selection.select(c, 0.81, Criterion.parse("2"), 0.0);
    assertEquals("a", choice.name());
    // infinite tolerance: the smallest passing candidate, whatever the timings
    choice = Selection.select(c, 0.81, Criterion.parse("2"), Double.POSITIVE_INFINITY);
    assertEquals("c", choice.name());
    assertTrue(choice.reason().contains("smallest"), choice.reason());
  }

  @Test
  void nonePassesGivesTheMostAccurateAndSaysSo() {
    List<Scored> c = List.of(new Scored("x", 0.60, 5, 10), new Scored("y", 0.70, 9, 10));
    Selection.Choice choice = Selection.select(c, 0.90, Criterion.parse("0.5"), 0.03);
    assertFalse(choice.passed());
    assertEquals("y", choice.name());
    assertTrue(choice.reason().contains("NO candidate passes"), choice.reason());
  }
}
