package io.quantbeam.core.quant;

/** What the quantizer did with one node and why: the report's per-node table. */
public record NodeDecision(String node, String opType, boolean quantized, String detail) {
  public static NodeDecision quantized(String node, String opType, String detail) {
    return new NodeDecision(node, opType, true, detail);
  }

  public static NodeDecision leftFloat(String node, String opType, String reason) {
    return new NodeDecision(node, opType, false, reason);
  }
}
