package io.quantbeam.core.quant;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import io.quantbeam.core.graph.GraphView;
import io.quantbeam.core.graph.Tensors;
import io.quantbeam.core.onnx.OpsetUpgrade;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Rewrites the self-attention block of BERT-style exports into ONNX Runtime's fused attention
 * ({@link Form}: com.microsoft.Attention, or MultiHeadAttention after the kept projections), the
 * forms its CPU provider runs in one kernel. ONNX Runtime's own optimizer does not fuse the
 * attention of common exports (all-MiniLM-L6-v2 keeps its 3 projection MatMuls, 4
 * Reshape/Transpose pairs, scores, Softmax and context MatMuls per layer), so it is done here, on
 * the float graph, before quantization.
 *
 * <p>The block matched, from each Softmax outwards: Q, K and V as MatMul(x, W) + bias of the same
 * input x; each reshaped to [batch, seq, heads, head size] (the heads read from the Reshape's
 * constant target) and transposed (K to [0, 2, 3, 1]); scores = Q x K^T, scaled by a constant
 * (Div or Mul, before or after the product); the mask added (BERT, RoBERTa) or filled in by Where
 * (DistilBERT), where the mask is computed only from the model's one *mask* input; Softmax on the
 * last axis; x V, transposed back and reshaped to [batch, seq, hidden]. The fused node (or the
 * kept projections) reads x under its name, so the calibration of the float model applies
 * unchanged, and it writes the block's output tensor under its name. It reads the mask input cast
 * to int32 (1 attends, 0 is masked), the raw-mask form ONNX Runtime's kernels take.
 *
 * <p>A block that does not match every step is left as it is and reported, never half-rewritten;
 * so is one whose inner tensors are read outside it, or whose projections a config excludes.
 */
public final class AttentionFusion {
  /** ONNX Runtime's contrib-op domain. */
  public static final String DOMAIN = "com.microsoft";

  /** The fused model, how many blocks were fused, and why each other Softmax's block was not. */
  public record Result(ModelProto model, int fused, List<String> unmatched) {}

  /** The node a block becomes. */
  public enum Form {
    /**
     * com.microsoft.Attention(x, packed [in, 3 hidden] Q/K/V weight, bias, mask index): the
     * projections inside the node (QAttention when quantized, whose kernel runs them as one small
     * GEMM per head and batch row: measured slower at batch 32 than three large GEMMs).
     */
    ATTENTION,
    /**
     * The Q/K/V projections stay (MatMul + bias Add, each quantized on its own with the bias
     * inside, sharing one QuantizeLinear) and the rest becomes com.microsoft.MultiHeadAttention(q,
     * k, v, key padding mask): reshapes, transposes, scores, scale, mask, Softmax and context in
     * one float kernel.
     */
    MULTI_HEAD
  }

  private AttentionFusion() {}

  /** {@link #fuse(ModelProto, Set, Form)} to {@link Form#ATTENTION}. */
  public static Result fuse(ModelProto model, Set<String> keepNodes) {
    return fuse(model, keepNodes, Form.ATTENTION);
  }

  /**
   * Fuses every attention block it recognises. {@code keepNodes}: node names that must stay as
   * they are (excluded nodes); a block holding one is not fused.
   */
  public static Result fuse(ModelProto model, Set<String> keepNodes, Form form) {
    ModelProto current = model;
    List<String> unmatched = new ArrayList<>();
    Set<String> tried = new HashSet<>();
    int fused = 0;
    while (true) {
      GraphView view = new GraphView(current.getGraph());
      NodeProto softmax = view.topologicalOrder().stream()
          .filter(n -> n.getOpType().equals("Softmax") && OpsetUpgrade.isDefaultDomain(n.getDomain()))
          .filter(n -> !tried.contains(n.getName()))
          .findFirst().orElse(null);
      if (softmax == null) {
        break;
      }
      tried.add(softmax.getName());
      Block block;
      try {
        block = new Matcher(view, keepNodes).match(softmax);
      } catch (NoMatch e) {
        unmatched.add(softmax.getName() + ": " + e.getMessage());
        continue;
      }
      ModelProto rewritten = rewrite(current, view, block, form);
      if (rewritten == null) {
        unmatched.add(softmax.getName() + ": a tensor inside the block is read outside it");
        continue;
      }
      current = rewritten;
      fused++;
    }
    return new Result(current, fused, List.copyOf(unmatched));
  }

