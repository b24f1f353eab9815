package io.quantbeam.core.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.testing.TinyTransformer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class GraphViewTest {
  @Test
  void topologicalOrderRestoresAShuffledGraph() {
    GraphProto g = TinyTransformer.build().getGraph();
    List<NodeProto> nodes = new ArrayList<>(g.getNodeList());
    Collections.shuffle(nodes, new Random(1));
    GraphView view = new GraphView(g.toBuilder().clearNode().addAllNode(nodes).build());
    Set<String> available = new HashSet<>(view.initializers().keySet());
    available.addAll(view.graphInputs());
    for (NodeProto n : view.topologicalOrder()) {
      for (String in : n.getInputList()) {
        assertTrue(in.isEmpty() || available.contains(in), n.getName() + " reads " + in);
      }
      available.addAll(n.getOutputList());
    }
    assertEquals(nodes.size(), view.topologicalOrder().size());
  }

  @Test
  void producersConsumersAndTypes() {
    GraphView view = new GraphView(TinyTransformer.build().getGraph());
    NodeProto q = view.node("/encoder/layer.0/attention/self/query/MatMul");
    String input = q.getInput(0);
    assertTrue(view.consumers(input).size() >= 3, "Q, K and V read the same tensor");
    assertEquals(q, view.producer(q.getOutput(0)));
    assertEquals(DataType.FLOAT_VALUE, view.elementType(q.getOutput(0)));
    assertTrue(view.isFloatActivation(input));
    assertFalse(view.isFloatActivation(q.getInput(1)), "weights are initializers");
    assertEquals(DataType.INT64_VALUE, view.elementType("input_ids"));
  }

  @Test
  void maskPathIsWhatIsComputedOnlyFromTheMask() {
    GraphView view = new GraphView(TinyTransformer.build().getGraph());
    Set<String> mask = view.derivedOnlyFrom(Set.of("attention_mask"));
    // the extended mask (Unsqueeze -> Cast -> Sub -> Mul) is on it ...
    assertTrue(mask.stream().anyMatch(t -> view.producer(t) != null
        && view.producer(t).getOpType().equals("Mul")));
    // ... the attention scores it is added to are not.
    NodeProto softmax = view.topologicalOrder().stream()
        .filter(n -> n.getOpType().equals("Softmax")).findFirst().orElseThrow();
    assertFalse(mask.contains(softmax.getInput(0)));
    assertFalse(mask.contains(softmax.getOutput(0)));
  }

  @Test
  void maskReshapedAndExpandedToShapesOfTheDataStaysOnTheMaskPath() {
    // DistilBERT: (mask == 0) -> Reshape(Concat(Shape(x)...)) -> Expand(Shape(scores)) -> Where
    GraphView view = new GraphView(TinyTransformer.build(
        TinyTransformer.Config.classifier(TinyTransformer.Export.DISTILBERT)).getGraph());
    NodeProto where = view.node("/distilbert/transformer/layer.0/attention/Where");
    String expanded = where.getInput(0);
    assertEquals("Expand", view.producer(expanded).getOpType());
    assertTrue(view.isConstantOrShape(view.producer(expanded).getInput(1)), "Shape(scores)");
    assertFalse(view.isConstantOrShape(where.getInput(2)), "the scores are data");
    Set<String> mask = view.derivedOnlyFrom(Set.of("attention_mask"));
    assertTrue(mask.contains(expanded));
    assertFalse(mask.contains(where.getOutput(0)), "what Where fills is the scores, not mask");
  }

  @Test
  void duplicateNodeNamesAndCyclesAreRefused() {
    ModelProto m = TinyTransformer.build();
    GraphProto g = m.getGraph();
    NodeProto first = g.getNode(0);
    GraphProto dup = g.toBuilder().addNode(first.toBuilder().setOutput(0, "other")).build();
    assertThrows(QuantbeamException.class, () -> new GraphView(dup));
    GraphProto cycle = GraphProto.newBuilder()
        .addNode(NodeProto.newBuilder().setName("a").setOpType("Relu").addInput("y").addOutput("x"))
        .addNode(NodeProto.newBuilder().setName("b").setOpType("Relu").addInput("x").addOutput("y"))
        .build();
    assertThrows(QuantbeamException.class, () -> new GraphView(cycle));
  }
}
