package io.quantbeam.core.quant;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.quantbeam.core.graph.GraphView;
import io.quantbeam.core.graph.Tensors;
import io.quantbeam.core.stats.Range;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The state of one QDQ rewrite: the rules call it to insert Q/DQ pairs and quantized initializers
 * under the reference tool's names, each at most once, and to emit rewritten nodes in order.
 */
public final class QdqWriter {
  /** Names of a stored quantized tensor and its parameters. */
  public record QuantizedTable(String quantizedName, String scaleName, String zeroPointName,
      float[] scales) {}

  private final GraphView view;
  private final QuantConfig config;
  private final Map<String, Range> ranges;
  private final Map<String, String> unusableRanges;
  private final Set<String> maskPath;
  private final List<NodeProto> emitted = new ArrayList<>();
  private final Map<String, TensorProto> newInitializers = new LinkedHashMap<>();
  private final Map<String, String> dequantizedActivations = new HashMap<>();
  private final Map<String, QuantParams> activationParams = new HashMap<>();
  private final Map<String, QuantizedTable> quantizedWeights = new HashMap<>();
  /** Weight DQ outputs already emitted (a weight shared by several nodes is dequantized once). */
  private final Set<String> emittedNames = new java.util.HashSet<>();
  /** Nodes another node's rule took over (see {@link #absorb}). */
  private final Set<NodeProto> absorbed =
      java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

  QdqWriter(GraphView view, QuantConfig config, Map<String, Range> ranges,
      Map<String, String> unusableRanges, Set<String> maskPath) {
    this.view = view;
    this.config = config;
    this.ranges = ranges;
    this.unusableRanges = unusableRanges;
    this.maskPath = maskPath;
  }

  public GraphView view() {
    return view;
  }

  public QuantConfig config() {
    return config;
  }

  /** Why a node must stay float, or null when it may be quantized. */
  public String skipReasonForNode(NodeProto node, List<String> activations) {
    if (config.excludeNodes().contains(node.getName())) {
      return "excluded by configuration";
    }
    for (String a : activations) {
      if (maskPath.contains(a)) {
        return "input '" + a + "' is on the attention-mask path";
      }
      String unusable = unusableRanges.get(a);
      if (unusable != null) {
        return "input '" + a + "' " + unusable;
      }
      if (!ranges.containsKey(a)) {
        return "input '" + a + "' was not calibrated";
      }
    }
    return null;
  }

  String describe(String activation) {
    Range r = ranges.get(activation);
    return r == null ? "'" + activation + "'"
        : String.format("'%s' range [%.4g, %.4g]", activation, r.min(), r.max());
  }

  /** Emits a node into the output graph (in the order rules call it). */
  public void emit(NodeProto node) {
    emitted.add(node);
  }

  /** Inserts T -> QuantizeLinear -> DequantizeLinear once and returns the DQ output's name. */
  public String dequantizedActivation(String tensor) {
    String existing = dequantizedActivations.get(tensor);
    if (existing != null) {
      return existing;
    }
    QuantizedActivation q = quantizedActivation(tensor);
    String dqOut = tensor + "_DequantizeLinear_Output";
    emit(NodeProto.newBuilder().setName(tensor + "_DequantizeLinear").setOpType("DequantizeLinear")
        .addInput(q.quantizedName()).addInput(q.scaleName()).addInput(q.zeroPointName())
        .addOutput(dqOut).build());
    dequantizedActivations.put(tensor, dqOut);
    return dqOut;
  }

  /** Names of a quantized activation (the QuantizeLinear output) and its parameters. */
  public record QuantizedActivation(String quantizedName, String scaleName, String zeroPointName) {}

