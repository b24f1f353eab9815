package io.quantbeam.core.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import io.quantbeam.core.graph.GraphView;
import io.quantbeam.core.testing.TestInputs;
import io.quantbeam.core.testing.TinyTransformer;
import io.quantbeam.core.testing.TinyTransformer.Built;
import io.quantbeam.core.testing.TinyTransformer.Export;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The attention fusion of target onnxruntime-cpu on the float graph: each export variant's blocks
 * become one com.microsoft.Attention each that computes what the block computed (run in ONNX
 * Runtime on ragged batches), and what it cannot match stays as it was.
 */
class AttentionFusionTest {
  private static final int LAYERS = 2;

  static Map<String, Long> opCounts(ModelProto m) {
    return m.getGraph().getNodeList().stream().collect(Collectors.groupingBy(
        n -> (n.getDomain().isEmpty() ? "" : n.getDomain() + ":") + n.getOpType(),
        java.util.TreeMap::new, Collectors.counting()));
  }

  @ParameterizedTest
  @EnumSource(value = Export.class, names = {"BERT", "DISTILBERT", "ROBERTA"})
  void eachBlockBecomesOneAttentionThatComputesTheSame(Export e) {
    Built built = ExportVariantsTest.build(e);
    ModelProto prepared = QdqQuantizer.prepare(built.model());
    AttentionFusion.Result r = AttentionFusion.fuse(prepared, Set.of());
    assertEquals(LAYERS, r.fused(), e + ": " + r.unmatched());
    assertTrue(r.unmatched().isEmpty(), r.unmatched().toString());
    Map<String, Long> ops = opCounts(r.model());
    assertEquals(LAYERS, ops.get("com.microsoft:Attention"), ops.toString());
    assertFalse(ops.containsKey("Softmax"), ops.toString());
    // 2 MatMuls per layer stay (attention output and FFN in/out: 3), the rest went into Attention
    assertEquals(3L * LAYERS, ops.get("MatMul"), ops.toString());

    GraphView fused = new GraphView(r.model().getGraph());
    NodeProto attention = fused.topologicalOrder().stream()
        .filter(n -> n.getOpType().equals("Attention")).findFirst().orElseThrow();
    GraphView original = new GraphView(prepared.getGraph());
    assertTrue(original.consumers(attention.getInput(0)).stream()
        .anyMatch(n -> n.getName().endsWith("q_lin/MatMul") || n.getName().endsWith("query/MatMul")),
        "Attention reads the tensor the Q projection read, under its name");
    assertEquals(4, attention.getInputCount(), "input, weight, bias, mask index");

    double worst = 0;
    for (TestInputs.Batch b : ExportVariantsTest.batches(e, 77, 4)) {
      TestInputs.Output x = TestInputs.run(built.model(), b).get(built.output());
      TestInputs.Output y = TestInputs.run(r.model(), b).get(built.output());
      assertArrayEquals(x.shape(), y.shape());
      worst = Math.max(worst, TestInputs.maxAbsDiff(x.data(), y.data()));
    }
    assertTrue(worst < 1e-4, e + ": max abs diff " + worst);
  }

  @Test
  void sameBytesTwice() {
    ModelProto prepared = QdqQuantizer.prepare(ExportVariantsTest.build(Export.BERT).model());
    assertArrayEquals(AttentionFusion.fuse(prepared, Set.of()).model().toByteArray(),
        AttentionFusion.fuse(prepared, Set.of()).model().toByteArray());
  }

  @Test
  void aBlockWithAnExcludedProjectionIsLeftAsItIs() {
    ModelProto prepared = QdqQuantizer.prepare(ExportVariantsTest.build(Export.BERT).model());
    AttentionFusion.Result r = AttentionFusion.fuse(prepared,
        Set.of("/encoder/layer.1/attention/self/key/MatMul"));
    assertEquals(1, r.fused());
    assertEquals(1, r.unmatched().size());
    assertTrue(r.unmatched().get(0).startsWith("/encoder/layer.1/attention/self/Softmax: "),
        r.unmatched().toString());
    assertTrue(new GraphView(r.model().getGraph())
        .node("/encoder/layer.1/attention/self/key/MatMul") != null);
  }

  @Test
  void aModelWithoutThePatternIsUnchanged() {
    // ONNX Runtime's fused export holds no Softmax; the fusion has nothing to do
    ModelProto prepared = QdqQuantizer.prepare(ExportVariantsTest.build(Export.ORT_FUSED).model());
    AttentionFusion.Result r = AttentionFusion.fuse(prepared, Set.of());
    assertEquals(0, r.fused());
    assertArrayEquals(prepared.toByteArray(), r.model().toByteArray());
  }

  @Test
  void scoresReadOutsideTheBlockStopTheFusion() {
    // expose layer 0's probabilities as a second graph output: the block cannot disappear
    ModelProto prepared = QdqQuantizer.prepare(ExportVariantsTest.build(Export.BERT).model());
    String probs = new GraphView(prepared.getGraph())
        .node("/encoder/layer.0/attention/self/Softmax").getOutput(0);
    ModelProto exposed = prepared.toBuilder().setGraph(prepared.getGraph().toBuilder()
        .addOutput(ai.onnx.proto.OnnxMl.ValueInfoProto.newBuilder().setName(probs))).build();
    AttentionFusion.Result r = AttentionFusion.fuse(exposed, Set.of());
    assertEquals(1, r.fused(), r.unmatched().toString());
    assertEquals(1, r.unmatched().size(), r.unmatched().toString());
  }
}
