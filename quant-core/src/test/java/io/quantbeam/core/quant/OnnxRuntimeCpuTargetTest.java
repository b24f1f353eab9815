package io.quantbeam.core.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.graph.GraphView;
import io.quantbeam.core.quant.QuantConfig.Target;
import io.quantbeam.core.testing.TestInputs;
import io.quantbeam.core.testing.TinyTransformer.Built;
import io.quantbeam.core.testing.TinyTransformer.Export;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Target onnxruntime-cpu on the export variants: fused attention becomes QuantizeLinear +
 * QAttention, projections with a bias become MatMulIntegerToFloat with the bias inside, one
 * QuantizeLinear per quantized activation; from the same calibration as portable, with the same
 * agreement with FP32 and the same bytes twice.
 */
class OnnxRuntimeCpuTargetTest {
  private static final int LAYERS = 2;
  private static final QuantConfig CPU = QuantConfig.defaults().withTarget(Target.ONNXRUNTIME_CPU);

  @Test
  void targetNamesParseLeniently() {
    assertEquals(Target.ONNXRUNTIME_CPU, Target.parse("onnxruntime-cpu"));
    assertEquals(Target.ONNXRUNTIME_CPU, Target.parse(" ONNXRUNTIME_CPU "));
    assertEquals(Target.PORTABLE, Target.parse("Portable"));
    QuantbeamException bad = assertThrows(QuantbeamException.class, () -> Target.parse("gpu"));
    assertTrue(bad.getMessage().contains("portable, onnxruntime-cpu"), bad.getMessage());
    assertEquals(Target.PORTABLE, QuantConfig.defaults().target());
  }

  @ParameterizedTest
  @EnumSource(Export.class)
  void theFastFormAgreesWithFp32(Export e) {
    Built built = ExportVariantsTest.build(e);
    QdqQuantizer.Result r = ExportVariantsTest.quantize(e, built, CPU);
    Map<String, Long> ops = AttentionFusionTest.opCounts(r.model());
    if (e == Export.ORT_FUSED) {
      // ONNX Runtime's own Attention (packed Q/K/V) becomes QAttention
      assertEquals(LAYERS, ops.get("com.microsoft:QAttention"), ops.toString());
      assertFalse(ops.containsKey("com.microsoft:Attention"), ops.toString());
    } else {
      assertEquals(LAYERS, ops.get("com.microsoft:MultiHeadAttention"), ops.toString());
      assertFalse(ops.containsKey("Softmax"), ops.toString());
    }
    assertFalse(ops.containsKey("MatMul"), "every weight MatMul is integer: " + ops);
    // Q/K/V (outside ORT_FUSED), attention output, FFN in and out
    long projections = (e == Export.ORT_FUSED ? 3L : 6L) * LAYERS;
    assertEquals(projections, ops.get("com.microsoft:MatMulIntegerToFloat"), ops.toString());
    // ONNX Runtime's fused export adds its biases in SkipLayerNormalization and BiasGelu
    long withBias = e == Export.ORT_FUSED ? 0 : projections;
    assertEquals(withBias, q(r).topologicalOrder().stream()
        .filter(n -> n.getOpType().equals("MatMulIntegerToFloat") && n.getInputCount() == 7)
        .count(),
        "every projection followed by a bias Add has its bias inside");
    // every DequantizeLinear left is a gathered embedding's or a Gemm head's
    GraphView q = new GraphView(r.model().getGraph());
    for (NodeProto n : q.topologicalOrder()) {
      if (n.getOpType().equals("DequantizeLinear")) {
        String reader = q.consumers(n.getOutput(0)).get(0).getOpType();
        assertTrue(n.getOutput(0).contains("Gather") || reader.equals("Gemm")
            || n.getInput(0).contains("bias") || n.getInput(0).contains("weight"),
            n.getName() + " feeds " + reader);
      }
    }
    // one QuantizeLinear per quantized activation: Q/K/V share theirs inside QAttention
    long quantizeNodes = ops.getOrDefault("QuantizeLinear", 0L);
    long distinctInputs = q.topologicalOrder().stream()
        .filter(n -> n.getOpType().equals("QuantizeLinear")).map(n -> n.getInput(0)).distinct()
        .count();
    assertEquals(distinctInputs, quantizeNodes);

    // agreement with FP32, as the portable model must (ExportVariantsTest)
    double dot = 0;
    double xx = 0;
    double yy = 0;
    for (TestInputs.Batch b : ExportVariantsTest.batches(e, 1000, 6)) {
      float[] x = TestInputs.run(built.model(), b).get(built.output()).data();
      float[] y = TestInputs.run(r.model(), b).get(built.output()).data();
      for (int i = 0; i < x.length; i++) {
        dot += (double) x[i] * y[i];
        xx += (double) x[i] * x[i];
        yy += (double) y[i] * y[i];
      }
    }
    double cosine = dot / Math.sqrt(xx * yy);
    assertTrue(cosine > 0.99, e + " cosine " + cosine);
  }

