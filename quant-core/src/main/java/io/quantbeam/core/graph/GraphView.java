package io.quantbeam.core.graph;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import io.quantbeam.core.QuantbeamException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A read-only index over one ONNX graph: who produces and who consumes each tensor, the
 * initializers, a stable topological order and the element type of every tensor.
 *
 * <p>Element types come from the graph's declarations (inputs, outputs, value_info, initializers,
 * Constant nodes) and, where a tensor is not declared, from a small propagation table. The
 * reference tool silently skips tensors whose type shape inference could not find; here every
 * tensor of a BERT-style graph gets a type, and {@link #elementType} says UNDEFINED only for ops
 * the table does not know.
 */
public final class GraphView {
  private final GraphProto graph;
  private final Map<String, NodeProto> producers = new HashMap<>();
  private final Map<String, List<NodeProto>> consumers = new HashMap<>();
  private final Map<String, TensorProto> initializers = new LinkedHashMap<>();
  private final Map<String, NodeProto> nodesByName = new LinkedHashMap<>();
  private final Set<String> graphInputs = new LinkedHashSet<>();
  private final Set<String> graphOutputs = new LinkedHashSet<>();
  private final Map<String, Integer> elementTypes = new HashMap<>();
  private final List<NodeProto> topologicalOrder;

  public GraphView(GraphProto graph) {
    this.graph = graph;
    for (TensorProto init : graph.getInitializerList()) {
      initializers.put(init.getName(), init);
      elementTypes.put(init.getName(), init.getDataType());
    }
    for (ValueInfoProto in : graph.getInputList()) {
      if (!initializers.containsKey(in.getName())) {
        graphInputs.add(in.getName());
      }
      declareType(in);
    }
    for (ValueInfoProto out : graph.getOutputList()) {
      graphOutputs.add(out.getName());
      declareType(out);
    }
    for (ValueInfoProto vi : graph.getValueInfoList()) {
      declareType(vi);
    }
    for (NodeProto node : graph.getNodeList()) {
      if (!node.getName().isEmpty() && nodesByName.putIfAbsent(node.getName(), node) != null) {
        throw new QuantbeamException(
            "The model has two nodes named '" + node.getName() + "'. Node names must be unique for"
                + " exclusions and reports to mean anything; re-export the model or rename one.");
      }
      for (String out : node.getOutputList()) {
        if (!out.isEmpty()) {
          producers.put(out, node);
        }
      }
      for (String in : node.getInputList()) {
        if (!in.isEmpty()) {
          consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(node);
        }
      }
    }
    topologicalOrder = sortTopologically();
    for (NodeProto node : topologicalOrder) {
      inferOutputTypes(node);
    }
  }

  private void declareType(ValueInfoProto vi) {
    if (vi.hasType() && vi.getType().hasTensorType() && vi.getType().getTensorType().hasElemType()) {
      elementTypes.putIfAbsent(vi.getName(), vi.getType().getTensorType().getElemType());
    }
  }

  public GraphProto graph() {
    return graph;
  }

  /** The node that writes this tensor, or null for graph inputs, initializers and unknown names. */
  public NodeProto producer(String tensor) {
    return producers.get(tensor);
  }

  public List<NodeProto> consumers(String tensor) {
    return Collections.unmodifiableList(consumers.getOrDefault(tensor, List.of()));
  }

  public boolean isInitializer(String tensor) {
    return initializers.containsKey(tensor);
  }

  public TensorProto initializer(String tensor) {
    return initializers.get(tensor);
  }

  public Map<String, TensorProto> initializers() {
    return Collections.unmodifiableMap(initializers);
  }

  public boolean isGraphInput(String tensor) {
    return graphInputs.contains(tensor);
  }

  public boolean isGraphOutput(String tensor) {
    return graphOutputs.contains(tensor);
  }

  public Set<String> graphInputs() {
    return Collections.unmodifiableSet(graphInputs);
  }

  public Set<String> graphOutputs() {
    return Collections.unmodifiableSet(graphOutputs);
  }

  /** Named nodes, in graph order. */
  public Map<String, NodeProto> nodesByName() {
    return Collections.unmodifiableMap(nodesByName);
  }

  public NodeProto node(String name) {
    return nodesByName.get(name);
  }

  /** Nodes in an order where every producer precedes its consumers; ties keep graph order. */
  public List<NodeProto> topologicalOrder() {
    return topologicalOrder;
  }

  /** ONNX element type (TensorProto.DataType number) of a tensor; UNDEFINED when unknown. */
  public int elementType(String tensor) {
    return elementTypes.getOrDefault(tensor, DataType.UNDEFINED_VALUE);
  }

  public boolean isFloat(String tensor) {
    return elementType(tensor) == DataType.FLOAT_VALUE;
  }

  /** A float tensor computed at run time (not an initializer or a Constant output). */
  public boolean isFloatActivation(String tensor) {
    if (!isFloat(tensor) || isInitializer(tensor)) {
      return false;
    }
    NodeProto producer = producers.get(tensor);
    return producer == null ? graphInputs.contains(tensor) : !producer.getOpType().equals("Constant");
  }

  private List<NodeProto> sortTopologically() {
    List<NodeProto> nodes = graph.getNodeList();
    Map<NodeProto, Integer> index = new HashMap<>();
    int[] missing = new int[nodes.size()];
    for (int i = 0; i < nodes.size(); i++) {
      index.put(nodes.get(i), i);
    }
    List<List<Integer>> dependents = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      dependents.add(new ArrayList<>());
    }
    for (int i = 0; i < nodes.size(); i++) {
      Set<NodeProto> seen = new LinkedHashSet<>();
      for (String in : nodes.get(i).getInputList()) {
        NodeProto p = producers.get(in);
        if (p != null && p != nodes.get(i) && seen.add(p)) {
          dependents.get(index.get(p)).add(i);
          missing[i]++;
        }
      }
    }
    // A min-ordered ready set keeps graph order wherever the graph is already sorted.
    java.util.PriorityQueue<Integer> ready = new java.util.PriorityQueue<>();
    for (int i = 0; i < nodes.size(); i++) {
      if (missing[i] == 0) {
        ready.add(i);
      }
    }
    List<NodeProto> order = new ArrayList<>(nodes.size());
    while (!ready.isEmpty()) {
      int i = ready.poll();
      order.add(nodes.get(i));
      for (int d : dependents.get(i)) {
        if (--missing[d] == 0) {
          ready.add(d);
        }
      }
    }
    if (order.size() != nodes.size()) {
      throw new QuantbeamException(
          "The model's graph has a cycle or a node that reads a tensor nobody writes ("
              + (nodes.size() - order.size()) + " nodes cannot be ordered). Check the export.");
    }
    return Collections.unmodifiableList(order);
  }

  private void inferOutputTypes(NodeProto node) {
    int type = outputType(node);
    for (int i = 0; i < node.getOutputCount(); i++) {
      String out = node.getOutput(i);
      int t = i == 0 ? type : laterOutputType(node, i, type);
      if (!out.isEmpty() && t != DataType.UNDEFINED_VALUE) {
        elementTypes.putIfAbsent(out, t);
      }
    }
  }

  /**
   * Outputs after the first have the first's type except where an op says otherwise. ONNX
   * Runtime's EmbedLayerNormalization reads int32 ids first and writes the float embedding, an
   * int32 mask_index and the float sum; typing it by its first input would make every tensor
   * after it an int32 and leave the whole encoder unquantized in a model optimized by ONNX Runtime
   * without value_info.
   */
  private int laterOutputType(NodeProto node, int output, int first) {
    if (isEmbedLayerNormalization(node)) {
      return output == 1 ? DataType.INT32_VALUE : first;
    }
    return first;
  }

  private static boolean isEmbedLayerNormalization(NodeProto node) {
    return node.getDomain().equals("com.microsoft")
        && node.getOpType().equals("EmbedLayerNormalization");
  }

  /** Element type of a node's (first) output by op type; enough for encoder-style graphs. */
  private int outputType(NodeProto node) {
    if (isEmbedLayerNormalization(node)) {
      return inputType(node, 2); // the word-embedding table's type
    }
    String op = node.getOpType();
    switch (op) {
      case "Cast":
        return (int) attribute(node, "to").getI();
      case "Constant": {
        AttributeProto value = attribute(node, "value");
        return value == null ? DataType.UNDEFINED_VALUE : value.getT().getDataType();
      }
      case "ConstantOfShape": {
        AttributeProto value = attribute(node, "value");
        return value == null ? DataType.FLOAT_VALUE : value.getT().getDataType();
      }
      case "Shape":
      case "Size":
      case "NonZero":
      case "ArgMax":
      case "ArgMin":
        return DataType.INT64_VALUE;
      case "Equal":
      case "Less":
      case "LessOrEqual":
      case "Greater":
      case "GreaterOrEqual":
      case "Not":
      case "And":
      case "Or":
      case "Xor":
      case "IsNaN":
      case "IsInf":
        return DataType.BOOL_VALUE;
      case "Where":
        return inputType(node, 1);
      case "DequantizeLinear":
        return DataType.FLOAT_VALUE;
      case "QuantizeLinear":
        return node.getInputCount() > 2 ? inputType(node, 2) : DataType.UINT8_VALUE;
      case "DynamicQuantizeLinear":
        return DataType.UINT8_VALUE;
      case "MatMulInteger":
      case "ConvInteger":
        return DataType.INT32_VALUE;
      default:
        return inputType(node, 0);
    }
  }

  private int inputType(NodeProto node, int i) {
    return i < node.getInputCount() ? elementType(node.getInput(i)) : DataType.UNDEFINED_VALUE;
  }

  /** The named attribute of a node, or null. */
  public static AttributeProto attribute(NodeProto node, String name) {
    for (AttributeProto a : node.getAttributeList()) {
      if (a.getName().equals(name)) {
        return a;
      }
    }
    return null;
  }

  /**
   * Tensors computed only from {@code sources}, constants (initializers, Constant nodes) and
   * tensor shapes: the attention-mask path, e.g. Unsqueeze(mask) -> Cast -> Sub(1, m) ->
   * Mul(-3.4e38), or (mask == 0) -> Reshape -> Expand -> Where's condition, where the Reshape and
   * Expand targets come from Shape of the hidden state. It carries mask sentinels (-3.4e38) or
   * says where they go, so nothing on it may be quantized; the scores it is added to, or that
   * Where fills, are not part of it.
   */
  public Set<String> derivedOnlyFrom(Set<String> sources) {
    Set<String> derived = new LinkedHashSet<>(sources);
    for (NodeProto node : topologicalOrder) {
      boolean touchesSource = false;
      boolean onlyConstantsOrSources = true;
      for (String in : node.getInputList()) {
        if (in.isEmpty()) {
          continue;
        }
        if (derived.contains(in)) {
          touchesSource = true;
        } else if (!isConstantOrShape(in)) {
          onlyConstantsOrSources = false;
        }
      }
      if (touchesSource && onlyConstantsOrSources) {
        for (String out : node.getOutputList()) {
          if (!out.isEmpty()) {
            derived.add(out);
          }
        }
      }
    }
    return derived;
  }

  /** An initializer, or the output of a node computed only from constants. */
  public boolean isConstant(String tensor) {
    if (isInitializer(tensor)) {
      return true;
    }
    NodeProto p = producers.get(tensor);
    if (p == null) {
      return false;
    }
    if (p.getOpType().equals("Constant")) {
      return true;
    }
    Boolean known = constantCache.get(tensor);
    if (known != null) {
      return known;
    }
    boolean constant = true;
    for (String in : p.getInputList()) {
      if (!in.isEmpty() && !isConstant(in)) {
        constant = false;
        break;
      }
    }
    constantCache.put(tensor, constant);
    return constant;
  }

  private final Map<String, Boolean> constantCache = new HashMap<>();

  /**
   * A constant, the output of Shape or Size (of any tensor), or a tensor computed only from those:
   * values fixed by the dimensions of the data, never by its contents. Exports build the mask's
   * Reshape and Expand targets this way (from the hidden state's or input_ids' shape).
   */
  public boolean isConstantOrShape(String tensor) {
    if (isConstant(tensor)) {
      return true;
    }
    NodeProto p = producers.get(tensor);
    if (p == null) {
      return false;
    }
    if (p.getOpType().equals("Shape") || p.getOpType().equals("Size")) {
      return true;
    }
    Boolean known = shapeCache.get(tensor);
    if (known != null) {
      return known;
    }
    boolean shapeOnly = true;
    for (String in : p.getInputList()) {
      if (!in.isEmpty() && !isConstantOrShape(in)) {
        shapeOnly = false;
        break;
      }
    }
    shapeCache.put(tensor, shapeOnly);
    return shapeOnly;
  }

  private final Map<String, Boolean> shapeCache = new HashMap<>();
}
