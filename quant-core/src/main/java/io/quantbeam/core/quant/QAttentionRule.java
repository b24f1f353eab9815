package io.quantbeam.core.quant;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.List;
import java.util.Set;

/**
 * com.microsoft.Attention (written by {@link AttentionFusion}, or already in a model ONNX
 * Runtime optimized) -> QuantizeLinear of its input + com.microsoft.QAttention: the packed
 * [hidden, 3 hidden] Q/K/V weight in int8 with one scale per column, the float bias, the static
 * input scale and zero point from the calibration table, the same mask index. The kernel runs the
 * three projections as one integer GEMM with the bias added while it scales, then the attention.
 * An Attention with inputs or attributes QAttention does not take (past state, an attention bias,
 * rotary embeddings, unequal Q/K/V sizes) stays float.
 */
final class QAttentionRule implements OpRule {
  /** The attributes QAttention shares with Attention. */
  private static final Set<String> SHARED_ATTRIBUTES =
      Set.of("num_heads", "scale", "unidirectional", "mask_filter_value");

  @Override
  public List<String> activationInputs(NodeProto node, QdqWriter w) {
    if (!quantizable(node, w)) {
      return List.of();
    }
    return List.of(node.getInput(0));
  }

  @Override
  public NodeDecision quantize(NodeProto node, QdqWriter w) {
    String opType = node.getDomain() + ":" + node.getOpType();
    if (!quantizable(node, w)) {
      return NodeDecision.leftFloat(node.getName(), opType,
          "Attention with inputs or attributes QAttention does not take: left float");
    }
    String input = node.getInput(0);
    String reason = w.skipReasonForNode(node, List.of(input));
    if (reason != null) {
      return NodeDecision.leftFloat(node.getName(), opType, reason);
    }
    QdqWriter.QuantizedActivation a = w.quantizedActivation(input);
    QdqWriter.QuantizedTable weight = w.quantizedWeight(node.getInput(1), 1);
    String mask = node.getInputCount() > 3 ? node.getInput(3) : "";
    NodeProto.Builder q = NodeProto.newBuilder().setName(node.getName()).setOpType("QAttention")
        .setDomain(AttentionFusion.DOMAIN)
        .addInput(a.quantizedName()).addInput(weight.quantizedName()).addInput(node.getInput(2))
        .addInput(a.scaleName()).addInput(weight.scaleName()).addInput(mask)
        .addInput(a.zeroPointName()).addInput(weight.zeroPointName())
        .addAllOutput(node.getOutputList()).addAllAttribute(node.getAttributeList());
    w.emit(q.build());
    return NodeDecision.quantized(node.getName(), opType,
        "activation " + w.describe(input) + ", Q/K/V weight int8 per column");
  }

  /** Input, [in, 3 hidden] float weight, float bias, optional mask; no other inputs or outputs. */
  private static boolean quantizable(NodeProto node, QdqWriter w) {
    if (node.getInputCount() < 3 || node.getInputCount() > 4 || node.getOutputCount() != 1
        || node.getInput(2).isEmpty() || !w.view().isFloatActivation(node.getInput(0))
        || !MatMulRule.isFloatWeight(node.getInput(1), w)
        || w.view().initializer(node.getInput(1)).getDimsCount() != 2
        || w.view().initializer(node.getInput(2)) == null) {
      return false;
    }
    for (AttributeProto attribute : node.getAttributeList()) {
      if (!SHARED_ATTRIBUTES.contains(attribute.getName())) {
        return false;
      }
    }
    return true;
  }
}