  @ParameterizedTest
  @EnumSource(value = Export.class, names = {"BERT", "DISTILBERT", "ROBERTA"})
  void closeToThePortableModelFromTheSameTable(Export e) {
    Built built = ExportVariantsTest.build(e);
    ModelProto prepared = QdqQuantizer.prepare(built.model());
    List<String> portable = QdqQuantizer.tensorsToCalibrate(prepared, QuantConfig.defaults());
    List<String> cpu = QdqQuantizer.tensorsToCalibrate(prepared, CPU);
    assertTrue(portable.containsAll(cpu), "the portable table serves the cpu target: " + cpu);
    QdqQuantizer.Result p = ExportVariantsTest.quantize(e, built, QuantConfig.defaults());
    QdqQuantizer.Result c = ExportVariantsTest.quantize(e, built, CPU);
    double worst = 0;
    double scale = 0;
    for (TestInputs.Batch b : ExportVariantsTest.batches(e, 500, 3)) {
      float[] x = TestInputs.run(p.model(), b).get(built.output()).data();
      float[] y = TestInputs.run(c.model(), b).get(built.output()).data();
      worst = Math.max(worst, TestInputs.maxAbsDiff(x, y));
      for (float v : x) {
        scale = Math.max(scale, Math.abs(v));
      }
    }
    // the same integer products; only the order of float roundings (and the mask value) differs
    assertTrue(worst < 1e-3 * Math.max(1, scale), e + ": max abs diff " + worst + " of " + scale);
  }

  private static GraphView q(QdqQuantizer.Result r) {
    return new GraphView(r.model().getGraph());
  }

  @Test
  void sameBytesTwiceAndPortableUnchanged() {
    Built built = ExportVariantsTest.build(Export.BERT);
    assertArrayEquals(ExportVariantsTest.quantize(Export.BERT, built, CPU).model().toByteArray(),
        ExportVariantsTest.quantize(Export.BERT, built, CPU).model().toByteArray());
    QdqQuantizer.Result portable = ExportVariantsTest.quantize(Export.BERT, built,
        QuantConfig.defaults());
    assertTrue(AttentionFusionTest.opCounts(portable.model()).keySet().stream()
        .noneMatch(op -> op.startsWith("com.microsoft")), "portable writes standard ops only");
    assertArrayEquals(portable.model().toByteArray(), ExportVariantsTest.quantize(Export.BERT,
        built, QuantConfig.defaults().withTarget(Target.PORTABLE)).model().toByteArray());
  }

  @Test
  void anExcludedProjectionKeepsItsBlockFloatAndReportsIt() {
    Built built = ExportVariantsTest.build(Export.BERT);
    QdqQuantizer.Result r = ExportVariantsTest.quantize(Export.BERT, built,
        CPU.withExcludeNodes(Set.of("/encoder/layer.0/attention/self/query/MatMul")));
    Map<String, Long> ops = AttentionFusionTest.opCounts(r.model());
    assertEquals(1L, ops.get("com.microsoft:MultiHeadAttention"), ops.toString());
    assertTrue(r.decisions().stream().anyMatch(d -> d.opType().equals("attention block")
        && d.detail().contains("excluded")), r.decisions().toString());
    assertTrue(r.decisions().stream().anyMatch(d ->
        d.node().equals("/encoder/layer.0/attention/self/query/MatMul") && !d.quantized()));
  }
}
