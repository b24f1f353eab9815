package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class Sst2BenchmarkPairedTest {
  @Test
  void comparesRoundByRound() {
    // round 1: ours 90 vs 100 (faster); round 2: 120 vs 100; round 3: 95 vs 100 (faster)
    // batch 1, 2 calls per round: (1+1) vs (2+2); (3+3) vs (2+2); (1+2) vs (1+2)
    String s = Sst2Benchmark.paired(List.of(90.0, 120.0, 95.0), List.of(100.0, 100.0, 100.0),
        List.of(1.0, 1.0, 3.0, 3.0, 1.0, 2.0), List.of(2.0, 2.0, 2.0, 2.0, 1.0, 2.0), 2);
    // 3 rounds allow no 95% interval: the range, which covers the median with 75%
    assertTrue(s.contains("batch 32 pass median 0.950, 75.0% interval 0.900 to 1.200, ours faster"
        + " in 2 of 3 rounds"), s);
    assertTrue(s.contains("batch 1 calls median 1.000, 75.0% interval 0.500 to 1.500, ours faster"
        + " in 2 of 3 rounds"), s);
  }

  @Test
  void ratioSummaryIsThePerCallMedianWithItsInterval() {
    // ours 1, 2, 3 ms against 2, 2, 2: ratios 0.5, 1.0, 1.5
    String s = Sst2Benchmark.ratioSummary(List.of(1.0, 2.0, 3.0), List.of(2.0, 2.0, 2.0));
    assertTrue(s.equals("1.000, 75.0% interval 0.500 to 1.500"), s);
  }
}
