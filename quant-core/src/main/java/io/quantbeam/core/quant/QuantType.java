package io.quantbeam.core.quant;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import com.fasterxml.jackson.annotation.JsonCreator;
import io.quantbeam.core.EnumNames;

/** Integer types of quantized tensors, with the reference tool's full, symmetric and reduced ranges. */
public enum QuantType {
  INT8(DataType.INT8_VALUE, -128, 127, -127, 127, -64, 64),
  UINT8(DataType.UINT8_VALUE, 0, 255, 0, 254, 0, 127),
  INT16(DataType.INT16_VALUE, -32768, 32767, -32767, 32767, -16384, 16384);

  private final int onnxType;
  private final int fullMin;
  private final int fullMax;
  private final int symmetricMin;
  private final int symmetricMax;
  private final int reducedMin;
  private final int reducedMax;

  QuantType(int onnxType, int fullMin, int fullMax, int symMin, int symMax, int redMin, int redMax) {
    this.onnxType = onnxType;
    this.fullMin = fullMin;
    this.fullMax = fullMax;
    this.symmetricMin = symMin;
    this.symmetricMax = symMax;
    this.reducedMin = redMin;
    this.reducedMax = redMax;
  }

  public int onnxType() {
    return onnxType;
  }

  /** Bounds every quantized value is clipped to. */
  public int fullMin() {
    return fullMin;
  }

  public int fullMax() {
    return fullMax;
  }

  /** The [qmin, qmax] used to compute scales: reduced range wins over symmetric. */
  public int qmin(boolean symmetric, boolean reduceRange) {
    return reduceRange ? reducedMin : symmetric ? symmetricMin : fullMin;
  }

  public int qmax(boolean symmetric, boolean reduceRange) {
    return reduceRange ? reducedMax : symmetric ? symmetricMax : fullMax;
  }

  public boolean isSigned() {
    return fullMin < 0;
  }

  /** Parses a type name in any case; also how Beam reads the type options (a Jackson creator). */
  @JsonCreator
  public static QuantType parse(String name) {
    return EnumNames.parse(QuantType.class, name, "quantization type");
  }
}
