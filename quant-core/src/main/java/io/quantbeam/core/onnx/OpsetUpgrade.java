package io.quantbeam.core.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import io.quantbeam.core.QuantbeamException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Upgrades the default-domain ("" / "ai.onnx") opset of a model from 11 or 12 to 12 or 13.
 *
 * <p>Quantbeam writes per-channel {@code DequantizeLinear} (its {@code axis} attribute exists from
 * opset 13 on), so models exported at opset 11/12 (most BERT exports) are upgraded first. The
 * conversion rewrites exactly the operators whose meaning changed in that range and refuses any
 * model it cannot convert faithfully; it never changes what the model computes.
 *
 * <p>What changes:
 *
 * <ul>
 *   <li>11 -> 12, {@code Dropout}: the {@code ratio} attribute becomes the float scalar input
 *       {@code ratio}. The node is kept (it is the identity at inference; ONNX Runtime removes it).
 *   <li>-> 13, {@code Unsqueeze} (axes required), {@code Squeeze} and {@code ReduceSum} (axes
 *       optional): the {@code axes} attribute becomes an int64 initializer input; without the
 *       attribute the node keeps no axes input (same meaning: squeeze all 1-dims / reduce all).
 *   <li>-> 13, {@code Split}: the {@code split} attribute becomes an int64 initializer input.
 *   <li>-> 13, {@code Softmax}, {@code LogSoftmax}, {@code Hardmax}: up to opset 12 they flatten
 *       the input to 2-D at {@code axis} (default 1); from 13 they work along one axis. Both agree
 *       only when the axis is the last one, so the node is kept (with its axis written explicitly)
 *       when the axis is -1 or equals rank-1, the rank coming from declared shapes or a small
 *       rank propagation; any other node is refused, named in the error.
 * </ul>
 *
 * <p>All other operators of opsets 11-12 changed only in the types they accept (bfloat16,
 * integers) or gained attributes whose defaults keep the old behaviour (ArgMax
 * {@code select_last_index}, GatherND {@code batch_dims}, Constant {@code value_*}; Clip-12/13
 * and Pad-13 only widen types; Resize-13 only makes roi/scales optional), and are left as they
 * are. Operators this class does not know (including the deprecated
 * Upsample and Scatter) are refused, listed in the error. Subgraphs of If/Loop/Scan are converted
 * too. The IR version is raised to at least 7. Initializers added for axes/split/ratio are shared
 * by value and named {@code opset_upgrade/...}.
 *
 * <p>A model whose default opset is already at or above the target is returned unchanged:
 * this class never lowers an opset.
 */
public final class OpsetUpgrade {
  /** Highest target opset this class converts to. */
  public static final int MAX_TARGET = 13;
  /** Lowest source opset this class converts from. */
  public static final int MIN_SOURCE = 11;

  private OpsetUpgrade() {}

  /** Version of the default-domain opset the model imports, or -1 when it imports none. */
  public static int defaultOpset(ModelProto m) {
    int v = -1;
    for (OperatorSetIdProto o : m.getOpsetImportList()) {
      if (isDefaultDomain(o.getDomain())) {
        v = Math.max(v, (int) o.getVersion());
      }
    }
    return v;
  }

