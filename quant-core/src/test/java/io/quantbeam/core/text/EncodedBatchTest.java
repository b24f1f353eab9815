package io.quantbeam.core.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import io.quantbeam.core.QuantbeamException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class EncodedBatchTest {

  private static EncodedBatch twoByThree() {
    return new EncodedBatch(2, 3,
        new long[] {101, 7, 102, 101, 102, 0},
        new long[] {1, 1, 1, 1, 1, 0},
        new long[] {0, 0, 0, 0, 0, 0},
        0, 5);
  }

  @Test
  void createsInt64TensorsForTheDeclaredInputsOnly() throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    Set<String> names = new LinkedHashSet<>(List.of("attention_mask", "input_ids"));
    Map<String, OnnxTensor> in = twoByThree().toOnnxInputs(env, names);
    try {
      assertEquals(List.of("attention_mask", "input_ids"), List.copyOf(in.keySet()));
      for (OnnxTensor t : in.values()) {
        assertArrayEquals(new long[] {2, 3}, t.getInfo().getShape());
        assertEquals(ai.onnxruntime.OnnxJavaType.INT64, t.getInfo().type);
      }
      long[][] ids = (long[][]) in.get("input_ids").getValue();
      assertArrayEquals(new long[] {101, 102, 0}, ids[1]);
    } finally {
      OnnxValue.close(in);
    }
  }

  @Test
  void anInputItCannotFeedIsAClearErrorListingTheModelInputs() {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    Set<String> names = Set.of("input_ids", "position_ids");
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> twoByThree().toOnnxInputs(env, names));
    assertTrue(e.getMessage().contains("position_ids"), e.getMessage());
    assertTrue(e.getMessage().contains("[input_ids, position_ids]"), e.getMessage());
    assertThrows(QuantbeamException.class, () -> twoByThree().toOnnxInputs(env, Set.of()));
  }

  @Test
  void validatesShapeAndCounts() {
    assertEquals(3, twoByThree().length(0));
    assertEquals(2, twoByThree().length(1));
    assertEquals(1.0 / 6, twoByThree().paddingFraction(), 1e-12);
    assertThrows(IllegalArgumentException.class,
        () -> new EncodedBatch(2, 3, new long[5], new long[6], new long[6], 0, 0));
    assertThrows(IllegalArgumentException.class,
        () -> new EncodedBatch(1, 2, new long[2], new long[2], new long[2], 2, 0));
  }
}
