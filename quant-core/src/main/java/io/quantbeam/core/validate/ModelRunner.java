package io.quantbeam.core.validate;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.runtime.OrtSessions;
import io.quantbeam.core.text.EncodedBatch;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;

/**
 * Runs a model on tokenized batches and returns its first output per example: a classifier's
 * logits [B, K] row by row; for a [B, S, H] output (hidden states), the H values of each real
 * (attention mask 1) token, concatenated, so padding does not count; otherwise the row flattened.
 * Thread-safe (ONNX Runtime sessions are).
 */
public final class ModelRunner implements AutoCloseable {
  private final java.util.concurrent.atomic.AtomicBoolean closed =
      new java.util.concurrent.atomic.AtomicBoolean();
  private final OrtSession session;
  private final String output;
  private final int classes;

  public ModelRunner(Path model, int intraOpThreads) {
    this(OrtSessions.open(model, intraOpThreads), model.toString());
  }

  /** A runner on a model held in memory; {@code name} says where it came from, for messages. */
  public ModelRunner(byte[] model, String name, int intraOpThreads) {
    this(OrtSessions.open(model, name, intraOpThreads), name);
  }

  private ModelRunner(OrtSession session, String model) {
    this.session = session;
    try {
      Map.Entry<String, NodeInfo> first = session.getOutputInfo().entrySet().iterator().next();
      this.output = first.getKey();
      int k = 0;
      if (first.getValue().getInfo() instanceof TensorInfo t && t.getShape().length == 2
          && t.getShape()[1] >= 2) {
        k = (int) t.getShape()[1];
      }
      this.classes = k;
    } catch (OrtException e) {
      closeQuietly(session);
      throw new QuantbeamException("Cannot read the outputs of " + model + ": " + e, e);
    }
  }

  /** Logits per example when the first output is [batch, K >= 2], else 0. */
  public int classes() {
    return classes;
  }

  public String outputName() {
    return output;
  }

  public float[][] run(EncodedBatch batch) {
    Map<String, OnnxTensor> inputs = batch.toOnnxInputs(OrtEnvironment.getEnvironment(),
        session.getInputNames());
    try (OrtSession.Result result = session.run(inputs, java.util.Set.of(output))) {
      OnnxTensor t = (OnnxTensor) result.get(0);
      long[] shape = t.getInfo().getShape();
      FloatBuffer data = t.getFloatBuffer();
      int b = batch.batchSize();
      if (shape.length == 0 || shape[0] != b) {
        throw new QuantbeamException("Output '" + output + "' has shape "
            + java.util.Arrays.toString(shape) + "; validation needs the batch on axis 0");
      }
      int per = (int) (data.capacity() / b);
      float[][] rows = new float[b][];
      boolean tokens = shape.length == 3 && shape[1] == batch.seqLen();
      for (int i = 0; i < b; i++) {
        if (tokens) {
          int h = (int) shape[2];
          int len = batch.length(i);
          float[] row = new float[len * h];
          int k = 0;
          for (int s = 0; s < batch.seqLen(); s++) {
            if (batch.attentionMask()[i * batch.seqLen() + s] != 0) {
              data.get((i * batch.seqLen() + s) * h, row, k * h, h);
              k++;
            }
          }
          rows[i] = row;
        } else {
          rows[i] = new float[per];
          data.get(i * per, rows[i], 0, per);
        }
      }
      return rows;
    } catch (OrtException e) {
      throw new QuantbeamException("ONNX Runtime failed on a batch of " + batch.batchSize()
          + ": " + e.getMessage(), e);
    } finally {
      inputs.values().forEach(OnnxTensor::close);
    }
  }

  /** Runs without reading the outputs back (for latency). */
  public void runOnly(Map<String, OnnxTensor> inputs) {
    try (OrtSession.Result ignored = session.run(inputs, java.util.Set.of(output))) {
      // timing only
    } catch (OrtException e) {
      throw new QuantbeamException("ONNX Runtime failed: " + e.getMessage(), e);
    }
  }

  public java.util.Set<String> inputNames() {
    return session.getInputNames();
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      closeQuietly(session);
    }
  }

  private static void closeQuietly(OrtSession s) {
    try {
      s.close();
    } catch (OrtException e) {
      // nothing to do: the native session is gone either way
    }
  }
}