  /** One Q/K/V projection: MatMul(x, weight) + bias. */
  private record Projection(String input, NodeProto matMul, NodeProto add, TensorProto weight,
      TensorProto bias) {}

  /** A matched block: what the Attention node needs, and the nodes it replaces. */
  private record Block(String name, String input, Projection q, Projection k, Projection v,
      int heads, int headSize, double scale, String maskInput, String output,
      List<NodeProto> nodes) {}

  /** Why a block does not match (control flow only: no stack trace is needed). */
  private static final class NoMatch extends Exception {
    NoMatch(String message) {
      super(message, null, false, false);
    }
  }

  private static final class Matcher {
    private final GraphView view;
    private final Set<String> keepNodes;
    private final List<NodeProto> nodes = new ArrayList<>();

    Matcher(GraphView view, Set<String> keepNodes) {
      this.view = view;
      this.keepNodes = keepNodes;
    }

    Block match(NodeProto softmax) throws NoMatch {
      AttributeProto axis = GraphView.attribute(softmax, "axis");
      if (axis != null && axis.getI() != -1 && axis.getI() != 3) {
        throw new NoMatch("Softmax is not on the last axis of [batch, heads, seq, seq]");
      }
      nodes.add(softmax);
      NodeProto context = onlyConsumer(softmax.getOutput(0), "MatMul");
      if (!context.getInput(0).equals(softmax.getOutput(0))) {
        throw new NoMatch("the probabilities are not the left operand of the context MatMul");
      }
      int[] vHeads = new int[2];
      Projection v = headsOf(context.getInput(1), new long[] {0, 2, 1, 3}, vHeads);
      NodeProto back = onlyConsumer(context.getOutput(0), "Transpose");
      requirePerm(back, new long[] {0, 2, 1, 3});
      NodeProto merge = onlyConsumer(back.getOutput(0), "Reshape");

      String scores = softmax.getInput(0);
      NodeProto producer = view.producer(scores);
      String maskInput = null;
      Set<String> maskPath = maskPath();
      if (is(producer, "Add")) {
        int m = maskPath.contains(producer.getInput(0)) ? 0
            : maskPath.contains(producer.getInput(1)) ? 1 : -1;
        if (m < 0) {
          throw new NoMatch("the scores are added to a tensor that is not computed from the mask");
        }
        maskInput = maskInput();
        nodes.add(producer);
        scores = producer.getInput(1 - m);
      } else if (is(producer, "Where")) {
        Double fill = constantScalar(producer.getInput(1));
        if (!maskPath.contains(producer.getInput(0)) || fill == null || fill > -1e4) {
          throw new NoMatch("Where does not fill the masked scores with a large negative value");
        }
        maskInput = maskInput();
        nodes.add(producer);
        scores = producer.getInput(2);
      }
      double[] scale = {1.0};
      scores = unscaled(scores, scale);
      NodeProto product = producerOf(scores, "MatMul");
      nodes.add(product);
      String query = unscaled(product.getInput(0), scale);
      int[] qHeads = new int[2];
      int[] kHeads = new int[2];
      Projection q = headsOf(query, new long[] {0, 2, 1, 3}, qHeads);
      Projection k = headsOf(product.getInput(1), new long[] {0, 2, 3, 1}, kHeads);

      if (!q.input().equals(k.input()) || !q.input().equals(v.input())) {
        throw new NoMatch("Q, K and V are not projections of one input");
      }
      long hidden = q.weight().getDims(1);
      for (Projection p : List.of(q, k, v)) {
        if (p.weight().getDims(1) != hidden || p.weight().getDims(0) != q.weight().getDims(0)) {
          throw new NoMatch("Q, K and V weights differ in shape");
        }
        if (keepNodes.contains(p.matMul().getName())) {
          throw new NoMatch("'" + p.matMul().getName() + "' is excluded");
        }
      }
      if (qHeads[0] != kHeads[0] || qHeads[0] != vHeads[0] || qHeads[1] != kHeads[1]
          || qHeads[1] != vHeads[1] || (long) qHeads[0] * qHeads[1] != hidden) {
        throw new NoMatch("the heads of Q, K and V do not split the hidden size alike");
      }
      List<Long> merged = shapeEntries(merge.getInput(1));
      if (merged == null || merged.size() != 3 || merged.get(2) == null
          || merged.get(2) != hidden) {
        throw new NoMatch("the context is not reshaped to [batch, seq, " + hidden + "]");
      }
      nodes.add(context);
      nodes.add(back);
      nodes.add(merge);
      String name = softmax.getName().substring(0, softmax.getName().lastIndexOf('/') + 1)
          + "Attention";
      return new Block(name, q.input(), q, k, v, qHeads[0], qHeads[1], scale[0], maskInput,
          merge.getOutput(0), List.copyOf(nodes));
    }

