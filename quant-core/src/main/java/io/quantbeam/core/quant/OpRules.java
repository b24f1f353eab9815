package io.quantbeam.core.quant;

import java.util.Map;
import java.util.TreeMap;

/** The registry: op type -> rule. Op types absent here are never quantized. */
public final class OpRules {
  private static final Map<String, OpRule> RULES = new TreeMap<>(Map.of(
      "MatMul", new MatMulRule(),
      "Gemm", new GemmRule(),
      "Gather", new GatherRule()));

  private OpRules() {}

  public static OpRule forOpType(String opType) {
    return RULES.get(opType);
  }

  public static java.util.Set<String> supportedOpTypes() {
    return RULES.keySet();
  }
}
