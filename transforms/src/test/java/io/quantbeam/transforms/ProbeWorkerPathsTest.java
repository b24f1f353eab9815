package io.quantbeam.transforms;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** {@link ProbeWorkerPaths} on DirectRunner: files and patterns that match pass, others are named. */
public class ProbeWorkerPathsTest {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();
  @Rule public final transient TestPipeline p = TestPipeline.create();

  @Test
  public void namesEveryOptionWhosePathMatchesNothingOnTheWorker() throws Exception {
    String model = tmp.newFile("model.onnx").toString();
    Files.writeString(tmp.getRoot().toPath().resolve("a.parquet"), "x");
    String pattern = tmp.getRoot() + "/*.parquet";
    String missing = tmp.getRoot() + "/nothing/*.parquet";
    PCollection<String> out = p.apply(ProbeWorkerPaths.of(Map.of("--model", model,
        "--calibrationData", pattern, "--validationData", missing), 3));
    PAssert.that(out).satisfies(lines -> {
      List<String> all = new ArrayList<>();
      lines.forEach(all::add);
      assertEquals(all.toString(), 3, all.size()); // one per copy, only the missing one
      for (String l : all) {
        String[] f = l.split("\t");
        assertEquals("--validationData", f[0]);
        assertEquals(missing, f[1]);
        assertTrue(l, f.length == 4 && !f[2].isBlank() && f[3].equals("no such file"));
      }
      return null;
    });
    p.run().waitUntilFinish();
  }
}