    /**
     * The projection behind Transpose(perm)(Reshape(x W + b, [.., .., heads, size])); fills
     * {@code heads} with heads and head size.
     */
    private Projection headsOf(String tensor, long[] perm, int[] heads) throws NoMatch {
      NodeProto transpose = producerOf(tensor, "Transpose");
      requirePerm(transpose, perm);
      onlyConsumer(transpose.getOutput(0), null);
      NodeProto reshape = producerOf(transpose.getInput(0), "Reshape");
      onlyConsumer(reshape.getOutput(0), null);
      List<Long> shape = shapeEntries(reshape.getInput(1));
      if (shape == null || shape.size() != 4 || shape.get(2) == null || shape.get(3) == null
          || shape.get(2) <= 0 || shape.get(3) <= 0) {
        throw new NoMatch("a projection is not reshaped to constant [.., .., heads, head size]");
      }
      heads[0] = shape.get(2).intValue();
      heads[1] = shape.get(3).intValue();
      NodeProto add = producerOf(reshape.getInput(0), "Add");
      int w = is(view.producer(add.getInput(0)), "MatMul") ? 0 : 1;
      NodeProto matMul = producerOf(add.getInput(w), "MatMul");
      TensorProto bias = view.initializer(add.getInput(1 - w));
      TensorProto weight = view.initializer(matMul.getInput(1));
      if (weight == null || weight.getDataType() != TensorProto.DataType.FLOAT_VALUE
          || weight.getDimsCount() != 2 || bias == null
          || bias.getDataType() != TensorProto.DataType.FLOAT_VALUE || bias.getDimsCount() != 1
          || bias.getDims(0) != weight.getDims(1)) {
        throw new NoMatch("a projection is not MatMul(x, float weight) + float bias");
      }
      nodes.addAll(List.of(transpose, reshape, add, matMul));
      return new Projection(matMul.getInput(0), matMul, add, weight, bias);
    }

    /** Strips a Div or Mul by a constant scalar, folding it into {@code scale}. */
    private String unscaled(String tensor, double[] scale) throws NoMatch {
      NodeProto p = view.producer(tensor);
      if (is(p, "Div")) {
        Double c = constantScalar(p.getInput(1));
        if (c != null && c != 0) {
          onlyConsumer(p.getOutput(0), null);
          scale[0] /= c;
          nodes.add(p);
          return p.getInput(0);
        }
      } else if (is(p, "Mul")) {
        for (int i = 0; i < 2; i++) {
          Double c = constantScalar(p.getInput(i));
          if (c != null) {
            onlyConsumer(p.getOutput(0), null);
            scale[0] *= c;
            nodes.add(p);
            return p.getInput(1 - i);
          }
        }
      }
      return tensor;
    }

