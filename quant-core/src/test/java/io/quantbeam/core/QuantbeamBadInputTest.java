package io.quantbeam.core;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TinyTransformer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one-machine API refuses bad input with a clear message and writes nothing. */
class QuantbeamBadInputTest {
  @TempDir Path dir;

  private Path out() {
    return dir.resolve("out");
  }

  private void refused(String expected, org.junit.jupiter.api.function.Executable run)
      throws Exception {
    QuantbeamException e = assertThrows(QuantbeamException.class, run);
    assertTrue(e.getMessage().toLowerCase().contains(expected.toLowerCase()),
        "message should mention '" + expected + "': " + e.getMessage());
    assertTrue(!Files.exists(out()) || Files.list(out()).findAny().isEmpty(),
        "nothing may be written");
  }

  private void quantizeAndWrite(Path model, Path tokenizer, List<String> texts) {
    Quantbeam.Result r = Quantbeam.quantize(model, tokenizer, texts, QuantConfig.defaults(),
        new Quantbeam.Options(8, 32, 1));
    Quantbeam.write(r, out());
  }

  @Test
  void truncatedModel() throws Exception {
    Path tiny = dir.resolve("tiny.onnx");
    byte[] bytes = OnnxModelIO.toBytes(TinyTransformer.build());
    Files.write(tiny, Arrays.copyOf(bytes, bytes.length / 2));
    refused("tiny.onnx", () -> quantizeAndWrite(tiny, MiniLm.tokenizer(), List.of("a text")));
  }

  @Test
  void notAnOnnxFile() throws Exception {
    Path notOnnx = dir.resolve("notes.onnx");
    Files.writeString(notOnnx, "this is not a model\n");
    refused("notes.onnx", () -> quantizeAndWrite(notOnnx, MiniLm.tokenizer(), List.of("a")));
  }

  @Test
  void emptyCalibrationTexts() throws Exception {
    Path tiny = dir.resolve("tiny.onnx");
    OnnxModelIO.save(TinyTransformer.build(), tiny);
    refused("empty", () -> quantizeAndWrite(tiny, MiniLm.tokenizer(), List.of()));
    refused("empty or blank", () -> quantizeAndWrite(tiny, MiniLm.tokenizer(), List.of(" ", "")));
  }

  @Test
  void tokenizerThatDoesNotParse() throws Exception {
    Path tiny = dir.resolve("tiny.onnx");
    OnnxModelIO.save(TinyTransformer.build(), tiny);
    Path tok = dir.resolve("tokenizer.json");
    Files.writeString(tok, "{ not json");
    refused("tokenizer.json", () -> quantizeAndWrite(tiny, tok, List.of("a text")));
  }

  @Test
  void externalDataOutsideTheModelFolder() throws Exception {
    Path tiny = dir.resolve("models/tiny.onnx");
    OnnxModelIO.save(TinyTransformer.build(), tiny, 256);
    Path data = tiny.resolveSibling("tiny.onnx.data");
    Path outside = dir.resolve("elsewhere.data");
    Files.move(data, outside);
    Files.createSymbolicLink(data, outside);
    refused("outside", () -> quantizeAndWrite(tiny, MiniLm.tokenizer(), List.of("a text")));
  }
}