  /**
   * Inserts T -> QuantizeLinear once and returns its names: every node that reads T quantized
   * shares that one QuantizeLinear (the Q/K/V projections of a layer read the same input).
   */
  public QuantizedActivation quantizedActivation(String tensor) {
    String scale = tensor + "_scale";
    String zeroPoint = tensor + "_zero_point";
    String qOut = tensor + "_QuantizeLinear_Output";
    QuantizedActivation result = new QuantizedActivation(qOut, scale, zeroPoint);
    if (activationParams.containsKey(tensor)) {
      return result;
    }
    Range r = ranges.get(tensor);
    // Reduced range applies to weights only, as in the reference: the kernels' saturation risk
    // comes from the weight operand.
    QuantParams p = QuantParams.compute(r.min(), r.max(), config.activationType(),
        config.symmetricActivations(), false);
    activationParams.put(tensor, p);
    addInitializer(Tensors.floatTensor(scale, new long[0], new float[] {p.scale()}));
    addInitializer(Tensors.byteTensor(zeroPoint, config.activationType().onnxType(), new long[0],
        new int[] {p.zeroPoint()}));
    emit(NodeProto.newBuilder().setName(tensor + "_QuantizeLinear").setOpType("QuantizeLinear")
        .addInput(tensor).addInput(scale).addInput(zeroPoint).addOutput(qOut).build());
    return result;
  }

  /**
   * A weight stored quantized (symmetric; per channel along {@code axis} when configured), with
   * no DequantizeLinear: for operators that read integer weights themselves.
   */
  public QuantizedTable quantizedWeight(String weight, int axis) {
    return quantizeWeight(weight, config.perChannel() ? axis : -1);
  }

  /** A new float initializer (e.g. a fused bias), added once under its name. */
  public void addFloatInitializer(String name, long[] dims, float[] values) {
    addInitializer(Tensors.floatTensor(name, dims, values));
  }

  /**
   * Marks a node as done by the rule of another node (a bias Add that became an input of the
   * integer MatMul before it): the quantizer will neither emit it nor ask a rule about it.
   */
  public void absorb(NodeProto node) {
    absorbed.add(node);
  }

  boolean absorbed(NodeProto node) {
    return absorbed.contains(node);
  }

  /**
   * Stores a weight quantized (symmetric, per channel along {@code axis} when configured, else per
   * tensor) and returns the output name of its DequantizeLinear.
   */
  public String dequantizedWeight(String weight, int axis) {
    QuantizedTable q = quantizeWeight(weight, config.perChannel() ? axis : -1);
    String dqOut = weight + "_DequantizeLinear_Output";
    if (!emittedNames.contains(dqOut)) {
      NodeProto.Builder dq = NodeProto.newBuilder().setName(weight + "_DequantizeLinear")
          .setOpType("DequantizeLinear").addInput(q.quantizedName()).addInput(q.scaleName())
          .addInput(q.zeroPointName()).addOutput(dqOut);
      if (q.scales().length > 1) {
        dq.addAttribute(AttributeProto.newBuilder().setName("axis")
            .setType(AttributeProto.AttributeType.INT).setI(axis));
      }
      emit(dq.build());
      emittedNames.add(dqOut);
    }
    return dqOut;
  }

  /** An embedding table stored in 8 bits, per tensor (the gathered rows share one scale). */
  public QuantizedTable quantizedTable(String table) {
    // Reduced range exists for the u8 x s8 integer GEMM kernels, whose 16-bit intermediate sums can
    // saturate; a gathered table never enters one, so it keeps the full 8 bits.
    return quantizeWeight(table, -1, false);
  }

  private QuantizedTable quantizeWeight(String weight, int axis) {
    return quantizeWeight(weight, axis, config.reduceRange());
  }

