package io.quantbeam.core.quant;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.graph.GraphView;
import io.quantbeam.core.onnx.OpsetUpgrade;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.stats.Range;
import io.quantbeam.core.stats.RangeEstimator;
import io.quantbeam.core.stats.TensorStats;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Writes the static INT8 QDQ model from a float model, a calibration table and a config.
 *
 * <p>The transformer-aware default scope, and why (measured figures in the README):
 * <ul>
 *   <li>Quantized: MatMul/Gemm whose second input is a float weight (Q/DQ on the activation,
 *       per-channel int8 weights), and Gather from a float embedding table (8-bit table).
 *   <li>Float: MatMuls of two activations (attention), Softmax, LayerNorm, Add/Mul and the other
 *       elementwise ops (ONNX Runtime cannot fuse their Q/DQ pairs, so they only add work and
 *       error); the attention-mask path (computed only from a *mask* input, it carries -3.4e38
 *       sentinels); any tensor whose calibration saw NaN, Inf or sentinel-sized values.
 *   <li>A node that is excluded, or whose input is left float, reads the original float tensor,
 *       not a dequantized copy (the reference rewires excluded nodes to the DQ output; keeping the
 *       float input is what a user excluding a sensitive node wants).
 * </ul>
 */
public final class QdqQuantizer {
  /** Per-channel DequantizeLinear (the axis attribute) needs opset 13. */
  public static final int MIN_OPSET = 13;

  /** A quantized model and what happened to each eligible node. */
  public record Result(ModelProto model, List<NodeDecision> decisions) {
    public long quantizedNodes() {
      return decisions.stream().filter(NodeDecision::quantized).count();
    }
  }

  private QdqQuantizer() {}

  /** The model at an opset where per-channel Q/DQ exists (a no-op when it already is). */
  public static ModelProto prepare(ModelProto model) {
    return OpsetUpgrade.upgrade(model, MIN_OPSET);
  }

  /** The activations calibration must observe so that this config (and any exclusion) can run. */
  public static List<String> tensorsToCalibrate(ModelProto model, QuantConfig config) {
    ModelProto prepared = forTarget(prepare(model), config).model();
    GraphView view = new GraphView(prepared.getGraph());
    QdqWriter probe = new QdqWriter(view, config, Map.of(), Map.of(), Set.of());
    Set<String> tensors = new LinkedHashSet<>();
    for (NodeProto node : view.topologicalOrder()) {
      OpRule rule = OpRules.forNode(node, config);
      if (rule != null) {
        tensors.addAll(rule.activationInputs(node, probe));
      }
    }
    Set<String> mask = maskPath(view);
    tensors.removeAll(mask);
    return new ArrayList<>(tensors);
  }

