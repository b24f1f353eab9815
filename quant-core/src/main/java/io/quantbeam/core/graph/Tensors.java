package io.quantbeam.core.graph;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import com.google.protobuf.ByteString;
import io.quantbeam.core.QuantbeamException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Reads and makes initializer tensors (raw little-endian data, as exporters write them). */
public final class Tensors {
  private Tensors() {}

  public static long elementCount(TensorProto t) {
    long n = 1;
    for (long d : t.getDimsList()) {
      n *= d;
    }
    return n;
  }

  public static float[] floats(TensorProto t) {
    if (t.getDataType() != DataType.FLOAT_VALUE) {
      throw new QuantbeamException("Tensor '" + t.getName() + "' is not float32");
    }
    long n = elementCount(t);
    if (n > Integer.MAX_VALUE) {
      throw new QuantbeamException("Tensor '" + t.getName() + "' has too many elements: " + n);
    }
    float[] out = new float[(int) n];
    if (!t.getRawData().isEmpty()) {
      if (t.getRawData().size() != n * 4) {
        throw new QuantbeamException("Tensor '" + t.getName() + "' holds " + t.getRawData().size()
            + " bytes for " + n + " floats: the model file is corrupt.");
      }
      t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    } else {
      if (t.getFloatDataCount() != n) {
        throw new QuantbeamException("Tensor '" + t.getName() + "' holds " + t.getFloatDataCount()
            + " floats for shape " + t.getDimsList() + " (external data not loaded?)");
      }
      for (int i = 0; i < n; i++) {
        out[i] = t.getFloatData(i);
      }
    }
    return out;
  }

  public static TensorProto floatTensor(String name, long[] dims, float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return make(name, DataType.FLOAT_VALUE, dims, b.array());
  }

  public static TensorProto int32Tensor(String name, long[] dims, int[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asIntBuffer().put(values);
    return make(name, DataType.INT32_VALUE, dims, b.array());
  }

  /** int8 or uint8 values given as ints in the type's range. */
  public static TensorProto byteTensor(String name, int onnxType, long[] dims, int[] values) {
    byte[] bytes = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      bytes[i] = (byte) values[i];
    }
    return make(name, onnxType, dims, bytes);
  }

  public static TensorProto int64Tensor(String name, long[] dims, long[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(values);
    return make(name, DataType.INT64_VALUE, dims, b.array());
  }

  private static TensorProto make(String name, int type, long[] dims, byte[] raw) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type);
    for (long d : dims) {
      t.addDims(d);
    }
    return t.setRawData(ByteString.copyFrom(raw)).build();
  }
}
