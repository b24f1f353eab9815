package io.quantbeam.transforms;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.quantbeam.core.calib.Calibrator;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.text.TextTokenizer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Heavy native objects built once per JVM and shared by every DoFn instance and thread in it: an
 * ONNX Runtime session costs seconds and hundreds of MB, a tokenizer a native handle. Built lazily
 * on first use, keyed by what makes them different.
 *
 * <p>A calibration session is counted out to each DoFn instance and closed when the last one
 * gives it back at teardown. ONNX Runtime frees a session's native memory only on close, never on
 * garbage collection, so on a long-lived worker (a Flink session cluster that recalibrates on a
 * schedule) every job would otherwise leave its session behind. Tokenizers are not counted: DJL
 * frees one when it is garbage-collected, which on Flink happens with its job's class loader.
 */
final class SharedResources {
  private static final Logger LOG = LoggerFactory.getLogger(SharedResources.class);
  private static final Map<String, TextTokenizer> TOKENIZERS = new ConcurrentHashMap<>();
  /** Guards CALIBRATORS; held while a session opens, so a second user waits for the first. */
  private static final Object CALIBRATOR_LOCK = new Object();
  private static final Map<String, Held> CALIBRATORS = new HashMap<>();

  private static final class Held {
    final Calibrator calibrator;
    final String modelPath;
    int users;

    Held(Calibrator calibrator, String modelPath) {
      this.calibrator = calibrator;
      this.modelPath = modelPath;
    }
  }

  private SharedResources() {}

  static TextTokenizer tokenizer(String path, int maxLength) {
    return TOKENIZERS.computeIfAbsent(path + "\u0000" + maxLength,
        k -> TextTokenizer.fromFile(Path.of(path), maxLength));
  }

  private static String key(String modelPath, List<String> tensors, int intraOpThreads) {
    return modelPath + "\u0000" + intraOpThreads + "\u0000" + String.join("\u0000", tensors);
  }

  /** The open (or a newly opened) session for this key; the caller holds the lock. */
  private static Held held(String modelPath, List<String> tensors, int intraOpThreads) {
    return CALIBRATORS.computeIfAbsent(key(modelPath, tensors, intraOpThreads), k -> {
      ModelProto prepared = QdqQuantizer.prepare(OnnxModelIO.load(Path.of(modelPath)));
      Held h = new Held(new Calibrator(prepared, tensors, intraOpThreads), modelPath);
      LOG.info("calibration: opened an ONNX Runtime session on {}", modelPath);
      return h;
    });
  }

  /**
   * A calibration session on the prepared model with {@code tensors} exposed, for one user until
   * it gives it back to {@link #releaseCalibrator}.
   */
  static Calibrator acquireCalibrator(String modelPath, List<String> tensors, int intraOpThreads) {
    synchronized (CALIBRATOR_LOCK) {
      Held h = held(modelPath, tensors, intraOpThreads);
      h.users++;
      return h.calibrator;
    }
  }

  /**
   * Gives back a session {@link #acquireCalibrator} returned; the last user's release closes it.
   * Matched by identity, not by key: DirectRunner tears a finished pipeline's DoFns down after
   * its result is already out, so a late release must not count against the session the next
   * pipeline opened for the same model.
   */
  static void releaseCalibrator(Calibrator calibrator) {
    String modelPath = null;
    synchronized (CALIBRATOR_LOCK) {
      var it = CALIBRATORS.entrySet().iterator();
      while (it.hasNext()) {
        Held h = it.next().getValue();
        if (h.calibrator == calibrator) {
          if (--h.users > 0) {
            return;
          }
          it.remove();
          modelPath = h.modelPath;
          break;
        }
      }
    }
    if (modelPath != null) {
      calibrator.close();
      LOG.info("calibration: closed the ONNX Runtime session on {}", modelPath);
    }
  }

  /**
   * Opens {@link #acquireCalibrator}'s session on a daemon thread, with no user yet. A DoFn's
   * setup that asks for it meanwhile waits for it; if opening fails, setup opens it again and
   * reports the error.
   */
  static void calibratorInBackground(String modelPath, List<String> tensors, int intraOpThreads) {
    Thread t = new Thread(() -> {
      try {
        synchronized (CALIBRATOR_LOCK) {
          held(modelPath, tensors, intraOpThreads);
        }
      } catch (RuntimeException e) {
        // reported by the DoFn's own attempt
      }
    }, "quantbeam-open-calibration-session");
    t.setDaemon(true);
    t.start();
  }

  /**
   * Closes and forgets every calibration session, in use or not: for a process that runs
   * pipelines one after another (a session opened in the background for a pipeline that failed
   * before using it). Only call it between pipelines, never while one runs.
   */
  static void closeCalibrators() {
    List<Calibrator> toClose;
    synchronized (CALIBRATOR_LOCK) {
      toClose = CALIBRATORS.values().stream().map(h -> h.calibrator).toList();
      CALIBRATORS.clear();
    }
    toClose.forEach(Calibrator::close);
  }

  /** Calibration sessions open in this JVM. */
  static int openCalibrators() {
    synchronized (CALIBRATOR_LOCK) {
      return CALIBRATORS.size();
    }
  }
}