  /**
   * Returns {@code m} converted so that its default-domain opset is {@code targetOpset}, or
   * {@code m} itself when its opset is already {@code >= targetOpset}.
   *
   * @throws QuantbeamException for an unsupported target or source opset, or a model that uses an
   *     operator whose meaning changed and which cannot be converted (all such nodes are listed)
   */
  public static ModelProto upgrade(ModelProto m, int targetOpset) {
    int from = defaultOpset(m);
    if (from < 0) {
      throw new QuantbeamException("Model has no opset_import for the default ONNX domain, so its operator"
          + " versions are unknown: re-export it, or add opset_import { domain: \"\" version: N }");
    }
    if (targetOpset > MAX_TARGET || targetOpset < 1) {
      throw new QuantbeamException("Opset upgrade to " + targetOpset + " is not supported: targets up to "
          + MAX_TARGET + " are (the model is at opset " + from + "). Re-export the model at opset " + targetOpset
          + " from its framework instead");
    }
    if (from >= targetOpset) {
      return m;
    }
    if (from < MIN_SOURCE) {
      throw new QuantbeamException("Model is at opset " + from + "; upgrading is supported from opset "
          + MIN_SOURCE + " or 12 only. Re-export it at opset " + targetOpset
          + " (e.g. torch.onnx.export(..., opset_version=" + targetOpset + "))");
    }
    if (m.getFunctionsCount() > 0) {
      throw new QuantbeamException("Model defines " + m.getFunctionsCount() + " model-local function(s) ("
          + m.getFunctionsList().stream().map(f -> f.getName()).collect(Collectors.joining(", "))
          + "), which opset upgrade does not convert: export the model with functions inlined at opset "
          + targetOpset);
    }
    Upgrader u = new Upgrader(m, from, targetOpset);
    GraphProto main = u.convertGraph(m.getGraph(), Map.of(), "main graph");
    if (!u.problems.isEmpty()) {
      throw new QuantbeamException("Cannot upgrade model '" + m.getGraph().getName() + "' from opset " + from
          + " to " + targetOpset + ": " + String.join("; ", u.problems)
          + ". Fix: re-export the model from its framework at opset " + targetOpset
          + " (e.g. torch.onnx.export(..., opset_version=" + targetOpset + "))");
    }
    GraphProto.Builder gb = main.toBuilder();
    gb.addAllInitializer(u.added.values());
    ModelProto.Builder mb = m.toBuilder().setGraph(gb.build());
    mb.clearOpsetImport();
    boolean set = false;
    for (OperatorSetIdProto o : m.getOpsetImportList()) {
      if (isDefaultDomain(o.getDomain())) {
        if (!set) {
          mb.addOpsetImport(o.toBuilder().setVersion(targetOpset));
          set = true;
        }
      } else {
        mb.addOpsetImport(o);
      }
    }
    if (mb.getIrVersion() < 7) {
      mb.setIrVersion(7);
    }
    return mb.build();
  }

  public static boolean isDefaultDomain(String domain) {
    return domain.isEmpty() || domain.equals("ai.onnx");
  }

  /** Default-domain operators of opsets 1-12 whose meaning does not change from 11/12 to 13. */
  static final Set<String> UNCHANGED = Set.of(
      "Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh",
      "AveragePool", "BatchNormalization", "BitShift", "Cast", "Ceil", "Celu", "Clip", "Compress",
      "Concat", "ConcatFromSequence", "Constant", "ConstantOfShape", "Conv", "ConvInteger",
      "ConvTranspose", "Cos", "Cosh", "CumSum", "DepthToSpace", "DequantizeLinear", "Det", "Div",
      "DynamicQuantizeLinear", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand", "EyeLike",
      "Flatten", "Floor", "GRU", "Gather", "GatherElements", "GatherND", "Gemm", "GlobalAveragePool",
      "GlobalLpPool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "HardSigmoid", "Identity", "If",
      "InstanceNormalization", "IsInf", "IsNaN", "LRN", "LSTM", "LeakyRelu", "Less", "LessOrEqual",
      "Log", "Loop", "LpNormalization", "LpPool", "MatMul", "MatMulInteger", "Max", "MaxPool",
      "MaxRoiPool", "MaxUnpool", "Mean", "MeanVarianceNormalization", "Min", "Mod", "Mul",
      "Multinomial", "Neg", "NegativeLogLikelihoodLoss", "NonMaxSuppression", "NonZero", "Not",
      "OneHot", "Or", "PRelu", "Pad", "Pow", "QLinearConv", "QLinearMatMul", "QuantizeLinear", "RNN",
      "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Range",
      "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
      "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare", "Relu", "Reshape",
      "Resize", "ReverseSequence", "RoiAlign", "Round", "Scan", "ScatterElements", "ScatterND", "Selu",
      "SequenceAt", "SequenceConstruct", "SequenceEmpty", "SequenceErase", "SequenceInsert",
      "SequenceLength", "Shape", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Size", "Slice",
      "SoftmaxCrossEntropyLoss", "Softplus", "Softsign", "SpaceToDepth", "SplitToSequence", "Sqrt",
      "StringNormalizer", "Sub", "Sum", "Tan", "Tanh", "TfIdfVectorizer", "ThresholdedRelu", "Tile",
      "TopK", "Transpose", "Unique", "Where", "Xor");

  /** Operators this class rewrites or checks. */
  static final Set<String> HANDLED = Set.of(
      "Unsqueeze", "Squeeze", "ReduceSum", "Split", "Dropout", "Softmax", "LogSoftmax", "Hardmax");

