package io.quantbeam.core.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Scale and zero point against values computed by hand from the reference's formulas. */
class QuantParamsTest {
  @Test
  void uint8AsymmetricIncludesZeroAndRoundsZeroPoint() {
    QuantParams p = QuantParams.compute(-1.0, 3.0, QuantType.UINT8, false, false);
    assertEquals((float) (4.0 / 255), p.scale());
    assertEquals(64, p.zeroPoint()); // rint(0 - (-1) / (4/255)) = rint(63.75)
  }

  @Test
  void positiveOnlyRangeIsWidenedToZero() {
    QuantParams p = QuantParams.compute(1.0, 2.0, QuantType.UINT8, false, false);
    assertEquals((float) (2.0 / 255), p.scale());
    assertEquals(0, p.zeroPoint());
  }

  @Test
  void int8SymmetricUsesRestrictedRange() {
    QuantParams p = QuantParams.compute(-1.0, 3.0, QuantType.INT8, true, false);
    assertEquals((float) (6.0 / 254), p.scale());
    assertEquals(0, p.zeroPoint());
  }

  @Test
  void uint8SymmetricCentresAt127() {
    QuantParams p = QuantParams.compute(-1.0, 3.0, QuantType.UINT8, true, false);
    assertEquals((float) (6.0 / 254), p.scale());
    assertEquals(127, p.zeroPoint());
  }

  @Test
  void reducedRangeWinsOverSymmetric() {
    QuantParams p = QuantParams.compute(-1.0, 3.0, QuantType.INT8, true, true);
    assertEquals((float) (6.0 / 128), p.scale());
    assertEquals(0, p.zeroPoint());
    QuantParams u = QuantParams.compute(-1.0, 3.0, QuantType.UINT8, false, true);
    assertEquals((float) (4.0 / 127), u.scale());
    assertEquals(32, u.zeroPoint()); // rint(31.75)
  }

  @Test
  void int16Ranges() {
    QuantParams p = QuantParams.compute(-2.0, 2.0, QuantType.INT16, true, false);
    assertEquals((float) (4.0 / 65534), p.scale());
    assertEquals(0, p.zeroPoint());
  }

  @Test
  void zeroPointRoundsHalfToEven() {
    // scale = 2^-6 exactly, and -rmin / scale = 2.5 exactly: half-to-even gives 2, not 3.
    double rmin = -2.5 / 64;
    double rmax = 255.0 / 64 + rmin;
    QuantParams p = QuantParams.compute(rmin, rmax, QuantType.UINT8, false, false);
    assertEquals(1.0f / 64, p.scale());
    assertEquals(2, p.zeroPoint());
  }

  @Test
  void quantizeRoundsHalfToEvenAndClips() {
    QuantParams p = new QuantParams(0.5f, 10, QuantType.UINT8);
    assertEquals(10, p.quantize(0.25f)); // rint(0.5) = 0
    assertEquals(12, p.quantize(0.75f)); // rint(1.5) = 2
    assertEquals(255, p.quantize(1e6f));
    assertEquals(0, p.quantize(-1e6f));
    QuantParams s = new QuantParams(1.0f, 0, QuantType.INT8);
    assertEquals(-128, s.quantize(-1000f)); // clipped to the full range, not the symmetric one
    assertEquals(-2, s.quantize(-2.5f));
  }

  @Test
  void degenerateRangeGivesUnitScale() {
    QuantParams p = QuantParams.compute(0.0, 0.0, QuantType.UINT8, false, false);
    assertEquals(1.0f, p.scale());
    assertEquals(0, p.zeroPoint());
    QuantParams tiny = QuantParams.compute(0.0, 1e-40, QuantType.INT8, true, false);
    assertEquals(1.0f, tiny.scale());
  }
}
