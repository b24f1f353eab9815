package io.quantbeam.core.quant;

import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.List;

/**
 * How one ONNX op type is quantized. Rules are small and registered in {@link OpRules}, one per
 * op type, so adding an op means adding one class and one table row.
 */
public interface OpRule {
  /**
   * The float activations this node would read through Q/DQ, whatever the exclusions: calibration
   * observes exactly these. Empty when the node is not eligible (e.g. a Gather over a shape).
   */
  List<String> activationInputs(NodeProto node, QdqWriter writer);

  /**
   * Rewrites the node through the writer, or leaves it float; returns the decision, or null when
   * the node is not eligible at all (nothing worth reporting).
   */
  NodeDecision quantize(NodeProto node, QdqWriter writer);
}
