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
    ModelProto fused = fusedAndCompared(e, AttentionFusion.Form.ATTENTION);
    Map<String, Long> ops = opCounts(fused);
    assertEquals(LAYERS, ops.get("com.microsoft:Attention"), ops.toString());
    // per layer the attention output and the FFN's two MatMuls stay; Q/K/V went into Attention
    assertEquals(3L * LAYERS, ops.get("MatMul"), ops.toString());

    GraphView view = new GraphView(fused.getGraph());
    NodeProto attention = view.topologicalOrder().stream()
        .filter(n -> n.getOpType().equals("Attention")).findFirst().orElseThrow();
    GraphView original = new GraphView(
        QdqQuantizer.prepare(ExportVariantsTest.build(e).model()).getGraph());
    assertTrue(original.consumers(attention.getInput(0)).stream()
        .anyMatch(n -> n.getName().endsWith("q_lin/MatMul") || n.getName().endsWith("query/MatMul")),
        "Attention reads the tensor the Q projection read, under its name");
    assertEquals(4, attention.getInputCount(), "input, weight, bias, mask index");
  }

  @ParameterizedTest
  @EnumSource(value = Export.class, names = {"BERT", "DISTILBERT", "ROBERTA"})
  void theMultiHeadFormKeepsTheProjectionsAndComputesTheSame(Export e) {
    ModelProto fused = fusedAndCompared(e, AttentionFusion.Form.MULTI_HEAD);
    Map<String, Long> ops = opCounts(fused);
    assertEquals(LAYERS, ops.get("com.microsoft:MultiHeadAttention"), ops.toString());
    assertEquals(6L * LAYERS, ops.get("MatMul"), "Q/K/V, attention output, FFN: " + ops);
    assertFalse(ops.containsKey("Transpose"), ops.toString());
    GraphView view = new GraphView(fused.getGraph());
    for (NodeProto n : view.topologicalOrder()) {
      if (n.getOpType().equals("MultiHeadAttention")) {
        assertEquals(5, n.getInputCount(), "q, k, v, no bias, key padding mask");
        assertEquals("", n.getInput(3));
        assertEquals("attention_mask_int32", n.getInput(4));
        for (int i = 0; i < 3; i++) {
          assertEquals("Add", view.producer(n.getInput(i)).getOpType(), "a projection's bias Add");
        }
      }
    }
  }

  /** Fuses the variant's float model and checks it computes the same in ONNX Runtime. */
  private static ModelProto fusedAndCompared(Export e, AttentionFusion.Form form) {
    Built built = ExportVariantsTest.build(e);
    ModelProto prepared = QdqQuantizer.prepare(built.model());
    AttentionFusion.Result r = AttentionFusion.fuse(prepared, Set.of(), form);
    assertEquals(LAYERS, r.fused(), e + ": " + r.unmatched());
    assertTrue(r.unmatched().isEmpty(), r.unmatched().toString());
    assertFalse(opCounts(r.model()).containsKey("Softmax"), opCounts(r.model()).toString());
    double worst = 0;
    for (TestInputs.Batch b : ExportVariantsTest.batches(e, 77, 4)) {
      TestInputs.Output x = TestInputs.run(built.model(), b).get(built.output());
      TestInputs.Output y = TestInputs.run(r.model(), b).get(built.output());
      assertArrayEquals(x.shape(), y.shape());
      worst = Math.max(worst, TestInputs.maxAbsDiff(x.data(), y.data()));
    }
    assertTrue(worst < 1e-4, e + " " + form + ": max abs diff " + worst);
    return r.model();
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
