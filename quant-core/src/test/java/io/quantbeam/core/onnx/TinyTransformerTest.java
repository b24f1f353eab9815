package io.quantbeam.core.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.quantbeam.core.testing.TestInputs;
import io.quantbeam.core.testing.TinyTransformer;
import io.quantbeam.core.testing.TinyTransformer.Config;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TinyTransformerTest {
  @Test
  void runsInOrtWithFiniteNonDegenerateOutputs() {
    ModelProto m = TinyTransformer.build();
    assertEquals(11, OpsetUpgrade.defaultOpset(m));
    assertTrue(m.getGraph().getNodeList().stream()
        .anyMatch(n -> n.getName().equals("/encoder/layer.0/attention/self/query/MatMul")));
    assertTrue(m.getGraph().getNodeList().stream()
        .anyMatch(n -> n.getName().equals("/encoder/layer.1/output/LayerNorm/Add_1")));
    TestInputs.Batch batch = TestInputs.random(1, 3, 10, 100);
    TestInputs.Output out = TestInputs.run(m, batch).get("last_hidden_state");
    assertArrayEquals(new long[] {3, 10, 32}, out.shape());
    assertTrue(TestInputs.allFinite(out.data()));
    double sumSq = 0;
    for (float v : out.data()) {
      sumSq += v * v;
    }
    double rms = Math.sqrt(sumSq / out.data().length);
    assertTrue(rms > 0.3 && rms < 3, "LayerNorm output scale: " + rms);
  }

  @Test
  void deterministicAndOpset13VariantComputesTheSame() {
    assertArrayEquals(OnnxModelIO.toBytes(TinyTransformer.build()), OnnxModelIO.toBytes(TinyTransformer.build()));
    ModelProto m11 = TinyTransformer.build();
    ModelProto m13 = TinyTransformer.build(Config.defaults().withOpset(13));
    assertEquals(13, OpsetUpgrade.defaultOpset(m13));
    TestInputs.Batch batch = TestInputs.random(2, 2, 7, 100);
    float[] a = TestInputs.run(m11, batch, OptLevel.NO_OPT).get("last_hidden_state").data();
    float[] b = TestInputs.run(m13, batch, OptLevel.NO_OPT).get("last_hidden_state").data();
    assertTrue(TestInputs.maxAbsDiff(a, b) <= 1e-6);
  }

  @Test
  void paddingDoesNotChangeRealTokens() {
    for (float maskValue : new float[] {TinyTransformer.MASK_MIN_FLOAT, -10000f}) {
      ModelProto m = TinyTransformer.build(Config.defaults().withMaskValue(maskValue));
      TestInputs.Batch padded = TestInputs.random(9, 4, 12, 100);
      int row = 1;
      int len = (int) Arrays.stream(padded.attentionMask()[row]).sum();
      TestInputs.Batch alone = new TestInputs.Batch(
          new long[][] {Arrays.copyOf(padded.inputIds()[row], len)},
          new long[][] {Arrays.copyOf(padded.attentionMask()[row], len)},
          new long[][] {Arrays.copyOf(padded.tokenTypeIds()[row], len)});
      float[] p = TestInputs.run(m, padded, OptLevel.NO_OPT).get("last_hidden_state").data();
      float[] s = TestInputs.run(m, alone, OptLevel.NO_OPT).get("last_hidden_state").data();
      float[] pRow = Arrays.copyOfRange(p, row * 12 * 32, row * 12 * 32 + len * 32);
      assertTrue(TestInputs.maxAbsDiff(pRow, s) <= 1e-5, "mask " + maskValue);
    }
  }

  @Test
  void classifierHeadAndLargerConfig() {
    ModelProto m = TinyTransformer.build(Config.defaults().withClassifierHead(2).withSizes(48, 4, 96, 3).withVocab(50));
    Map<String, TestInputs.Output> out = TestInputs.run(m, TestInputs.random(4, 5, 8, 50));
    assertEquals(1, out.size());
    assertArrayEquals(new long[] {5, 2}, out.get("logits").shape());
    assertTrue(TestInputs.allFinite(out.get("logits").data()));
    assertTrue(m.getGraph().getNodeList().stream().map(NodeProto::getOpType).anyMatch("Gemm"::equals));
  }

  @Test
  void outlierHookScalesOneElement() {
    String w = "encoder.layer.1.intermediate.dense.weight";
    ModelProto base = TinyTransformer.build();
    ModelProto outlier = TinyTransformer.build(Config.defaults().withOutlier(w, 5, 100f));
    var a = base.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(w)).findFirst().orElseThrow();
    var b = outlier.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(w)).findFirst().orElseThrow();
    float[] fa = floats(a.getRawData().toByteArray());
    float[] fb = floats(b.getRawData().toByteArray());
    for (int i = 0; i < fa.length; i++) {
      assertEquals(i == 5 ? fa[i] * 100f : fa[i], fb[i]);
    }
    assertTrue(TinyTransformer.floatInitializerNames(base).contains(w));
    assertThrows(IllegalArgumentException.class, () -> TinyTransformer.build(Config.defaults().withOutlier("nope", 0, 2f)));
    TestInputs.Batch batch = TestInputs.random(3, 2, 6, 100);
    assertFalse(TestInputs.maxAbsDiff(TestInputs.run(base, batch).get("last_hidden_state").data(),
        TestInputs.run(outlier, batch).get("last_hidden_state").data()) < 1e-3);
  }

  private static float[] floats(byte[] raw) {
    var fb = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    float[] f = new float[fb.remaining()];
    fb.get(f);
    return f;
  }
}