  private static final class Upgrader {
    final int from;
    final int to;
    final List<String> problems = new ArrayList<>();
    /** Added initializers by their value key, in creation order. */
    final Map<String, TensorProto> added = new LinkedHashMap<>();
    final Map<String, String> nameByKey = new HashMap<>();
    final Set<String> usedNames = new HashSet<>();

    Upgrader(ModelProto m, int from, int to) {
      this.from = from;
      this.to = to;
      collectNames(m.getGraph(), usedNames);
    }

    GraphProto convertGraph(GraphProto g, Map<String, Ranks.Info> outer, String where) {
      Ranks ranks = null; // computed only when a Softmax-like node needs it
      GraphProto.Builder gb = g.toBuilder();
      for (int i = 0; i < gb.getNodeCount(); i++) {
        NodeProto n = gb.getNode(i);
        NodeProto.Builder nb = n.toBuilder();
        // subgraphs first
        boolean hasSub = false;
        for (int j = 0; j < nb.getAttributeCount(); j++) {
          AttributeProto a = nb.getAttribute(j);
          if (a.hasG() || a.getGraphsCount() > 0) {
            if (ranks == null) {
              ranks = new Ranks(g, outer);
            }
            Map<String, Ranks.Info> scope = ranks.all();
            String subWhere = "subgraph '" + a.getName() + "' of node " + describe(n);
            AttributeProto.Builder ab = a.toBuilder();
            if (a.hasG()) {
              ab.setG(convertGraph(a.getG(), scope, subWhere));
            }
            for (int k = 0; k < a.getGraphsCount(); k++) {
              ab.setGraphs(k, convertGraph(a.getGraphs(k), scope, subWhere));
            }
            nb.setAttribute(j, ab.build());
            hasSub = true;
          }
        }
        if (!isDefaultDomain(n.getDomain())) {
          if (hasSub) {
            gb.setNode(i, nb.build());
          }
          continue;
        }
        String op = n.getOpType();
        if (UNCHANGED.contains(op)) {
          if (hasSub) {
            gb.setNode(i, nb.build());
          }
          continue;
        }
        if (!HANDLED.contains(op)) {
          problems.add("operator " + op + " (node " + describe(n) + " in the " + where + ") is unknown to the"
              + " opset " + from + " -> " + to + " upgrade (deprecated, misspelled or newer than opset " + from + ")");
          continue;
        }
        if (to >= 13) {
          switch (op) {
            case "Unsqueeze" -> {
              if (!moveIntsToInput(nb, "axes", 1)) {
                problems.add("Unsqueeze node " + describe(n) + " in the " + where + " has no axes attribute,"
                    + " which Unsqueeze-" + from + " requires: the model is invalid");
              }
            }
            case "Squeeze", "ReduceSum" -> moveIntsToInput(nb, "axes", 1);
            case "Split" -> moveIntsToInput(nb, "split", 1);
            case "Softmax", "LogSoftmax", "Hardmax" -> {
              if (ranks == null) {
                ranks = new Ranks(g, outer);
              }
              checkLastAxis(nb, n, ranks, where);
            }
            default -> {
              // Dropout is handled below
            }
          }
        }
        if (op.equals("Dropout") && from < 12 && to >= 12) {
          convertDropout(nb);
        }
        gb.setNode(i, nb.build());
      }
      return gb.build();
    }

    /** Moves INTS attribute {@code name} into input slot {@code slot}; false when it is absent. */
    private boolean moveIntsToInput(NodeProto.Builder nb, String name, int slot) {
      for (int j = 0; j < nb.getAttributeCount(); j++) {
        AttributeProto a = nb.getAttribute(j);
        if (a.getName().equals(name)) {
          String tensor = int64Initializer(name, a.getIntsList());
          nb.removeAttribute(j);
          while (nb.getInputCount() < slot) {
            nb.addInput("");
          }
          if (nb.getInputCount() == slot) {
            nb.addInput(tensor);
          } else {
            nb.setInput(slot, tensor);
          }
          return true;
        }
      }
      return false;
    }

    private void convertDropout(NodeProto.Builder nb) {
      float ratio = 0.5f;
      for (int j = 0; j < nb.getAttributeCount(); j++) {
        AttributeProto a = nb.getAttribute(j);
        if (a.getName().equals("ratio")) {
          ratio = a.getF();
          nb.removeAttribute(j);
          j--;
        }
      }
      final float r = ratio;
      String key = "dropout_ratio/" + Float.floatToIntBits(r);
      String name = nameByKey.computeIfAbsent(key, k -> {
        String base = unique("opset_upgrade/dropout_ratio_" + Float.toString(r));
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(r);
        added.put(k, TensorProto.newBuilder().setName(base).setDataType(TensorProto.DataType.FLOAT_VALUE)
            .setRawData(ByteString.copyFrom(b.array())).build());
        return base;
      });
      if (nb.getInputCount() < 2) {
        nb.addInput(name);
      } else {
        nb.setInput(1, name);
      }
    }

