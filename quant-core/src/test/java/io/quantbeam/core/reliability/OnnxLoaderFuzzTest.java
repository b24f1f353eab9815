package io.quantbeam.core.reliability;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.testing.TinyTransformer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzes {@link OnnxModelIO#load} with mutated copies of a tiny model (with and without external
 * data): every load either succeeds or throws {@link QuantbeamException}; no other exception, no
 * Error (out of memory, stack overflow), no hang. Bounded: 300 mutations or 20 s, fixed seed.
 */
class OnnxLoaderFuzzTest {
  static final int CASES = 300;
  static final long BUDGET_NANOS = 20_000_000_000L;

  @TempDir Path dir;

  /** Byte flips, truncation, insertion, deletion and chunk duplication, 1-4 at a time. */
  static byte[] mutate(byte[] in, Random r) {
    byte[] b = in;
    int n = 1 + r.nextInt(4);
    for (int k = 0; k < n && b.length > 1; k++) {
      int at = r.nextInt(b.length);
      switch (r.nextInt(6)) {
        case 0 -> b[at] = (byte) r.nextInt(256);
        case 1 -> b[at] ^= (byte) (1 << r.nextInt(8));
        case 2 -> b = Arrays.copyOf(b, at);
        case 3 -> {
          byte[] ins = new byte[1 + r.nextInt(16)];
          r.nextBytes(ins);
          byte[] c = new byte[b.length + ins.length];
          System.arraycopy(b, 0, c, 0, at);
          System.arraycopy(ins, 0, c, at, ins.length);
          System.arraycopy(b, at, c, at + ins.length, b.length - at);
          b = c;
        }
        case 4 -> {
          int len = Math.min(b.length - at, 1 + r.nextInt(64));
          byte[] c = new byte[b.length - len];
          System.arraycopy(b, 0, c, 0, at);
          System.arraycopy(b, at + len, c, at, b.length - at - len);
          b = c;
        }
        default -> {
          // varint-heavy: set a byte to a large length prefix
          b[at] = (byte) (0x80 | r.nextInt(128));
        }
      }
      if (b == in) {
        b = b.clone();
      }
    }
    return b;
  }

  @Test
  void mutatedModelsLoadOrAreRefusedCleanly() throws Exception {
    Path inline = dir.resolve("inline/model.onnx");
    OnnxModelIO.save(TinyTransformer.build(), inline);
    Path external = dir.resolve("external/model.onnx");
    OnnxModelIO.save(TinyTransformer.build(), external, 1024);
    byte[] inlineBytes = Files.readAllBytes(inline);
    byte[] externalBytes = Files.readAllBytes(external);

    Random r = new Random(20240611L);
    long start = System.nanoTime();
    int loaded = 0;
    int refused = 0;
    int cases = 0;
    for (; cases < CASES && System.nanoTime() - start < BUDGET_NANOS; cases++) {
      // even cases: the inline model; odd: the model file of a model with external data (its
      // location/offset/length entries get mutated too)
      boolean ext = cases % 2 == 1;
      Path target = (ext ? external : inline).resolveSibling("fuzz.onnx");
      byte[] mutated = mutate(ext ? externalBytes : inlineBytes, r);
      Files.write(target, mutated);
      int c = cases;
      Boolean ok = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
        try {
          OnnxModelIO.load(target);
          return true;
        } catch (QuantbeamException e) {
          assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "case " + c);
          return false;
        } catch (Throwable t) {
          fail("case " + c + " (" + (ext ? "external" : "inline") + ", " + mutated.length
              + " bytes): " + t, t);
          return false;
        }
      }, "case " + c + " hung");
      if (ok) {
        loaded++;
      } else {
        refused++;
      }
    }
    System.out.printf("ONNX loader fuzz: %d cases in %.1f s, %d loaded, %d refused%n", cases,
        (System.nanoTime() - start) / 1e9, loaded, refused);
    assertTrue(refused > 0, "the mutations must hit the checks");
  }
}