  public static Result quantize(ModelProto model, CalibrationTable table, QuantConfig config) {
    ModelProto upgraded = prepare(model);
    checkExclusions(new GraphView(upgraded.getGraph()), config.excludeNodes());
    AttentionFusion.Result fusion = forTarget(upgraded, config);
    ModelProto prepared = fusion.model();
    GraphView view = new GraphView(prepared.getGraph());
    for (String op : config.opTypes()) {
      if (OpRules.forOpType(op) == null) {
        throw new QuantbeamException("No quantization rule for op type '" + op
            + "'; supported: " + OpRules.supportedOpTypes());
      }
    }

    Map<String, Range> ranges = new TreeMap<>();
    Map<String, String> unusable = new TreeMap<>();
    for (Map.Entry<String, TensorStats> e : table.tensors().entrySet()) {
      TensorStats s = e.getValue();
      long bad = s.nanCount() + s.posInfCount() + s.negInfCount() + s.extremeCount();
      if (bad > 0) {
        unusable.put(e.getKey(), String.format(Locale.ROOT,
            "saw %d NaN/Inf/sentinel values (|x| >= 2^64) in calibration: its range is absurd",
            bad));
      } else if (s.count() == 0) {
        unusable.put(e.getKey(), "saw no values in calibration");
      } else {
        Range range = RangeEstimator.estimate(s, config.calibration());
        QuantParams params = QuantParams.compute(range.min(), range.max(),
            config.activationType(), config.symmetricActivations(), false);
        double sqnr = PredictedNoise.sqnrDb(s, range, params);
        if (sqnr < config.minActivationSqnrDb()) {
          unusable.put(e.getKey(), String.format(Locale.ROOT,
              "would keep only %.1f dB SQNR in 8 bits (range [%.3g, %.3g], rms %.3g): outliers;"
                  + " floor %.1f dB (minActivationSqnrDb)", sqnr, range.min(), range.max(),
              rms(s), config.minActivationSqnrDb()));
        } else {
          ranges.put(e.getKey(), range);
        }
      }
    }

    QdqWriter writer = new QdqWriter(view, config, ranges, unusable, maskPath(view));
    List<NodeDecision> decisions = new ArrayList<>();
    for (String block : fusion.unmatched()) {
      int colon = block.indexOf(": ");
      decisions.add(NodeDecision.leftFloat(block.substring(0, colon), "attention block",
          "not fused into Attention: " + block.substring(colon + 2)));
    }
    int eligible = 0;
    for (NodeProto node : view.topologicalOrder()) {
      if (writer.absorbed(node)) {
        continue; // the rule of the node before it wrote it (a bias inside an integer MatMul)
      }
      boolean defaultDomain = OpsetUpgrade.isDefaultDomain(node.getDomain());
      OpRule rule = OpRules.forNode(node, config);
      NodeDecision decision = rule == null ? null : rule.quantize(node, writer);
      if (decision != null) {
        decisions.add(decision);
        eligible++;
      } else if (!defaultDomain) {
        // a custom-domain op (com.microsoft, a user's own): no rule applies, even when its op type
        // has the name of a standard one; it stays float and the report lists it
        decisions.add(NodeDecision.leftFloat(node.getName(),
            node.getDomain() + ":" + node.getOpType(),
            "custom-domain op: no quantization rule, left float"));
      }
      if (decision == null || !decision.quantized()) {
        writer.emit(node);
      }
    }
    if (decisions.stream().noneMatch(NodeDecision::quantized)) {
      throw new QuantbeamException("The model has no float tensors to quantize with op types "
          + config.opTypes() + " (" + eligible + " eligible nodes, all left float"
          + (eligible == 0 ? "" : ": first reason: " + decisions.stream()
              .filter(d -> !d.detail().startsWith("custom-domain")).findFirst()
              .map(NodeDecision::detail).orElse(""))
          + "). Check that it is a float32 model with MatMul/Gemm weights or embedding tables.");
    }
    return new Result(rebuild(prepared, writer), decisions);
  }

  /**
   * The graph the target's rules see: for ONNX Runtime's CPU provider, with the attention blocks
   * fused (names of the blocks' inputs kept, so the float model's calibration applies).
   */
  private static AttentionFusion.Result forTarget(ModelProto prepared, QuantConfig config) {
    if (config.target() == QuantConfig.Target.ONNXRUNTIME_CPU) {
      // MULTI_HEAD, not ATTENTION: QAttention was measured 9% slower than ONNX Runtime's dynamic
      // model at batch 32 on all-MiniLM-L6-v2 (its kernel runs one small GEMM per head and row)
      return AttentionFusion.fuse(prepared, config.excludeNodes(),
          AttentionFusion.Form.MULTI_HEAD);
    }
    return new AttentionFusion.Result(prepared, 0, List.of());
  }

  private static double rms(TensorStats s) {
    double sum = 0;
    long n = 0;
    for (io.quantbeam.core.stats.AbsHistogram h : List.of(s.positive(), s.negative())) {
      long[] c = h.counts();
      for (int i = 0; i < c.length; i++) {
        double mid = (i + 0.5) * h.binWidth();
        sum += c[i] * mid * mid;
      }
      n += h.total();
    }
    return n == 0 ? 0 : Math.sqrt(sum / n);
  }