    private void checkLastAxis(NodeProto.Builder nb, NodeProto n, Ranks ranks, String where) {
      long axis = 1; // default up to opset 12
      int attrIndex = -1;
      for (int j = 0; j < nb.getAttributeCount(); j++) {
        if (nb.getAttribute(j).getName().equals("axis")) {
          axis = nb.getAttribute(j).getI();
          attrIndex = j;
        }
      }
      if (axis != -1) {
        int rank = n.getInputCount() > 0 ? ranks.rank(n.getInput(0)) : -1;
        if (rank < 0) {
          problems.add(n.getOpType() + " node " + describe(n) + " in the " + where + " uses axis " + axis
              + " on an input of unknown rank; up to opset 12 this flattens to 2-D at the axis, from 13 it"
              + " works along one axis, and the two agree only on the last axis. Use axis=-1 or declare the"
              + " input's shape in value_info");
          return;
        }
        if (axis != rank - 1) {
          problems.add(n.getOpType() + " node " + describe(n) + " in the " + where + " uses axis " + axis
              + " on a rank-" + rank + " input, not the last axis; up to opset 12 that flattens the trailing"
              + " dimensions to 2-D, which opset 13's single-axis " + n.getOpType() + " does not do");
          return;
        }
      }
      AttributeProto explicit = AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT)
          .setI(axis).build();
      if (attrIndex >= 0) {
        nb.setAttribute(attrIndex, explicit);
      } else {
        nb.addAttribute(explicit);
      }
    }

    private String int64Initializer(String what, List<Long> values) {
      String key = what + "/" + values;
      return nameByKey.computeIfAbsent(key, k -> {
        String suffix = values.stream().map(v -> v < 0 ? "m" + (-v) : Long.toString(v))
            .collect(Collectors.joining("_"));
        String name = unique("opset_upgrade/" + what + (suffix.isEmpty() ? "_empty" : "_" + suffix));
        ByteBuffer b = ByteBuffer.allocate(8 * values.size()).order(ByteOrder.LITTLE_ENDIAN);
        values.forEach(b::putLong);
        added.put(k, TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
            .addDims(values.size()).setRawData(ByteString.copyFrom(b.array())).build());
        return name;
      });
    }

