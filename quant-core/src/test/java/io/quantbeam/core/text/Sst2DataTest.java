package io.quantbeam.core.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.quantbeam.core.testing.TestData;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The row and label counts stated in the datasets SOURCE.md files, as TestData reads them. */
class Sst2DataTest {

  @Test
  void sentenceSplitsHaveTheDocumentedSizesAndLabels() {
    assertCounts(TestData.sst2Dev(), 428, 444);
    assertCounts(TestData.sst2Train(), 3310, 3610);
    assertCounts(TestData.sst2Test(), 912, 909);
    LabeledText first = TestData.sst2Dev().get(0);
    assertEquals(new LabeledText("one long string of cliches .", 0), first);
  }

  @Test
  void gluePhrasesKeepFileOrderAndLoseTheCarriageReturn() {
    List<LabeledText> five = TestData.gluePhrases(5);
    assertEquals(5, five.size());
    assertEquals(new LabeledText("hide new secretions from the parental units", 0), five.get(0));
    assertEquals(new LabeledText("contains no wit , only labored gags", 0), five.get(1));
    for (LabeledText t : TestData.gluePhrases(2000)) {
      assertFalse(t.text().contains("\r") || t.text().contains("\t"), t.text());
    }
    assertEquals(0, TestData.gluePhrases(0).size());
    assertThrows(IllegalArgumentException.class, () -> TestData.gluePhrases(67_350));
  }

  private static void assertCounts(List<LabeledText> rows, int neg, int pos) {
    assertEquals(neg, rows.stream().filter(r -> r.label() == 0).count());
    assertEquals(pos, rows.stream().filter(r -> r.label() == 1).count());
    assertEquals(neg + pos, rows.size());
  }
}
