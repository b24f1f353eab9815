package io.quantbeam.core.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.QuantbeamException;
import org.junit.jupiter.api.Test;

class EmbeddingAgreementTest {

  @Test
  void identicalEmbeddingsAgreePerfectly() {
    float[][] a = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}};
    EmbeddingAgreement r = EmbeddingAgreement.compute(a, a, 2);
    assertEquals(1.0, r.meanCosine(), 1e-12);
    assertEquals(1.0, r.minCosine(), 1e-12);
    assertEquals(1.0, r.meanTopKOverlap(), 1e-12);
    assertEquals(4, r.count());
    assertTrue(r.toString().contains("top2Overlap=1.0000"), r.toString());
  }

  @Test
  void cosinesIgnoreScaleAndHaveKnownValues() {
    float[][] ref = {{1, 0}, {0, 1}, {3, 4}};
    float[][] cand = {{2, 0}, {1, 1}, {-3, -4}}; // cos 1, 1/sqrt2, -1
    EmbeddingAgreement r = EmbeddingAgreement.compute(ref, cand, 1);
    assertEquals((1 + Math.sqrt(0.5) - 1) / 3, r.meanCosine(), 1e-12);
    assertEquals(-1.0, r.minCosine(), 1e-12);
  }

  @Test
  void neighbourOverlapOnAHandMadeExample() {
    // unit vectors at 0, 10, 25 and 45 degrees (no ties); the candidate swaps the first and the last
    float[][] ref = {angle(0), angle(10), angle(25), angle(45)};
    float[][] cand = {angle(45), angle(10), angle(25), angle(0)};
    // k=1 nearest other: reference 0->1, 1->0, 2->1, 3->2; candidate 0->2, 1->3, 2->1, 3->1: only row 2 agrees
    assertEquals(0.25, EmbeddingAgreement.compute(ref, cand, 1).meanTopKOverlap(), 1e-12);
    // k=2: reference {1,2} {0,2} {1,3} {1,2}; candidate {1,2} {2,3} {0,1} {1,2} -> 1, 1/2, 1/2, 1
    EmbeddingAgreement r2 = EmbeddingAgreement.compute(ref, cand, 2);
    assertEquals(0.75, r2.meanTopKOverlap(), 1e-12);
    double c45 = Math.cos(Math.toRadians(45));
    assertEquals((2 + 2 * c45) / 4, r2.meanCosine(), 1e-6);
    assertEquals(c45, r2.minCosine(), 1e-6);
    // k = n-1: the neighbour set is everyone else, so overlap is always 1
    assertEquals(1.0, EmbeddingAgreement.compute(ref, cand, 3).meanTopKOverlap(), 1e-12);
  }

  @Test
  void tiesGoToTheLowerIndex() {
    double[][] rows = {{1, 0}, {0, 1}, {0, 1}, {0, 1}, {1, 0}};
    int[] idx = new int[3];
    EmbeddingAgreement.topK(rows, 0, idx, new double[3]);
    assertArrayEquals(new int[] {4, 1, 2}, idx, "the exact match first, then equal ties by index");
    EmbeddingAgreement.topK(rows, 2, idx, new double[3]);
    assertArrayEquals(new int[] {1, 3, 0}, idx);
  }

  @Test
  void rejectsMismatchedInputs() {
    float[][] a = {{1, 0}, {0, 1}};
    assertThrows(QuantbeamException.class, () -> EmbeddingAgreement.compute(a, new float[][] {{1, 0}}, 1));
    assertThrows(QuantbeamException.class, () -> EmbeddingAgreement.compute(a, a, 2), "k > n-1");
    assertThrows(QuantbeamException.class, () -> EmbeddingAgreement.compute(a, a, 0));
    assertThrows(QuantbeamException.class,
        () -> EmbeddingAgreement.compute(a, new float[][] {{1, 0, 0}, {0, 1, 0}}, 1));
  }

  private static float[] angle(double degrees) {
    double r = Math.toRadians(degrees);
    return new float[] {(float) Math.cos(r), (float) Math.sin(r)};
  }
}
