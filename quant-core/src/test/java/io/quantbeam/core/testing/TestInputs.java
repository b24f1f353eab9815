package io.quantbeam.core.testing;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.quantbeam.core.onnx.OnnxModelIO;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Random BERT-style input batches and a thin way to run a model in ONNX Runtime (Java) and get
 * its float outputs back.
 */
public final class TestInputs {
  private TestInputs() {}

  /** int64 [batch, seq] inputs; padding positions have id 0, mask 0 and type 0. */
  public record Batch(long[][] inputIds, long[][] attentionMask, long[][] tokenTypeIds) {
    public int batch() {
      return inputIds.length;
    }

    public int seq() {
      return inputIds.length == 0 ? 0 : inputIds[0].length;
    }
  }

  /** One output: its shape and row-major data. */
  public record Output(long[] shape, float[] data) {}

  /**
   * A seeded batch: row 0 is unpadded, the other rows have a random length in [1, seq] followed
   * by padding; ids are uniform in [1, vocab); token types are 0 for the first half of the real
   * tokens and 1 for the rest.
   */
  public static Batch random(long seed, int batch, int seq, int vocab) {
    Random r = new Random(seed);
    long[][] ids = new long[batch][seq];
    long[][] mask = new long[batch][seq];
    long[][] types = new long[batch][seq];
    for (int b = 0; b < batch; b++) {
      int len = b == 0 ? seq : 1 + r.nextInt(seq);
      for (int s = 0; s < len; s++) {
        ids[b][s] = 1 + r.nextInt(vocab - 1);
        mask[b][s] = 1;
        types[b][s] = s < (len + 1) / 2 ? 0 : 1;
      }
    }
    return new Batch(ids, mask, types);
  }

  public static OrtEnvironment env() {
    return OrtEnvironment.getEnvironment();
  }

  /** A session with the given optimization level and 2 intra-op threads. */
  public static OrtSession session(ModelProto model, OptLevel level) {
    try (OrtSession.SessionOptions o = options(level)) {
      return env().createSession(OnnxModelIO.toBytes(model), o);
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX Runtime refused the model: " + e.getMessage(), e);
    }
  }

  public static OrtSession session(Path model, OptLevel level) {
    try (OrtSession.SessionOptions o = options(level)) {
      return env().createSession(model.toString(), o);
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX Runtime refused " + model + ": " + e.getMessage(), e);
    }
  }

  private static OrtSession.SessionOptions options(OptLevel level) throws OrtException {
    OrtSession.SessionOptions o = new OrtSession.SessionOptions();
    o.setOptimizationLevel(level);
    o.setIntraOpNumThreads(2);
    return o;
  }

  /** Runs {@code model} (default optimizations) on {@code batch}; float outputs by name. */
  public static Map<String, Output> run(ModelProto model, Batch batch) {
    return run(model, batch, OptLevel.ALL_OPT);
  }

  public static Map<String, Output> run(ModelProto model, Batch batch, OptLevel level) {
    try (OrtSession s = session(model, level)) {
      return run(s, batch);
    } catch (OrtException e) {
      throw new IllegalStateException(e);
    }
  }

  public static Map<String, Output> run(Path model, Batch batch, OptLevel level) {
    try (OrtSession s = session(model, level)) {
      return run(s, batch);
    } catch (OrtException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Feeds those of input_ids / attention_mask / token_type_ids that the session declares. */
  public static Map<String, Output> run(OrtSession session, Batch batch) {
    OrtEnvironment env = env();
    List<OnnxTensor> created = new ArrayList<>();
    try {
      Map<String, OnnxTensor> feed = new LinkedHashMap<>();
      for (Map.Entry<String, NodeInfo> in : session.getInputInfo().entrySet()) {
        long[][] data = switch (in.getKey()) {
          case "input_ids" -> batch.inputIds();
          case "attention_mask" -> batch.attentionMask();
          case "token_type_ids" -> batch.tokenTypeIds();
          default -> throw new IllegalArgumentException("model input " + in.getKey() + " is not a BERT input");
        };
        OnnxTensor t = OnnxTensor.createTensor(env, data);
        created.add(t);
        feed.put(in.getKey(), t);
      }
      Map<String, Output> out = new LinkedHashMap<>();
      try (OrtSession.Result r = session.run(feed)) {
        for (Map.Entry<String, OnnxValue> e : r) {
          if (e.getValue() instanceof OnnxTensor t && t.getInfo().type == ai.onnxruntime.OnnxJavaType.FLOAT) {
            FloatBuffer fb = t.getFloatBuffer();
            float[] data = new float[fb.remaining()];
            fb.get(data);
            out.put(e.getKey(), new Output(t.getInfo().getShape(), data));
          }
        }
      }
      return out;
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX Runtime failed to run the model: " + e.getMessage(), e);
    } finally {
      created.forEach(OnnxTensor::close);
    }
  }

  /** Largest |a[i] - b[i]|; infinite if lengths differ or a NaN appears on one side only. */
  public static double maxAbsDiff(float[] a, float[] b) {
    if (a.length != b.length) {
      return Double.POSITIVE_INFINITY;
    }
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      if (Float.isNaN(a[i]) != Float.isNaN(b[i])) {
        return Double.POSITIVE_INFINITY;
      }
      if (!Float.isNaN(a[i])) {
        m = Math.max(m, Math.abs((double) a[i] - b[i]));
      }
    }
    return m;
  }

  /** True when every value is finite. */
  public static boolean allFinite(float[] a) {
    for (float v : a) {
      if (!Float.isFinite(v)) {
        return false;
      }
    }
    return true;
  }
}
