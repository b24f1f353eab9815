package io.quantbeam.core.quant;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.quantbeam.core.graph.GraphView;
import java.util.List;

/**
 * MatMul with a 2-D float weight, for ONNX Runtime's CPU provider: one QuantizeLinear of the
 * activation (shared by every MatMul that reads it) and com.microsoft.MatMulIntegerToFloat with the
 * int8 weight, its per-column scales and, when a bias Add follows, the bias as its last input, so
 * that the kernel adds it while it scales the integer product. ONNX Runtime 1.23 builds a QDQ
 * MatMul's integer op without the bias, which leaves one Add per projection to run separately.
 * Anything else (activation x activation, weights of other ranks) is {@link MatMulRule}'s.
 */
final class MatMulIntegerRule implements OpRule {
  private final MatMulRule portable = new MatMulRule();

  @Override
  public List<String> activationInputs(NodeProto node, QdqWriter w) {
    return portable.activationInputs(node, w);
  }

  @Override
  public NodeDecision quantize(NodeProto node, QdqWriter w) {
    if (!integerForm(node, w)) {
      return portable.quantize(node, w);
    }
    String input = node.getInput(0);
    String reason = w.skipReasonForNode(node, List.of(input));
    if (reason != null) {
      return NodeDecision.leftFloat(node.getName(), node.getOpType(), reason);
    }
    QdqWriter.QuantizedActivation a = w.quantizedActivation(input);
    QdqWriter.QuantizedTable b = w.quantizedWeight(node.getInput(1), 1);
    NodeProto.Builder fused = NodeProto.newBuilder().setName(node.getName())
        .setOpType("MatMulIntegerToFloat").setDomain(AttentionFusion.DOMAIN)
        .addInput(a.quantizedName()).addInput(b.quantizedName())
        .addInput(a.scaleName()).addInput(b.scaleName())
        .addInput(a.zeroPointName()).addInput(b.zeroPointName());
    NodeProto biasAdd = biasAdd(node, w.view());
    String detail = "activation " + w.describe(input);
    if (biasAdd == null) {
      fused.addOutput(node.getOutput(0));
    } else {
      fused.addInput(otherInput(biasAdd, node.getOutput(0))).addOutput(biasAdd.getOutput(0));
      w.absorb(biasAdd);
      detail += ", bias of '" + biasAdd.getName() + "' inside";
    }
    w.emit(fused.build());
    return NodeDecision.quantized(node.getName(), node.getOpType(), detail);
  }

  /** Activation x 2-D float weight: the form MatMulIntegerToFloat computes. */
  private static boolean integerForm(NodeProto node, QdqWriter w) {
    if (node.getInputCount() != 2 || !w.view().isFloatActivation(node.getInput(0))
        || !MatMulRule.isFloatWeight(node.getInput(1), w)) {
      return false;
    }
    return w.view().initializer(node.getInput(1)).getDimsCount() == 2;
  }

  /**
   * The Add that only adds a bias to this MatMul's output: its sole consumer, the other input a
   * 1-D float initializer with one value per output column. Null when there is none.
   */
  static NodeProto biasAdd(NodeProto matMul, GraphView view) {
    String out = matMul.getOutput(0);
    List<NodeProto> consumers = view.consumers(out);
    if (consumers.size() != 1 || view.isGraphOutput(out)) {
      return null;
    }
    NodeProto add = consumers.get(0);
    if (!add.getOpType().equals("Add") || !io.quantbeam.core.onnx.OpsetUpgrade.isDefaultDomain(
        add.getDomain()) || add.getInputCount() != 2 || add.getInput(0).equals(add.getInput(1))) {
      return null;
    }
    TensorProto bias = view.initializer(otherInput(add, out));
    long columns = view.initializer(matMul.getInput(1)).getDims(1);
    return bias != null && bias.getDataType() == TensorProto.DataType.FLOAT_VALUE
        && bias.getDimsCount() == 1 && bias.getDims(0) == columns ? add : null;
  }

  private static String otherInput(NodeProto add, String tensor) {
    return add.getInput(0).equals(tensor) ? add.getInput(1) : add.getInput(0);
  }
}