    private String unique(String base) {
      String name = base;
      for (int i = 1; usedNames.contains(name); i++) {
        name = base + "__" + i;
      }
      usedNames.add(name);
      return name;
    }
  }

  static String describe(NodeProto n) {
    return n.getName().isEmpty() ? "(unnamed " + n.getOpType() + " producing " + n.getOutputList() + ")"
        : "'" + n.getName() + "'";
  }

  private static void collectNames(GraphProto g, Set<String> names) {
    g.getInputList().forEach(v -> names.add(v.getName()));
    g.getOutputList().forEach(v -> names.add(v.getName()));
    g.getValueInfoList().forEach(v -> names.add(v.getName()));
    g.getInitializerList().forEach(t -> names.add(t.getName()));
    for (NodeProto n : g.getNodeList()) {
      names.addAll(n.getInputList());
      names.addAll(n.getOutputList());
      for (AttributeProto a : n.getAttributeList()) {
        if (a.hasG()) {
          collectNames(a.getG(), names);
        }
        for (GraphProto sub : a.getGraphsList()) {
          collectNames(sub, names);
        }
      }
    }
  }

  /**
   * Tensor ranks (and, for 1-D tensors, static lengths) from declared shapes, initializers,
   * Constant nodes and a propagation over the ops of transformer graphs. Unknown is -1.
   */
  static final class Ranks {
    record Info(int rank, long length) {
      static final Info UNKNOWN = new Info(-1, -1);
    }

    private final Map<String, Info> info = new HashMap<>();

    Ranks(GraphProto g, Map<String, Info> outer) {
      info.putAll(outer);
      for (ValueInfoProto v : g.getInputList()) {
        declare(v);
      }
      for (ValueInfoProto v : g.getValueInfoList()) {
        declare(v);
      }
      for (ValueInfoProto v : g.getOutputList()) {
        declare(v);
      }
      for (TensorProto t : g.getInitializerList()) {
        info.put(t.getName(), fromDims(t.getDimsList()));
      }
      for (NodeProto n : g.getNodeList()) {
        if (n.getOutputCount() == 0 || !isDefaultDomain(n.getDomain())) {
          continue;
        }
        // Split: every output has the input's rank; other ops: output 0 only
        int outputs = n.getOpType().equals("Split") ? n.getOutputCount() : 1;
        Info inferred = null;
        for (int o = 0; o < outputs; o++) {
          String out = n.getOutput(o);
          Info known = info.get(out);
          if (out.isEmpty() || (known != null && known.rank >= 0 && (known.rank != 1 || known.length >= 0))) {
            continue;
          }
          if (inferred == null) {
            inferred = infer(n);
            if (n.getOpType().equals("Split")) {
              inferred = new Info(inferred.rank, -1);
            }
          }
          if (inferred.rank >= 0) {
            info.put(out, inferred);
          }
        }
      }
    }

    Map<String, Info> all() {
      return Map.copyOf(info);
    }

    int rank(String name) {
      Info i = info.get(name);
      return i == null ? -1 : i.rank;
    }

    private Info get(NodeProto n, int input) {
      if (input >= n.getInputCount() || n.getInput(input).isEmpty()) {
        return Info.UNKNOWN;
      }
      return info.getOrDefault(n.getInput(input), Info.UNKNOWN);
    }

    private void declare(ValueInfoProto v) {
      TypeProto t = v.getType();
      if (t.hasTensorType() && t.getTensorType().hasShape()) {
        TensorShapeProto s = t.getTensorType().getShape();
        long len = s.getDimCount() == 1 && s.getDim(0).hasDimValue() ? s.getDim(0).getDimValue() : -1;
        info.put(v.getName(), new Info(s.getDimCount(), len));
      }
    }

    private static Info fromDims(List<Long> dims) {
      return new Info(dims.size(), dims.size() == 1 ? dims.get(0) : -1);
    }

    private static List<Long> ints(NodeProto n, String name) {
      for (AttributeProto a : n.getAttributeList()) {
        if (a.getName().equals(name)) {
          return a.getIntsList();
        }
      }
      return null;
    }

    private static Long intAttr(NodeProto n, String name) {
      for (AttributeProto a : n.getAttributeList()) {
        if (a.getName().equals(name)) {
          return a.getI();
        }
      }
      return null;
    }

    private Info infer(NodeProto n) {
      Info a = get(n, 0);
      switch (n.getOpType()) {
        case "Constant": {
          for (AttributeProto at : n.getAttributeList()) {
            switch (at.getName()) {
              case "value":
                return fromDims(at.getT().getDimsList());
              case "value_float", "value_int", "value_string":
                return new Info(0, -1);
              case "value_floats":
                return new Info(1, at.getFloatsCount());
              case "value_ints":
                return new Info(1, at.getIntsCount());
              case "value_strings":
                return new Info(1, at.getStringsCount());
              default:
                break;
            }
          }
          return Info.UNKNOWN;
        }
        case "Shape":
          return new Info(1, a.rank);
        case "Size":
          return new Info(0, -1);
        case "Range":
          return new Info(1, -1);
        case "Cast", "Identity", "Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs",
            "Reciprocal", "Softmax", "LogSoftmax", "Hardmax", "Dropout", "Not", "Floor", "Ceil", "Round",
            "Sign", "Softplus", "Clip", "LeakyRelu", "Elu", "Selu", "Gelu", "IsNaN", "IsInf",
            "LayerNormalization", "Slice", "Tile", "CumSum", "Split", "DequantizeLinear", "QuantizeLinear",
            "ScatterElements", "ScatterND", "GatherElements", "Pad", "BatchNormalization":
          return a;
        case "Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
            "And", "Or", "Xor", "Mod", "Max", "Min", "Sum", "Mean", "Where", "PRelu": {
          int rank = -1;
          long len = -1;
          boolean lengthsKnown = true;
          for (int i = 0; i < n.getInputCount(); i++) {
            Info x = get(n, i);
            if (x.rank < 0) {
              return Info.UNKNOWN;
            }
            rank = Math.max(rank, x.rank);
          }
          if (rank == 1) {
            for (int i = 0; i < n.getInputCount(); i++) {
              Info x = get(n, i);
              if (x.rank == 1) {
                if (x.length < 0) {
                  lengthsKnown = false;
                } else if (x.length != 1) {
                  len = x.length;
                }
              }
            }
            if (len < 0 && lengthsKnown) {
              len = 1;
            }
          }
          return new Info(rank, lengthsKnown ? len : -1);
        }
        case "MatMul", "MatMulInteger", "QLinearMatMul": {
          Info b = get(n, n.getOpType().equals("QLinearMatMul") ? 3 : 1);
          if (n.getOpType().equals("QLinearMatMul")) {
            a = get(n, 0);
          }
          if (a.rank < 1 || b.rank < 1) {
            return Info.UNKNOWN;
          }
          int r = Math.max(a.rank, b.rank);
          if (a.rank == 1 || b.rank == 1) {
            r = r - 1;
          }
          return new Info(r, -1);
        }
        case "Gemm":
          return new Info(2, -1);
        case "Transpose": {
          List<Long> perm = ints(n, "perm");
          return perm != null && !perm.isEmpty() ? new Info(perm.size(), -1) : a;
        }
        case "Reshape": {
          Info shape = get(n, 1);
          return shape.rank == 1 && shape.length >= 0 ? new Info((int) shape.length, -1) : Info.UNKNOWN;
        }
        case "Expand": {
          Info shape = get(n, 1);
          return shape.rank == 1 && shape.length >= 0 && a.rank >= 0
              ? new Info((int) Math.max(shape.length, a.rank), -1) : Info.UNKNOWN;
        }
        case "ConstantOfShape": {
          Info shape = get(n, 0);
          return shape.rank == 1 && shape.length >= 0 ? new Info((int) shape.length, -1) : Info.UNKNOWN;
        }
        case "Unsqueeze": {
          List<Long> axes = ints(n, "axes");
          long count = axes != null ? axes.size() : get(n, 1).length;
          if (a.rank < 0 || count < 0) {
            return Info.UNKNOWN;
          }
          int r = a.rank + (int) count;
          return new Info(r, r == 1 ? 1 : -1);
        }
        case "Squeeze": {
          List<Long> axes = ints(n, "axes");
          long count = axes != null ? axes.size() : (n.getInputCount() > 1 ? get(n, 1).length : -1);
          return a.rank >= 0 && count >= 0 ? new Info(a.rank - (int) count, -1) : Info.UNKNOWN;
        }
        case "Concat": {
          if (a.rank != 1) {
            return a.rank >= 0 ? new Info(a.rank, -1) : Info.UNKNOWN;
          }
          long len = 0;
          for (int i = 0; i < n.getInputCount(); i++) {
            Info x = get(n, i);
            if (x.length < 0) {
              return new Info(1, -1);
            }
            len += x.length;
          }
          return new Info(1, len);
        }
        case "Gather": {
          Info idx = get(n, 1);
          if (a.rank < 0 || idx.rank < 0) {
            return Info.UNKNOWN;
          }
          int r = a.rank - 1 + idx.rank;
          return new Info(r, r == 1 && a.rank == 1 ? idx.length : -1);
        }
        case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
            "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin": {
          Long keep = intAttr(n, "keepdims");
          if (a.rank < 0) {
            return Info.UNKNOWN;
          }
          if (keep == null || keep != 0) {
            return new Info(a.rank, -1);
          }
          if (n.getOpType().startsWith("Arg")) {
            return new Info(a.rank - 1, -1);
          }
          List<Long> axes = ints(n, "axes");
          if (axes == null) {
            return n.getInputCount() > 1 ? Info.UNKNOWN : new Info(0, -1);
          }
          return new Info(a.rank - axes.size(), -1);
        }
        case "Flatten":
          return new Info(2, -1);
        default:
          return Info.UNKNOWN;
      }
    }
  }

  /** Op types (with domain when not default) used in a model, main graph and subgraphs, sorted. */
  public static Set<String> opTypes(ModelProto m) {
    Set<String> out = new TreeSet<>();
    collectOps(m.getGraph(), out);
    return out;
  }

  private static void collectOps(GraphProto g, Set<String> out) {
    for (NodeProto n : g.getNodeList()) {
      out.add(isDefaultDomain(n.getDomain()) ? n.getOpType() : n.getDomain() + ":" + n.getOpType());
      for (AttributeProto a : n.getAttributeList()) {
        if (a.hasG()) {
          collectOps(a.getG(), out);
        }
        for (GraphProto sub : a.getGraphsList()) {
          collectOps(sub, out);
        }
      }
    }
  }
}