  private QuantizedTable quantizeWeight(String weight, int axis, boolean reduceRange) {
    String key = weight + "@" + axis + "@" + reduceRange;
    QuantizedTable done = quantizedWeights.get(key);
    if (done != null) {
      return done;
    }
    TensorProto t = view.initializer(weight);
    float[] values = Tensors.floats(t);
    long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
    QuantType type = config.weightType();
    // Weights are symmetric for signed types (zero point 0), as the reference does.
    boolean symmetric = type.isSigned();
    int channels = axis < 0 ? 1 : (int) dims[axis];
    long inner = 1;
    if (axis >= 0) {
      for (int d = axis + 1; d < dims.length; d++) {
        inner *= dims[d];
      }
    }
    double[] mins = new double[channels];
    double[] maxs = new double[channels];
    java.util.Arrays.fill(mins, Double.POSITIVE_INFINITY);
    java.util.Arrays.fill(maxs, Double.NEGATIVE_INFINITY);
    for (int i = 0; i < values.length; i++) {
      int c = axis < 0 ? 0 : (int) ((i / inner) % channels);
      mins[c] = Math.min(mins[c], values[i]);
      maxs[c] = Math.max(maxs[c], values[i]);
    }
    QuantParams[] params = new QuantParams[channels];
    float[] scales = new float[channels];
    int[] zeroPoints = new int[channels];
    for (int c = 0; c < channels; c++) {
      if (!Double.isFinite(mins[c]) || !Double.isFinite(maxs[c])) {
        throw new io.quantbeam.core.QuantbeamException("Weight '" + weight
            + "' holds NaN or infinite values; it cannot be quantized. Exclude its node or fix"
            + " the model.");
      }
      params[c] = QuantParams.compute(mins[c], maxs[c], type, symmetric, reduceRange);
      scales[c] = params[c].scale();
      zeroPoints[c] = params[c].zeroPoint();
    }
    int[] q = new int[values.length];
    for (int i = 0; i < values.length; i++) {
      int c = axis < 0 ? 0 : (int) ((i / inner) % channels);
      q[i] = params[c].quantize(values[i]);
    }
    String qName = weight + "_quantized";
    String scaleName = weight + "_scale";
    String zpName = weight + "_zero_point";
    long[] paramDims = axis < 0 ? new long[0] : new long[] {channels};
    addInitializer(Tensors.byteTensor(qName, type.onnxType(), dims, q));
    addInitializer(Tensors.floatTensor(scaleName, paramDims, scales));
    addInitializer(Tensors.byteTensor(zpName, type.onnxType(), paramDims, zeroPoints));
    QuantizedTable result = new QuantizedTable(qName, scaleName, zpName, scales);
    quantizedWeights.put(key, result);
    return result;
  }

  /**
   * A bias stored as int32 with scale = input scale x weight scale (per channel), zero point 0,
   * clipped to int32, as the reference does; returns its DequantizeLinear output.
   */
  public String dequantizedBias(String bias, String input, String weight, int weightAxis) {
    QuantizedTable w = quantizeWeight(weight, config.perChannel() ? weightAxis : -1);
    float inputScale = activationParams.get(input).scale();
    float[] b = Tensors.floats(view.initializer(bias));
    float[] scales = new float[w.scales().length];
    int[] q = new int[b.length];
    for (int i = 0; i < b.length; i++) {
      int c = scales.length == 1 ? 0 : i;
      scales[c] = inputScale * w.scales()[c];
      double v = Math.rint(b[i] / (double) scales[c]);
      q[i] = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v));
    }
    String qName = bias + "_quantized";
    String scaleName = bias + "_quantized_scale";
    String zpName = bias + "_quantized_zero_point";
    long[] paramDims = scales.length == 1 ? new long[0] : new long[] {scales.length};
    addInitializer(Tensors.int32Tensor(qName, new long[] {b.length}, q));
    addInitializer(Tensors.floatTensor(scaleName, paramDims, scales));
    addInitializer(Tensors.int32Tensor(zpName, paramDims, new int[scales.length]));
    String dqOut = bias + "_DequantizeLinear_Output";
    NodeProto.Builder dq = NodeProto.newBuilder().setName(bias + "_DequantizeLinear")
        .setOpType("DequantizeLinear").addInput(qName).addInput(scaleName).addInput(zpName)
        .addOutput(dqOut);
    if (scales.length > 1) {
      dq.addAttribute(AttributeProto.newBuilder().setName("axis")
          .setType(AttributeProto.AttributeType.INT).setI(0));
    }
    emit(dq.build());
    return dqOut;
  }

  private void addInitializer(TensorProto t) {
    newInitializers.putIfAbsent(t.getName(), t);
  }

  List<NodeProto> emitted() {
    return emitted;
  }

  Map<String, TensorProto> newInitializers() {
    return newInitializers;
  }
}
