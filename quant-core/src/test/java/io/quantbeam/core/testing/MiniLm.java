package io.quantbeam.core.testing;

import io.quantbeam.core.runtime.ClasspathResources;
import java.nio.file.Path;

/**
 * all-MiniLM-L6-v2 from the langchain4j test dependencies, copied once into {@code target/models} of the
 * module under test (surefire's {@code basedir}, else the working directory).
 */
public final class MiniLm {

  /** FP32 model resource. */
  public static final String MODEL = "all-minilm-l6-v2.onnx";
  /** Tokenizer resource (the -q jar holds an identical copy). */
  public static final String TOKENIZER = "all-minilm-l6-v2-tokenizer.json";
  /** ONNX Runtime dynamically quantised model resource: the reference to beat. */
  public static final String DYNAMIC_REFERENCE = "all-minilm-l6-v2-q.onnx";

  private static Path model;
  private static Path tokenizer;
  private static Path dynamicReference;

  private MiniLm() {}

  /** Where the files are extracted. */
  public static Path cacheDir() {
    String base = System.getProperty("basedir", System.getProperty("user.dir"));
    return Path.of(base).toAbsolutePath().resolve("target").resolve("models");
  }

  /** FP32 all-MiniLM-L6-v2 (opset 11; inputs input_ids, attention_mask, token_type_ids; output last_hidden_state). */
  public static synchronized Path model() {
    if (model == null) {
      model = ClasspathResources.extract(MODEL, cacheDir());
    }
    return model;
  }

  /** Its tokenizer.json. */
  public static synchronized Path tokenizer() {
    if (tokenizer == null) {
      tokenizer = ClasspathResources.extract(TOKENIZER, cacheDir());
    }
    return tokenizer;
  }

  /** The ONNX Runtime dynamic-quantised (quantize_dynamic) model. */
  public static synchronized Path dynamicReference() {
    if (dynamicReference == null) {
      dynamicReference = ClasspathResources.extract(DYNAMIC_REFERENCE, cacheDir());
    }
    return dynamicReference;
  }
}
