package io.quantbeam.core.model;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.graph.GraphView;
import io.quantbeam.core.graph.Tensors;
import io.quantbeam.core.onnx.OpsetUpgrade;

/**
 * Appends a sentence classifier to a BERT-style encoder: attention-mask-weighted mean pooling of
 * {@code last_hidden_state}, L2 normalisation (the all-MiniLM recipe, as in
 * {@code SentenceEmbedder}), then a linear layer to {@code logits} [batch, 2]. The result maps
 * (input_ids, attention_mask, token_type_ids) to logits in one ONNX file.
 */
public final class ClassifierHead {
  public static final String LOGITS = "logits";
  private static final String P = "/classifier/";

  private ClassifierHead() {}

  /** A binary head from a logistic regression: logits = [0, w . x + b]. */
  public static ModelProto append(ModelProto encoder, String hiddenOutput, String maskInput,
      LogisticRegression.Model head) {
    ModelProto m = OpsetUpgrade.upgrade(encoder, 13); // axes as inputs below
    GraphView view = new GraphView(m.getGraph());
    if (!view.isGraphOutput(hiddenOutput) || !view.isGraphInput(maskInput)) {
      throw new QuantbeamException("The encoder needs output '" + hiddenOutput + "' and input '"
          + maskInput + "' to take a classifier head; it has outputs " + view.graphOutputs()
          + " and inputs " + view.graphInputs());
    }
    int hidden = head.weights().length;
    float[] w = new float[hidden * 2];
    for (int i = 0; i < hidden; i++) {
      w[i * 2 + 1] = (float) head.weights()[i];
    }
    GraphProto.Builder g = m.getGraph().toBuilder();
    g.addInitializer(Tensors.int64Tensor(P + "axis1", new long[] {1}, new long[] {1}));
    g.addInitializer(Tensors.int64Tensor(P + "axis2", new long[] {1}, new long[] {2}));
    g.addInitializer(Tensors.floatTensor(P + "eps", new long[0], new float[] {1e-9f}));
    g.addInitializer(Tensors.floatTensor(P + "tiny", new long[0], new float[] {1e-12f}));
    g.addInitializer(Tensors.floatTensor("classifier.weight", new long[] {hidden, 2}, w));
    g.addInitializer(Tensors.floatTensor("classifier.bias", new long[] {2},
        new float[] {0f, (float) head.bias()}));
    node(g, "Cast", "Cast", new String[] {maskInput}, "mask_float",
        AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT)
            .setI(DataType.FLOAT_VALUE).build());
    node(g, "Unsqueeze", "Unsqueeze", new String[] {P + "mask_float", P + "axis2"}, "mask3");
    node(g, "Mul", "MaskMul", new String[] {hiddenOutput, P + "mask3"}, "masked");
    node(g, "ReduceSum", "SumTokens", new String[] {P + "masked", P + "axis1"}, "summed",
        keepDims(0));
    node(g, "ReduceSum", "CountTokens", new String[] {P + "mask3", P + "axis1"}, "count",
        keepDims(0));
    node(g, "Max", "ClampCount", new String[] {P + "count", P + "eps"}, "count_clamped");
    node(g, "Div", "MeanPool", new String[] {P + "summed", P + "count_clamped"}, "pooled");
    node(g, "Mul", "Square", new String[] {P + "pooled", P + "pooled"}, "squared");
    node(g, "ReduceSum", "SumSquares", new String[] {P + "squared", P + "axis1"}, "sum_squares",
        keepDims(1));
    node(g, "Sqrt", "Norm", new String[] {P + "sum_squares"}, "norm");
    node(g, "Max", "ClampNorm", new String[] {P + "norm", P + "tiny"}, "norm_clamped");
    node(g, "Div", "Normalize", new String[] {P + "pooled", P + "norm_clamped"}, "embedding");
    node(g, "MatMul", "MatMul", new String[] {P + "embedding", "classifier.weight"}, "scores");
    g.addNode(NodeProto.newBuilder().setName(P + "Add").setOpType("Add")
        .addInput(P + "scores").addInput("classifier.bias").addOutput(LOGITS));
    g.clearOutput().addOutput(ValueInfoProto.newBuilder().setName(LOGITS).setType(
        TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
            .setElemType(DataType.FLOAT_VALUE)
            .setShape(TensorShapeProto.newBuilder()
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch_size"))
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(2))))));
    return m.toBuilder().setGraph(g).build();
  }

  private static AttributeProto keepDims(int value) {
    return AttributeProto.newBuilder().setName("keepdims").setType(AttributeProto.AttributeType.INT)
        .setI(value).build();
  }

  private static void node(GraphProto.Builder g, String op, String name, String[] inputs,
      String output, AttributeProto... attributes) {
    NodeProto.Builder n = NodeProto.newBuilder().setName(P + name).setOpType(op)
        .addOutput(P + output);
    for (String in : inputs) {
      n.addInput(in);
    }
    for (AttributeProto a : attributes) {
      n.addAttribute(a);
    }
    g.addNode(n);
  }
}
