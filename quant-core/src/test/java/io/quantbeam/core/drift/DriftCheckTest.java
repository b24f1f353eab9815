package io.quantbeam.core.drift;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.stats.TensorStats;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class DriftCheckTest {
  static TensorStats values(long seed, int n, double sigma) {
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextGaussian() * sigma);
    }
    TensorStats s = new TensorStats();
    s.addBatch(v, 0, n);
    return s;
  }

  static CalibrationTable table(long seed, double sigma) {
    Map<String, TensorStats> t = new TreeMap<>();
    t.put("a", values(seed, 20_000, sigma));
    t.put("b", values(seed + 100, 20_000, sigma));
    return new CalibrationTable(t, Map.of());
  }

  @Test
  void sameDistributionIsNotDriftAndWiderActivationsAre() {
    CalibrationTable calibration = table(1, 1.0);
    DriftResult same = DriftCheck.compare(calibration, table(2, 1.0), QuantConfig.defaults(),
        0.0, DriftThresholds.defaults());
    assertFalse(same.drifted(), same.reasons().toString());
    assertEquals(2, same.tensors().size());
    DriftResult wide = DriftCheck.compare(calibration, table(3, 3.0), QuantConfig.defaults(),
        0.0, DriftThresholds.defaults());
    assertTrue(wide.drifted());
    assertTrue(wide.meanClipRate() > 0.05, "clip rate " + wide.meanClipRate());
    assertTrue(wide.meanPsi() > same.meanPsi());
    assertEquals(2, wide.reasons().size(), wide.reasons().toString());
  }

  @Test
  void unknownTokensAloneAreReportedAsDriftWithTheReason() {
    CalibrationTable calibration = table(1, 1.0);
    DriftResult r = DriftCheck.compare(calibration, table(2, 1.0), QuantConfig.defaults(), 0.6,
        DriftThresholds.defaults());
    assertTrue(r.drifted());
    assertTrue(r.reasons().get(0).contains("unknown to the tokenizer"), r.reasons().toString());
  }

  @Test
  void emptyProductionSampleAndForeignTensorsAreClearErrors() {
    CalibrationTable calibration = table(1, 1.0);
    QuantbeamException empty = assertThrows(QuantbeamException.class, () -> DriftCheck.compare(
        calibration, CalibrationTable.empty(), QuantConfig.defaults(), 0.0,
        DriftThresholds.defaults()));
    assertTrue(empty.getMessage().contains("no usable text"), empty.getMessage());
    CalibrationTable other = new CalibrationTable(Map.of("zzz", values(1, 10, 1)), Map.of());
    QuantbeamException foreign = assertThrows(QuantbeamException.class, () -> DriftCheck.compare(
        calibration, other, QuantConfig.defaults(), 0.0, DriftThresholds.defaults()));
    assertTrue(foreign.getMessage().contains("another model"), foreign.getMessage());
  }
}
