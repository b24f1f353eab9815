package io.quantbeam.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.quant.QuantType;
import io.quantbeam.core.stats.CalibrationMethod;
import io.quantbeam.core.validate.Candidates;
import org.junit.jupiter.api.Test;

class EnumNamesTest {
  @Test
  void anyCaseAndDashesForUnderscores() {
    assertEquals(CalibrationMethod.MOVING_AVERAGE, CalibrationMethod.parse(" moving-average "));
    assertEquals(CalibrationMethod.MOVING_AVERAGE, CalibrationMethod.parse("MOVING_AVERAGE"));
    assertEquals(QuantType.UINT8, QuantType.parse("uint8"));
    assertEquals(Candidates.Kind.TOPK, Candidates.Kind.of("TopK"));
    assertEquals("moving-average", EnumNames.display(CalibrationMethod.MOVING_AVERAGE));
    assertEquals("baseline,topk", Candidates.Kind.text(
        java.util.List.of(Candidates.Kind.BASELINE, Candidates.Kind.TOPK)));
  }

  @Test
  void anUnknownValueNamesTheValidOnes() {
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> QuantType.parse("int4"));
    assertEquals("unknown quantization type 'int4'; use one of int8, uint8, int16", e.getMessage());
    e = assertThrows(QuantbeamException.class, () -> Candidates.Kind.parse("baseline,all"));
    assertTrue(e.getMessage().contains("'all'; use one of baseline, user, topk, blocks, optypes,"
        + " grid"), e.getMessage());
  }
}
