package io.quantbeam.core.quant;

import ai.onnx.proto.OnnxMl.NodeProto;
import io.quantbeam.core.onnx.OpsetUpgrade;
import java.util.Map;
import java.util.TreeMap;

/**
 * The registry: op type -> rule, one table per {@link QuantConfig.Target}. Op types absent from a
 * target's table are never quantized for it. Custom-domain ops are keyed "domain:OpType".
 */
public final class OpRules {
  private static final Map<String, OpRule> PORTABLE = new TreeMap<>(Map.of(
      "MatMul", new MatMulRule(),
      "Gemm", new GemmRule(),
      "Gather", new GatherRule()));

  /**
   * ONNX Runtime's CPU provider: integer MatMuls with the bias inside and fused attention read
   * their integer inputs themselves, so no DequantizeLinear is written in front of them.
   */
  private static final Map<String, OpRule> ONNXRUNTIME_CPU = new TreeMap<>(Map.of(
      "MatMul", new MatMulIntegerRule(),
      "Gemm", new GemmRule(),
      "Gather", new GatherRule(),
      AttentionFusion.DOMAIN + ":Attention", new QAttentionRule()));

  /**
   * The config op type that enables a custom-domain rule: fused attention is three projection
   * MatMuls, so it is quantized when MatMul is.
   */
  private static final Map<String, String> ENABLED_BY = Map.of(
      AttentionFusion.DOMAIN + ":Attention", "MatMul");

  private OpRules() {}

  /** The portable rule for an op type (the op types a config may name). */
  public static OpRule forOpType(String opType) {
    return PORTABLE.get(opType);
  }

  /** The rule that quantizes {@code node} under {@code config}, or null when none may. */
  static OpRule forNode(NodeProto node, QuantConfig config) {
    String key = OpsetUpgrade.isDefaultDomain(node.getDomain()) ? node.getOpType()
        : node.getDomain() + ":" + node.getOpType();
    if (!config.opTypes().contains(ENABLED_BY.getOrDefault(key, key))) {
      return null;
    }
    Map<String, OpRule> table =
        config.target() == QuantConfig.Target.ONNXRUNTIME_CPU ? ONNXRUNTIME_CPU : PORTABLE;
    return table.get(key);
  }

  public static java.util.Set<String> supportedOpTypes() {
    return PORTABLE.keySet();
  }
}
