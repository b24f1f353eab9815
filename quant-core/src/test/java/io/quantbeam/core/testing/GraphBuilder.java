package io.quantbeam.core.testing;

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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * A small helper to write ONNX graphs by hand in tests: nodes with attributes, float/int64
 * initializers, Constant nodes and typed inputs/outputs with fixed or symbolic dims.
 */
public final class GraphBuilder {
  private final GraphProto.Builder graph = GraphProto.newBuilder();

  public GraphBuilder(String name) {
    graph.setName(name);
  }

  /** Declares a graph input; dims are Long (fixed) or String (symbolic). */
  public GraphBuilder input(String name, int elemType, Object... dims) {
    graph.addInput(valueInfo(name, elemType, dims));
    return this;
  }

  /** Declares a graph input of unknown shape (not even its rank). */
  public GraphBuilder inputNoShape(String name, int elemType) {
    graph.addInput(ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType))));
    return this;
  }

  /** Declares a graph output; dims are Long/Integer (fixed) or String (symbolic). */
  public GraphBuilder output(String name, int elemType, Object... dims) {
    graph.addOutput(valueInfo(name, elemType, dims));
    return this;
  }

  /** Declares a graph output without a shape. */
  public GraphBuilder outputNoShape(String name, int elemType) {
    graph.addOutput(ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType))));
    return this;
  }

  public static ValueInfoProto valueInfo(String name, int elemType, Object... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (Object d : dims) {
      if (d instanceof String s) {
        shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(s));
      } else {
        shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(((Number) d).longValue()));
      }
    }
    return ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(
            TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)))
        .build();
  }

  public GraphBuilder floatInit(String name, float[] data, long... dims) {
    graph.addInitializer(floatTensor(name, data, dims));
    return this;
  }

  public GraphBuilder int64Init(String name, long[] data, long... dims) {
    graph.addInitializer(int64Tensor(name, data, dims));
    return this;
  }

  public static TensorProto floatTensor(String name, float[] data, long... dims) {
    ByteBuffer b = ByteBuffer.allocate(4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : data) {
      b.putFloat(f);
    }
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
        .setRawData(ByteString.copyFrom(b.array()));
    for (long d : dims) {
      t.addDims(d);
    }
    return t.build();
  }

  public static TensorProto int64Tensor(String name, long[] data, long... dims) {
    ByteBuffer b = ByteBuffer.allocate(8 * data.length).order(ByteOrder.LITTLE_ENDIAN);
    for (long v : data) {
      b.putLong(v);
    }
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
        .setRawData(ByteString.copyFrom(b.array()));
    for (long d : dims) {
      t.addDims(d);
    }
    return t.build();
  }

  /** A Constant node named {@code name} whose output is {@code name + "_output_0"}; returns the output. */
  public String constant(String name, TensorProto value) {
    String out = name + "_output_0";
    graph.addNode(NodeProto.newBuilder().setName(name).setOpType("Constant").addOutput(out)
        .addAttribute(AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR)
            .setT(value.toBuilder().clearName()))
        .build());
    return out;
  }

  public String constantScalar(String name, float v) {
    return constant(name, floatTensor("", new float[] {v}));
  }

  public String constantInt64(String name, long[] v, long... dims) {
    return constant(name, int64Tensor("", v, dims));
  }

  /** Adds a node with one output named {@code name + "_output_0"}; returns that output name. */
  public String node(String op, String name, List<String> inputs, AttributeProto... attrs) {
    String out = name + "_output_0";
    node(op, name, inputs, List.of(out), attrs);
    return out;
  }

  public GraphBuilder node(String op, String name, List<String> inputs, List<String> outputs,
      AttributeProto... attrs) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addAllOutput(outputs);
    for (AttributeProto a : attrs) {
      n.addAttribute(a);
    }
    graph.addNode(n);
    return this;
  }

  /**
   * Adds a node of ONNX Runtime's contrib domain ({@code com.microsoft}) with one output named
   * {@code name + "_output_0"}; the model must import that domain (see {@link #CONTRIB_DOMAIN}).
   */
  public String contribNode(String op, String name, List<String> inputs, AttributeProto... attrs) {
    String out = name + "_output_0";
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setDomain(CONTRIB_DOMAIN).setName(name)
        .addAllInput(inputs).addOutput(out);
    for (AttributeProto a : attrs) {
      n.addAttribute(a);
    }
    graph.addNode(n);
    return out;
  }

  /** ONNX Runtime's contrib operators (Attention, SkipLayerNormalization, BiasGelu, ...). */
  public static final String CONTRIB_DOMAIN = "com.microsoft";

  public static AttributeProto ints(String name, long... v) {
    AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
    for (long x : v) {
      a.addInts(x);
    }
    return a.build();
  }

  public static AttributeProto intAttr(String name, long v) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
  }

  public static AttributeProto floatAttr(String name, float v) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
  }

  public static AttributeProto stringAttr(String name, String v) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING)
        .setS(ByteString.copyFromUtf8(v)).build();
  }

  public GraphProto.Builder graph() {
    return graph;
  }

  /** A model with IR version 7 importing the default domain at {@code opset}. */
  public ModelProto model(int opset) {
    return ModelProto.newBuilder()
        .setIrVersion(7)
        .setProducerName("quantbeam-tests")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
        .setGraph(graph.build())
        .build();
  }
}
