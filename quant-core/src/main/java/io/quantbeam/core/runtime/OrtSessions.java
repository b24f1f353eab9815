package io.quantbeam.core.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.quantbeam.core.QuantbeamException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens ONNX Runtime CPU sessions with Quantbeam's standard settings. */
public final class OrtSessions {

  private OrtSessions() {}

  /**
   * Opens {@code model} with all graph optimisations, sequential execution and one inter-op thread.
   *
   * @param model          an ONNX file
   * @param intraOpThreads threads per operator; 0 lets ONNX Runtime choose (one per physical core)
   * @return an open session; the caller closes it
   * @throws QuantbeamException if the file is missing or ONNX Runtime refuses it (message has ORT's reason)
   */
  public static OrtSession open(Path model, int intraOpThreads) {
    if (intraOpThreads < 0) {
      throw new QuantbeamException("intraOpThreads must be 0 (ONNX Runtime's default) or positive, got "
          + intraOpThreads + ".");
    }
    if (model == null || !Files.isRegularFile(model)) {
      throw new QuantbeamException("ONNX model file not found: " + model + ". Pass the path of a .onnx file.");
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions options = options(intraOpThreads)) {
      return env.createSession(model.toString(), options);
    } catch (OrtException e) {
      throw new QuantbeamException("ONNX Runtime refused the model " + model + ": " + e.getMessage()
          + ". Check that the file is a complete ONNX model (not truncated, external data next to it) "
          + "with an opset this ONNX Runtime supports.", e);
    }
  }

  /**
   * {@link #open(Path, int)} for a model held in memory (read from a shared file system), which
   * must be self-contained: ONNX Runtime finds external data only beside a file.
   *
   * @param name where the bytes came from, for messages
   */
  public static OrtSession open(byte[] model, String name, int intraOpThreads) {
    if (intraOpThreads < 0) {
      throw new QuantbeamException("intraOpThreads must be 0 (ONNX Runtime's default) or positive, got "
          + intraOpThreads + ".");
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions options = options(intraOpThreads)) {
      return env.createSession(model, options);
    } catch (OrtException e) {
      throw new QuantbeamException("ONNX Runtime refused the model " + name + ": " + e.getMessage()
          + ". Check that the file is a complete ONNX model (not truncated, no external data) "
          + "with an opset this ONNX Runtime supports.", e);
    }
  }

  private static OrtSession.SessionOptions options(int intraOpThreads) throws OrtException {
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    try {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      options.setInterOpNumThreads(1);
      options.setIntraOpNumThreads(intraOpThreads);
      return options;
    } catch (OrtException e) {
      options.close();
      throw e;
    }
  }
}
