package io.quantbeam.core.validate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.quantbeam.core.QuantbeamException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class EvalAccumulatorTest {
  @Test
  void confusionPrecisionRecallF1AndAgreement() {
    EvalAccumulator a = new EvalAccumulator(2);
    // reference predicts 1,1,0,0; candidate predicts 1,0,0,0; labels 1,1,1,0
    a.add(new float[] {0, 1}, new float[] {0, 1}, 1);
    a.add(new float[] {0, 1}, new float[] {1, 0}, 1);
    a.add(new float[] {1, 0}, new float[] {1, 0}, 1);
    a.add(new float[] {1, 0}, new float[] {1, 0}, 0);
    a.add(new float[] {1, 0}, new float[] {1, 0}, -1); // unlabeled: agreement only
    a.add(new float[] {1, 0}, new float[] {1, 0}, 7); // label out of range: counted
    EvalAccumulator.Summary s = a.summary();
    assertEquals(6, s.examples());
    assertEquals(4, s.labeled());
    assertEquals(1, s.unusableLabels());
    assertEquals(0.5, s.accuracy(), 1e-12);
    assertEquals(5.0 / 6, s.agreement(), 1e-12);
    assertArrayEquals(new long[] {1, 0}, s.confusion()[0]);
    assertArrayEquals(new long[] {2, 1}, s.confusion()[1]);
    assertEquals(1.0, s.perClass().get(1).precision(), 1e-12);
    assertEquals(1.0 / 3, s.perClass().get(1).recall(), 1e-12);
    assertEquals(0.5, s.perClass().get(1).f1(), 1e-12);
    assertEquals(1.0 / 3, s.perClass().get(0).precision(), 1e-12);
  }

  @Test
  void identicalOutputsHaveNoSqnrAndCosineOne() {
    EvalAccumulator a = new EvalAccumulator(0);
    a.add(new float[] {1, 2, 3}, new float[] {1, 2, 3}, -1);
    EvalAccumulator.Summary s = a.summary();
    assertNull(s.sqnrDb());
    assertNull(s.accuracy());
    assertNull(s.agreement());
    assertEquals(1.0, s.meanCosine(), 1e-12);
    a.add(new float[] {1, 0}, new float[] {0.9f, 0.1f}, -1);
    assertEquals(10 * Math.log10((14 + 1) / (0.01 + 0.01)), a.summary().sqnrDb(), 1e-4);
  }

  @Test
  void mergingAnyPartitionInAnyOrderGivesTheSameBytes() {
    Random rnd = new Random(7);
    List<float[][]> examples = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      float[] r = {(float) rnd.nextGaussian(), (float) rnd.nextGaussian(),
          (float) rnd.nextGaussian()};
      float[] o = r.clone();
      o[rnd.nextInt(3)] += (float) (0.3 * rnd.nextGaussian());
      examples.add(new float[][] {r, o, {rnd.nextInt(3)}});
    }
    EvalAccumulator one = new EvalAccumulator(3);
    examples.forEach(e -> one.add(e[0], e[1], (int) e[2][0]));
    for (int trial = 0; trial < 5; trial++) {
      List<float[][]> shuffled = new ArrayList<>(examples);
      Collections.shuffle(shuffled, rnd);
      List<EvalAccumulator> parts = new ArrayList<>();
      int parts0 = 1 + rnd.nextInt(7);
      for (int p = 0; p < parts0; p++) {
        parts.add(new EvalAccumulator(3));
      }
      shuffled.forEach(e -> parts.get(rnd.nextInt(parts0)).add(e[0], e[1], (int) e[2][0]));
      Collections.shuffle(parts, rnd);
      EvalAccumulator merged = new EvalAccumulator(0);
      parts.forEach(p -> merged.mergeFrom(EvalAccumulator.fromBytes(p.toBytes())));
      assertArrayEquals(one.toBytes(), merged.toBytes(), "trial " + trial);
    }
  }

  @Test
  void differentOutputShapesAreAClearError() {
    EvalAccumulator a = new EvalAccumulator(2);
    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> a.add(new float[] {0, 1}, new float[] {0, 1, 2}, 0));
    assertEquals(true, e.getMessage().contains("same output"));
  }
}