  /**
   * The attention-mask path: tensors computed only from the mask, constants and shapes (see
   * {@link GraphView#derivedOnlyFrom}). The mask is the model's *mask* inputs and, in a model
   * optimized by ONNX Runtime, the mask index its fused ops read or write
   * ({@link #CONTRIB_MASK_SLOTS}), found by position whatever the model's mask input is called.
   */
  static Set<String> maskPath(GraphView view) {
    Set<String> masks = view.graphInputs().stream()
        .filter(n -> n.toLowerCase(Locale.ROOT).contains("mask"))
        .collect(Collectors.toCollection(LinkedHashSet::new));
    for (NodeProto node : view.topologicalOrder()) {
      MaskSlot slot = CONTRIB_MASK_SLOTS.get(node.getDomain() + ":" + node.getOpType());
      if (slot != null) {
        List<String> tensors = slot.output() ? node.getOutputList() : node.getInputList();
        if (slot.index() < tensors.size() && !tensors.get(slot.index()).isEmpty()) {
          masks.add(tensors.get(slot.index()));
        }
      }
    }
    return masks.isEmpty() ? Set.of() : view.derivedOnlyFrom(masks);
  }

  /** Where a fused op holds the mask: its input or output number {@code index}. */
  private record MaskSlot(boolean output, int index) {}

  /**
   * ONNX Runtime's fused ops that hold a mask: Attention reads it as mask_index (input 3),
   * MultiHeadAttention as key_padding_mask (input 4),
   * EmbedLayerNormalization writes one (output 1).
   */
  private static final Map<String, MaskSlot> CONTRIB_MASK_SLOTS = Map.of(
      "com.microsoft:Attention", new MaskSlot(false, 3),
      "com.microsoft:MultiHeadAttention", new MaskSlot(false, 4),
      "com.microsoft:EmbedLayerNormalization", new MaskSlot(true, 1));

  private static ModelProto rebuild(ModelProto prepared, QdqWriter writer) {
    GraphProto g = prepared.getGraph();
    Set<String> used = new HashSet<>();
    for (NodeProto n : writer.emitted()) {
      used.addAll(n.getInputList());
    }
    for (ValueInfoProto out : g.getOutputList()) {
      used.add(out.getName());
    }
    Map<String, TensorProto> initializers = new LinkedHashMap<>();
    for (TensorProto t : g.getInitializerList()) {
      if (used.contains(t.getName())) {
        initializers.put(t.getName(), t);
      }
    }
    for (TensorProto t : writer.newInitializers().values()) {
      if (used.contains(t.getName())) {
        initializers.putIfAbsent(t.getName(), t);
      }
    }
    Set<String> dropped = new HashSet<>();
    for (TensorProto t : g.getInitializerList()) {
      if (!initializers.containsKey(t.getName())) {
        dropped.add(t.getName());
      }
    }
    GraphProto.Builder graph = g.toBuilder().clearNode().addAllNode(writer.emitted())
        .clearInitializer().addAllInitializer(initializers.values())
        .clearInput().addAllInput(g.getInputList().stream()
            .filter(i -> !dropped.contains(i.getName())).collect(Collectors.toList()))
        .clearValueInfo().addAllValueInfo(g.getValueInfoList().stream()
            .filter(v -> !dropped.contains(v.getName())).collect(Collectors.toList()));
    ModelProto.Builder result = prepared.toBuilder().setGraph(graph);
    boolean contrib = writer.emitted().stream()
        .anyMatch(n -> n.getDomain().equals(AttentionFusion.DOMAIN));
    if (contrib && prepared.getOpsetImportList().stream()
        .noneMatch(o -> o.getDomain().equals(AttentionFusion.DOMAIN))) {
      result.addOpsetImport(ai.onnx.proto.OnnxMl.OperatorSetIdProto.newBuilder()
          .setDomain(AttentionFusion.DOMAIN).setVersion(1));
    }
    return result.build();
  }

  private static void checkExclusions(GraphView view, Set<String> excluded) {
    List<String> unknown = excluded.stream().filter(n -> view.node(n) == null).sorted()
        .collect(Collectors.toList());
    if (unknown.isEmpty()) {
      return;
    }
    StringBuilder msg = new StringBuilder("Excluded node(s) not in the model: ");
    for (String name : unknown) {
      List<String> near = view.nodesByName().keySet().stream()
          .sorted(Comparator.comparingInt((String c) -> editDistance(name, c))
              .thenComparing(Comparator.naturalOrder()))
          .limit(3).collect(Collectors.toList());
      msg.append("'").append(name).append("' (did you mean ").append(near).append("?) ");
    }
    throw new QuantbeamException(msg.append("Node names are listed in report.json.").toString());
  }

  static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