    /** The one model input named *mask*: the raw mask the block's mask is computed from. */
    private String maskInput() throws NoMatch {
      List<String> masks = masks();
      if (masks.size() != 1) {
        throw new NoMatch("the model has " + masks.size() + " *mask* inputs, not one");
      }
      int type = view.elementType(masks.get(0));
      if (type != TensorProto.DataType.INT64_VALUE && type != TensorProto.DataType.INT32_VALUE) {
        throw new NoMatch("the mask input is not an integer tensor");
      }
      return masks.get(0);
    }

    private List<String> masks() {
      return view.graphInputs().stream()
          .filter(n -> n.toLowerCase(Locale.ROOT).contains("mask")).collect(Collectors.toList());
    }

    /** Tensors computed from the mask input (with constants and shapes), the input excluded. */
    private Set<String> maskPath() {
      List<String> masks = masks();
      if (masks.isEmpty()) {
        return Set.of();
      }
      Set<String> path = new HashSet<>(view.derivedOnlyFrom(new LinkedHashSet<>(masks)));
      path.removeAll(masks);
      return path;
    }

    /** The only consumer of {@code tensor} apart from Shape nodes, of op type {@code op}. */
    private NodeProto onlyConsumer(String tensor, String op) throws NoMatch {
      if (view.isGraphOutput(tensor)) {
        throw new NoMatch("'" + tensor + "' is a graph output");
      }
      List<NodeProto> readers = view.consumers(tensor).stream()
          .filter(n -> !n.getOpType().equals("Shape")).collect(Collectors.toList());
      if (readers.size() != 1 || (op != null && !is(readers.get(0), op))) {
        throw new NoMatch("'" + tensor + "' is not read by exactly one "
            + (op == null ? "node" : op));
      }
      return readers.get(0);
    }

    private NodeProto producerOf(String tensor, String op) throws NoMatch {
      NodeProto p = view.producer(tensor);
      if (!is(p, op)) {
        throw new NoMatch("'" + tensor + "' is not computed by " + op);
      }
      return p;
    }

    private static void requirePerm(NodeProto transpose, long[] perm) throws NoMatch {
      AttributeProto a = GraphView.attribute(transpose, "perm");
      if (a == null || a.getIntsCount() != perm.length) {
        throw new NoMatch("'" + transpose.getName() + "' has no perm of rank " + perm.length);
      }
      for (int i = 0; i < perm.length; i++) {
        if (a.getInts(i) != perm[i]) {
          throw new NoMatch("'" + transpose.getName() + "' transposes " + a.getIntsList());
        }
      }
    }

    /** A constant's value as a tensor: an initializer or a Constant node's value. */
    private TensorProto constant(String tensor) {
      TensorProto t = view.initializer(tensor);
      if (t != null) {
        return t;
      }
      NodeProto p = view.producer(tensor);
      if (is(p, "Constant")) {
        AttributeProto value = GraphView.attribute(p, "value");
        return value != null && value.hasT() ? value.getT() : null;
      }
      return null;
    }

    private Double constantScalar(String tensor) {
      TensorProto t = constant(tensor);
      if (t == null || t.getDataType() != TensorProto.DataType.FLOAT_VALUE
          || Tensors.elementCount(t) != 1) {
        return null;
      }
      return (double) Tensors.floats(t)[0];
    }

    private long[] constantInts(String tensor) {
      TensorProto t = constant(tensor);
      if (t == null || t.getDataType() != TensorProto.DataType.INT64_VALUE
          || t.getDimsCount() > 1) {
        return null;
      }
      if (t.getInt64DataCount() > 0) {
        return t.getInt64DataList().stream().mapToLong(Long::longValue).toArray();
      }
      ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
      long[] values = new long[raw.remaining() / 8];
      raw.asLongBuffer().get(values);
      return values;
    }

    /**
     * A Reshape target's entries: a constant, or a Concat of constants and run-time scalars (the
     * batch and sequence lengths exports read with Shape), which are null.
     */
    private List<Long> shapeEntries(String tensor) {
      List<Long> entries = new ArrayList<>();
      long[] constant = constantInts(tensor);
      if (constant != null) {
        for (long c : constant) {
          entries.add(c);
        }
        return entries;
      }
      NodeProto concat = view.producer(tensor);
      if (!is(concat, "Concat")) {
        return null;
      }
      for (String part : concat.getInputList()) {
        long[] c = constantInts(part);
        if (c != null) {
          for (long x : c) {
            entries.add(x);
          }
        } else if (is(view.producer(part), "Unsqueeze")) {
          entries.add(null); // one run-time dimension
        } else {
          return null;
        }
      }
      return entries;
    }

