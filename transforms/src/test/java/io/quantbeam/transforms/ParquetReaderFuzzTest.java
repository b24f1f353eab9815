package io.quantbeam.transforms;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.LocalInputFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzes the Parquet reading path with mutated copies of a small corpus file: the footer check
 * ReadExamples runs while the pipeline is built ({@link ParquetFooter}), then a full read of the
 * records with parquet-avro (what ParquetIO runs on the workers), whose failures the quantize
 * pipeline turns into a clear error ({@link ReadExamples#explainReadFailure}). Each case either
 * reads or ends in a QuantbeamException; no Error, no hang. 300 cases or 20 s, fixed seed.
 */
class ParquetReaderFuzzTest {
  @TempDir Path dir;

  static byte[] mutate(byte[] in, Random r) {
    byte[] b = in.clone();
    int n = 1 + r.nextInt(4);
    for (int k = 0; k < n && b.length > 1; k++) {
      // half of the mutations aim at the footer (the last 20%), where the metadata is
      int at = r.nextBoolean() ? r.nextInt(b.length) : b.length - 1 - r.nextInt(Math.max(1, b.length / 5));
      switch (r.nextInt(4)) {
        case 0 -> b[at] = (byte) r.nextInt(256);
        case 1 -> b[at] ^= (byte) (1 << r.nextInt(8));
        case 2 -> b = Arrays.copyOf(b, at);
        default -> {
          byte[] c = new byte[b.length + 1];
          System.arraycopy(b, 0, c, 0, at);
          c[at] = (byte) r.nextInt(256);
          System.arraycopy(b, at, c, at + 1, b.length - at);
          b = c;
        }
      }
    }
    return b;
  }

  @Test
  void mutatedParquetFilesReadOrFailClearly() throws Exception {
    FileSystems.setDefaultPipelineOptions(PipelineOptionsFactory.create());
    Path good = ParquetFiles.write(dir.resolve("good.parquet"),
        TestData.texts(TestData.gluePhrases(60)));
    byte[] bytes = Files.readAllBytes(good);
    Path target = dir.resolve("fuzz.parquet");
    Random r = new Random(77L);
    long start = System.nanoTime();
    int ok = 0;
    int refusedAtFooter = 0;
    int refusedAtRead = 0;
    int cases = 0;
    for (; cases < 300 && System.nanoTime() - start < 20_000_000_000L; cases++) {
      Files.write(target, mutate(bytes, r));
      int c = cases;
      int outcome = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
        try {
          ParquetFooter.schema(ParquetFooter.match(target.toString(),
              ReadExamples.CALIBRATION_OPTION).get(0), ReadExamples.CALIBRATION_OPTION);
        } catch (QuantbeamException e) {
          return 1;
        } catch (Throwable t) {
          fail("case " + c + ": footer check threw " + t, t);
        }
        try (ParquetReader<GenericRecord> reader = AvroParquetReader.<GenericRecord>builder(
            new LocalInputFile(target)).withDataModel(GenericData.get()).build()) {
          while (reader.read() != null) {
            // every record decoded
          }
          return 0;
        } catch (Exception e) {
          QuantbeamException clear = ReadExamples.explainReadFailure(target.toString(),
              ReadExamples.CALIBRATION_OPTION, e);
          assertNotNull(clear, "case " + c + ": not recognised as a Parquet read failure: " + e);
          assertTrue(clear.getMessage().contains("fuzz.parquet"), clear.getMessage());
          return 2;
        } catch (Throwable t) {
          fail("case " + c + ": reading threw " + t, t);
          return -1;
        }
      }, "case " + c + " hung");
      if (outcome == 0) {
        ok++;
      } else if (outcome == 1) {
        refusedAtFooter++;
      } else {
        refusedAtRead++;
      }
    }
    System.out.printf("Parquet fuzz: %d cases in %.1f s: %d read, %d refused by the footer check,"
        + " %d failed while reading (clear error)%n", cases, (System.nanoTime() - start) / 1e9, ok,
        refusedAtFooter, refusedAtRead);
    assertTrue(refusedAtFooter > 0);
  }
}
