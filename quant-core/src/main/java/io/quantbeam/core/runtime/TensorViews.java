package io.quantbeam.core.runtime;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Reads a float output of ONNX Runtime without copying it.
 *
 * <p>{@link OnnxTensor#getFloatBuffer()} copies the tensor into a new heap buffer. Calibration
 * reads every exposed activation of every batch once, so those copies (tens of MB per batch on a
 * small transformer) cost a sizeable share of the run. ONNX Runtime's Java API keeps its
 * zero-copy view of the native memory private; this class uses it when it is there and falls back
 * to the public copy otherwise (another ONNX Runtime version), with identical values either way.
 * The view is valid only until the tensor (or the result that owns it) is closed.
 */
public final class TensorViews {
  private static final MethodHandle NATIVE_VIEW = nativeView();

  private TensorViews() {}

  private static MethodHandle nativeView() {
    try {
      Method m = OnnxTensor.class.getDeclaredMethod("getBuffer");
      if (m.getReturnType() != ByteBuffer.class) {
        return null;
      }
      m.setAccessible(true);
      return MethodHandles.lookup().unreflect(m);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  /** Whether float outputs are read in place (else through a copy). */
  public static boolean zeroCopy() {
    return NATIVE_VIEW != null;
  }

  /** The float tensor's values, in place when possible; read it before closing the tensor. */
  public static FloatBuffer floats(OnnxTensor tensor) {
    if (NATIVE_VIEW != null && tensor.getInfo().type == OnnxJavaType.FLOAT) {
      try {
        ByteBuffer view = (ByteBuffer) NATIVE_VIEW.invokeExact(tensor);
        return view.order(ByteOrder.nativeOrder()).asFloatBuffer();
      } catch (Throwable e) {
        // fall through to the public copy
      }
    }
    return tensor.getFloatBuffer();
  }
}