    private static boolean is(NodeProto node, String op) {
      return node != null && node.getOpType().equals(op)
          && OpsetUpgrade.isDefaultDomain(node.getDomain());
    }
  }

  /** The model with the block fused in {@code form}; null when it cannot be (see replace). */
  private static ModelProto rewrite(ModelProto model, GraphView view, Block b, Form form) {
    if (form == Form.MULTI_HEAD) {
      return rewriteMultiHead(model, view, b);
    }
    int h = (int) b.q().weight().getDims(1);
    int in = (int) b.q().weight().getDims(0);
    float[] weight = new float[in * 3 * h];
    float[] bias = new float[3 * h];
    Projection[] parts = {b.q(), b.k(), b.v()};
    for (int part = 0; part < 3; part++) {
      float[] w = Tensors.floats(parts[part].weight());
      for (int r = 0; r < in; r++) {
        System.arraycopy(w, r * h, weight, r * 3 * h + part * h, h);
      }
      System.arraycopy(Tensors.floats(parts[part].bias()), 0, bias, part * h, h);
    }
    String weightName = b.name() + "_qkv_weight";
    String biasName = b.name() + "_qkv_bias";
    List<NodeProto> added = new ArrayList<>();
    NodeProto.Builder attention = NodeProto.newBuilder().setName(b.name()).setOpType("Attention")
        .setDomain(DOMAIN).addInput(b.input()).addInput(weightName).addInput(biasName)
        .addOutput(b.output())
        .addAttribute(AttributeProto.newBuilder().setName("num_heads")
            .setType(AttributeProto.AttributeType.INT).setI(b.heads()));
    addScale(attention, b);
    String mask = maskInt32(view, b, added);
    if (mask != null) {
      attention.addInput(mask);
    }
    added.add(attention.build());
    return replace(model, view, b.nodes(), added, List.of(
        Tensors.floatTensor(weightName, new long[] {in, 3L * h}, weight),
        Tensors.floatTensor(biasName, new long[] {3L * h}, bias)));
  }

  /**
   * The block's nodes after its projections become MultiHeadAttention(q, k, v, , mask); the
   * projections stay for the MatMul rule.
   */
  private static ModelProto rewriteMultiHead(ModelProto model, GraphView view, Block b) {
    List<NodeProto> added = new ArrayList<>();
    NodeProto.Builder attention = NodeProto.newBuilder()
        .setName(b.name().substring(0, b.name().length() - "Attention".length())
            + "MultiHeadAttention")
        .setOpType("MultiHeadAttention").setDomain(DOMAIN)
        .addInput(b.q().add().getOutput(0)).addInput(b.k().add().getOutput(0))
        .addInput(b.v().add().getOutput(0)).addOutput(b.output())
        .addAttribute(AttributeProto.newBuilder().setName("num_heads")
            .setType(AttributeProto.AttributeType.INT).setI(b.heads()));
    addScale(attention, b);
    String mask = maskInt32(view, b, added);
    if (mask != null) {
      attention.addInput("").addInput(mask); // no bias input: the projections add theirs
    }
    added.add(attention.build());
    List<NodeProto> removed = new ArrayList<>(b.nodes());
    for (Projection p : List.of(b.q(), b.k(), b.v())) {
      removed.remove(p.matMul());
      removed.remove(p.add());
    }
    return replace(model, view, removed, added, List.of());
  }

  /** The kernels' default scale is 1 / sqrt(head size); written only when the export's differs. */
  private static void addScale(NodeProto.Builder attention, Block b) {
    double defaultScale = 1.0 / Math.sqrt(b.headSize());
    if (Math.abs(b.scale() - defaultScale) > 1e-6 * defaultScale) {
      attention.addAttribute(AttributeProto.newBuilder().setName("scale")
          .setType(AttributeProto.AttributeType.FLOAT).setF((float) b.scale()));
    }
  }

