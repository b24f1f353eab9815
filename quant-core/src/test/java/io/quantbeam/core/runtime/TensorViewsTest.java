package io.quantbeam.core.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

class TensorViewsTest {
  @Test
  void inPlaceViewHoldsTheSameValuesAsThePublicCopy() throws Exception {
    // If this ONNX Runtime version no longer has the private view, calibration still works
    // (through copies) but loses speed: this test says so.
    assertTrue(TensorViews.zeroCopy(), "ONNX Runtime's in-place tensor view is unavailable");
    float[][] values = {{1f, -2.5f, 0f}, {Float.NaN, -0f, 3.4e38f}};
    try (OnnxTensor t = OnnxTensor.createTensor(OrtEnvironment.getEnvironment(), values)) {
      FloatBuffer view = TensorViews.floats(t);
      FloatBuffer copy = t.getFloatBuffer();
      assertEquals(6, view.remaining());
      assertEquals(copy, view);
      for (int i = 0; i < 6; i++) {
        assertEquals(Float.floatToRawIntBits(copy.get(i)), Float.floatToRawIntBits(view.get(i)));
      }
    }
  }
}
