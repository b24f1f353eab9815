package io.quantbeam.transforms;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.quantbeam.core.calib.Calibrator;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.text.TextTokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Heavy native objects built once per JVM and shared by every DoFn instance and thread in it: an
 * ONNX Runtime session costs seconds and hundreds of MB, a tokenizer a native handle. Built lazily
 * on first use, keyed by what makes them different; never closed (they live as long as the worker).
 */
final class SharedResources {
  private static final Map<String, TextTokenizer> TOKENIZERS = new ConcurrentHashMap<>();
  private static final Map<String, Calibrator> CALIBRATORS = new ConcurrentHashMap<>();

  private SharedResources() {}

  static TextTokenizer tokenizer(String path, int maxLength) {
    return TOKENIZERS.computeIfAbsent(path + "\u0000" + maxLength,
        k -> TextTokenizer.fromFile(Path.of(path), maxLength));
  }

  /** A calibration session on the prepared model with {@code tensors} exposed. */
  static Calibrator calibrator(String modelPath, List<String> tensors, int intraOpThreads) {
    String key = modelPath + "\u0000" + intraOpThreads + "\u0000" + String.join("\u0000", tensors);
    return CALIBRATORS.computeIfAbsent(key, k -> {
      ModelProto prepared = QdqQuantizer.prepare(OnnxModelIO.load(Path.of(modelPath)));
      return new Calibrator(prepared, tensors, intraOpThreads);
    });
  }

  /**
   * Starts building {@link #calibrator} on a daemon thread. A DoFn's setup that asks for the same
   * session meanwhile waits for it; if building fails, setup builds it again and reports the error.
   */
  static void calibratorInBackground(String modelPath, List<String> tensors, int intraOpThreads) {
    Thread t = new Thread(() -> {
      try {
        calibrator(modelPath, tensors, intraOpThreads);
      } catch (RuntimeException e) {
        // reported by the DoFn's own attempt
      }
    }, "quantbeam-open-calibration-session");
    t.setDaemon(true);
    t.start();
  }

  /**
   * Closes and forgets the calibration sessions: for a process that runs several pipelines one
   * after another and wants each to start as a fresh worker would. Only call it between
   * pipelines, never while one runs.
   */
  static void closeCalibrators() {
    for (String key : List.copyOf(CALIBRATORS.keySet())) {
      Calibrator c = CALIBRATORS.remove(key);
      if (c != null) {
        c.close();
      }
    }
  }
}
