package io.quantbeam.core.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtSession;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.testing.MiniLm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OrtSessionsTest {

  @Test
  void opensMiniLm() throws Exception {
    try (OrtSession s = OrtSessions.open(MiniLm.model(), 1)) {
      assertEquals(Set.of("input_ids", "attention_mask", "token_type_ids"), s.getInputNames());
      assertTrue(s.getOutputNames().contains("last_hidden_state"), s.getOutputNames().toString());
    }
  }

  @Test
  void refusedModelIsAClearErrorWithPathAndReason(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("not-a-model.onnx");
    Files.write(bad, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> OrtSessions.open(bad, 1));
    assertTrue(e.getMessage().contains(bad.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("refused"), e.getMessage());
    assertTrue(e.getCause() != null && e.getMessage().length() > 120, "carries ORT's reason: " + e.getMessage());

    QuantbeamException missing = assertThrows(QuantbeamException.class,
        () -> OrtSessions.open(dir.resolve("missing.onnx"), 1));
    assertTrue(missing.getMessage().contains("missing.onnx"), missing.getMessage());
    assertThrows(QuantbeamException.class, () -> OrtSessions.open(MiniLm.model(), -1));
  }
}
