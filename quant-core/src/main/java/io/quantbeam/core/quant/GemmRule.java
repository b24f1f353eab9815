package io.quantbeam.core.quant;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.quantbeam.core.graph.GraphView;
import java.util.List;

/**
 * Gemm (A x B + C) with a float weight B: A through Q/DQ, B per channel along its output axis (0
 * when transB, else 1), and the bias C as int32 with scale = input scale x weight scale, zero point
 * 0, as the reference does. A transposed A is left float (rare in exports; keeps the rule simple).
 */
final class GemmRule implements OpRule {
  @Override
  public List<String> activationInputs(NodeProto node, QdqWriter w) {
    if (node.getInputCount() < 2 || transposed(node, "transA")) {
      return List.of();
    }
    String a = node.getInput(0);
    if (w.view().isFloatActivation(a) && MatMulRule.isFloatWeight(node.getInput(1), w)) {
      return List.of(a);
    }
    return List.of();
  }

  @Override
  public NodeDecision quantize(NodeProto node, QdqWriter w) {
    List<String> acts = activationInputs(node, w);
    if (acts.isEmpty()) {
      return null;
    }
    String reason = w.skipReasonForNode(node, acts);
    if (reason != null) {
      return NodeDecision.leftFloat(node.getName(), node.getOpType(), reason);
    }
    int axis = transposed(node, "transB") ? 0 : 1;
    NodeProto.Builder rewritten = node.toBuilder();
    rewritten.setInput(0, w.dequantizedActivation(node.getInput(0)));
    rewritten.setInput(1, w.dequantizedWeight(node.getInput(1), axis));
    if (node.getInputCount() > 2 && !node.getInput(2).isEmpty()) {
      TensorProto bias = w.view().initializer(node.getInput(2));
      if (bias != null && bias.getDataType() == TensorProto.DataType.FLOAT_VALUE
          && bias.getDimsCount() == 1) {
        rewritten.setInput(2,
            w.dequantizedBias(node.getInput(2), node.getInput(0), node.getInput(1), axis));
      }
    }
    w.emit(rewritten.build());
    return NodeDecision.quantized(node.getName(), node.getOpType(),
        "activation " + w.describe(acts.get(0)));
  }

  private static boolean transposed(NodeProto node, String attribute) {
    AttributeProto a = GraphView.attribute(node, attribute);
    return a != null && a.getI() != 0;
  }
}