  /** The mask input cast to int32 (the Cast added once to {@code added}), or null without one. */
  private static String maskInt32(GraphView view, Block b, List<NodeProto> added) {
    if (b.maskInput() == null) {
      return null;
    }
    String mask = b.maskInput() + "_int32";
    if (view.producer(mask) == null) {
      added.add(NodeProto.newBuilder().setName(b.maskInput() + "_Cast_int32").setOpType("Cast")
          .addInput(b.maskInput()).addOutput(mask)
          .addAttribute(AttributeProto.newBuilder().setName("to")
              .setType(AttributeProto.AttributeType.INT)
              .setI(TensorProto.DataType.INT32_VALUE)).build());
    }
    return mask;
  }

  /**
   * The model with {@code blockNodes} replaced by {@code added} (at the place of the last of
   * them), new initializers added and what only the removed nodes needed removed; null when the
   * rest of the graph still reads a tensor that only they computed.
   */
  private static ModelProto replace(ModelProto model, GraphView view, List<NodeProto> blockNodes,
      List<NodeProto> added, List<TensorProto> newInitializers) {
    GraphProto g = model.getGraph();
    Set<NodeProto> removed = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    removed.addAll(blockNodes);
    NodeProto last = null;
    for (NodeProto n : g.getNodeList()) {
      if (removed.contains(n)) {
        last = n;
      }
    }
    List<NodeProto> nodes = new ArrayList<>();
    for (NodeProto n : g.getNodeList()) {
      if (n == last) {
        nodes.addAll(added);
      } else if (!removed.contains(n)) {
        nodes.add(n);
      }
    }
    nodes = live(nodes, g);
    Set<String> available = new HashSet<>(view.graphInputs());
    g.getInitializerList().forEach(t -> available.add(t.getName()));
    newInitializers.forEach(t -> available.add(t.getName()));
    Set<String> read = new HashSet<>();
    for (NodeProto n : nodes) {
      read.addAll(n.getInputList());
      available.addAll(n.getOutputList());
    }
    for (ValueInfoProto out : g.getOutputList()) {
      read.add(out.getName());
    }
    read.remove("");
    if (!available.containsAll(read)) {
      return null;
    }
    GraphProto.Builder graph = g.toBuilder().clearNode().addAllNode(nodes).clearInitializer();
    for (TensorProto t : g.getInitializerList()) {
      if (read.contains(t.getName())) {
        graph.addInitializer(t);
      }
    }
    graph.addAllInitializer(newInitializers);
    graph.clearInput().addAllInput(g.getInputList().stream()
        .filter(i -> view.graphInputs().contains(i.getName()) || read.contains(i.getName()))
        .collect(Collectors.toList()));
    graph.clearValueInfo().addAllValueInfo(g.getValueInfoList().stream()
        .filter(v -> available.contains(v.getName())).collect(Collectors.toList()));
    ModelProto.Builder result = model.toBuilder().setGraph(graph);
    if (model.getOpsetImportList().stream().noneMatch(o -> o.getDomain().equals(DOMAIN))) {
      result.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(DOMAIN).setVersion(1));
    }
    return result.build();
  }

  /** The nodes some graph output depends on, in their order (the block's shape nodes go). */
  private static List<NodeProto> live(List<NodeProto> nodes, GraphProto g) {
    java.util.Map<String, NodeProto> producers = new java.util.HashMap<>();
    for (NodeProto n : nodes) {
      n.getOutputList().forEach(o -> producers.put(o, n));
    }
    Set<NodeProto> live = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    java.util.ArrayDeque<String> pending = new java.util.ArrayDeque<>();
    g.getOutputList().forEach(o -> pending.add(o.getName()));
    while (!pending.isEmpty()) {
      NodeProto p = producers.get(pending.pop());
      if (p != null && live.add(p)) {
        p.getInputList().forEach(pending::add);
      }
    }
    return nodes.stream().filter(live::contains).collect(Collectors.toList());
  }
}
