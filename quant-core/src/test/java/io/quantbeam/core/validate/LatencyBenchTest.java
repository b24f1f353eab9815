package io.quantbeam.core.validate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class LatencyBenchTest {
  private static List<Double> shuffledOneTo(int n) {
    List<Double> v = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      v.add((double) i);
    }
    Collections.reverse(v);
    return v;
  }

  /** P(B < k) for B ~ Binomial(n, 1/2), summed term by term from binomial coefficients. */
  private static double below(int n, int k) {
    double sum = 0;
    for (int j = 0; j < k; j++) {
      double c = 1;
      for (int i = 0; i < j; i++) {
        c = c * (n - i) / (i + 1);
      }
      sum += c;
    }
    return sum / Math.pow(2, n);
  }

  @Test
  void medianIntervalMatchesTheBinomialTable() {
    // 30 rounds: x(10)..x(21) covers 95.7% (P(B <= 9) = 0.0214); x(11)..x(20) only 90.1%
    double[] i30 = LatencyBench.medianInterval(shuffledOneTo(30), 0.95);
    assertArrayEquals(new double[] {10, 21}, new double[] {i30[0], i30[1]});
    assertEquals(0.9572, i30[2], 1e-4);
    // 8 rounds: only the full range reaches 95% (99.2%)
    double[] i8 = LatencyBench.medianInterval(shuffledOneTo(8), 0.95);
    assertArrayEquals(new double[] {1, 8, 1 - 2.0 / 256}, i8, 1e-12);
    // 3 rounds: not even the range reaches 95%; it says so (75%)
    assertArrayEquals(new double[] {1, 3, 0.75}, LatencyBench.medianInterval(shuffledOneTo(3), 0.95),
        1e-12);
  }

  @Test
  void medianIntervalForThousandsOfValues() {
    // 0.5^n underflows for n > 1074; the interval must still be about n/2 -+ 0.98 sqrt(n)
    // (the normal approximation of the binomial), not collapse onto the median
    for (int n : new int[] {1074, 1075, 2616, 20000}) {
      double[] iv = LatencyBench.medianInterval(shuffledOneTo(n), 0.95);
      double half = 0.98 * Math.sqrt(n);
      assertEquals(n / 2.0 - half, iv[0], 3, "lower, n=" + n);
      assertEquals(n / 2.0 + half, iv[1], 3, "upper, n=" + n);
      assertTrue(iv[2] >= 0.95 && iv[2] < 0.96, "coverage " + iv[2] + ", n=" + n);
    }
  }

  @Test
  void medianIntervalIsTheNarrowestWithEnoughCoverage() {
    for (int n = 2; n <= 80; n++) {
      double[] iv = LatencyBench.medianInterval(shuffledOneTo(n), 0.95);
      int k = (int) iv[0];
      assertEquals(n + 1 - k, (int) iv[1], "symmetric order statistics, n=" + n);
      assertEquals(1 - 2 * below(n, k), iv[2], 1e-9, "coverage, n=" + n);
      if (k > 1) {
        assertTrue(iv[2] >= 0.95, "n=" + n);
      }
      if (2 * (k + 1) <= n + 1) {
        assertTrue(1 - 2 * below(n, k + 1) < 0.95, "a narrower one would do, n=" + n);
      }
    }
  }

  @Test
  void ratioIsTheMedianOfPerCallRatiosWithItsInterval() {
    // 30 calls: a takes i ms where b takes 10 ms on the same input, so the ratios are 0.1 .. 3.0
    List<Double> a = shuffledOneTo(30);
    List<Double> b = Collections.nCopies(30, 10.0);
    LatencyBench.Ratio r = LatencyBench.ratio(a, b, 0.95);
    assertEquals(1.5, r.median(), 1e-12); // nearest rank: the 15th of 30
    assertEquals(1.0, r.lower(), 1e-12); // x(10) / 10
    assertEquals(2.1, r.upper(), 1e-12); // x(21) / 10
    assertEquals(0.9572, r.coverage(), 1e-4);
    assertEquals(30, r.calls());
    assertTrue(r.wholeIntervalBelow(2.2, 0.95));
    assertFalse(r.wholeIntervalBelow(2.1, 0.95), "the bound itself is not below it");
    assertFalse(r.wholeIntervalBelow(2.2, 0.96), "not enough coverage");
    assertThrows(IllegalArgumentException.class,
        () -> LatencyBench.ratio(List.of(1.0), List.of(1.0, 2.0), 0.95));
  }
}
