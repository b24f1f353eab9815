package io.quantbeam.core.quant;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.List;

/**
 * MatMul with a float weight initializer: the activation input goes through Q/DQ and the weight is
 * stored quantized (per output channel: axis = last). ONNX Runtime fuses DQ(u8) x DQ(s8) -> MatMul
 * into an integer GEMM. A MatMul of two activations (attention scores and context) stays float by
 * default: measured, its Q/DQ pairs cost more than they save and hurt accuracy.
 */
final class MatMulRule implements OpRule {
  @Override
  public List<String> activationInputs(NodeProto node, QdqWriter w) {
    if (node.getInputCount() != 2) {
      return List.of();
    }
    String a = node.getInput(0);
    String b = node.getInput(1);
    boolean aAct = w.view().isFloatActivation(a);
    boolean bAct = w.view().isFloatActivation(b);
    if (aAct && isFloatWeight(b, w)) {
      return List.of(a);
    }
    if (aAct && bAct && w.config().quantizeActivationMatMuls()) {
      return List.of(a, b);
    }
    return List.of();
  }

  @Override
  public NodeDecision quantize(NodeProto node, QdqWriter w) {
    List<String> acts = activationInputs(node, w);
    if (acts.isEmpty()) {
      if (node.getInputCount() == 2 && w.view().isFloatActivation(node.getInput(0))
          && w.view().isFloatActivation(node.getInput(1))) {
        return NodeDecision.leftFloat(node.getName(), node.getOpType(),
            "both inputs are activations (attention); enable quantizeActivationMatMuls to quantize");
      }
      return null;
    }
    String reason = w.skipReasonForNode(node, acts);
    if (reason != null) {
      return NodeDecision.leftFloat(node.getName(), node.getOpType(), reason);
    }
    NodeProto.Builder rewritten = node.toBuilder();
    rewritten.setInput(0, w.dequantizedActivation(node.getInput(0)));
    if (acts.size() == 2) {
      rewritten.setInput(1, w.dequantizedActivation(node.getInput(1)));
    } else {
      TensorProto weight = w.view().initializer(node.getInput(1));
      int axis = weight.getDimsCount() - 1;
      rewritten.setInput(1, w.dequantizedWeight(node.getInput(1), axis));
    }
    w.emit(rewritten.build());
    return NodeDecision.quantized(node.getName(), node.getOpType(),
        acts.size() == 2 ? "activation x activation" : "activation " + w.describe(acts.get(0)));
  }

  static boolean isFloatWeight(String tensor, QdqWriter w) {
    TensorProto t = w.view().initializer(tensor);
    return t != null && t.getDataType() == TensorProto.DataType.FLOAT_VALUE && t.getDimsCount() >= 2;
  }
}
