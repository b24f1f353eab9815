package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.QuantbeamException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's argument merge and the restart check's comparison (no model runs here). */
class DemoCommandTest {
  @Test
  void userOptionsOverrideTheDemoDefaults() {
    Map<String, String> d = DemoCommand.defaults(Path.of("/repo"));
    List<String> args = DemoCommand.arguments(d, new String[] {"--sensitivitySamples=128",
        "--runner=DirectRunner"});
    assertTrue(args.contains("--sensitivitySamples=128"));
    assertFalse(args.contains("--sensitivitySamples=32"));
    assertTrue(args.contains("--runner=DirectRunner"));
    assertTrue(args.contains("--maxExamples=2000"));
    assertTrue(args.contains("--validationData=/repo/datasets/sst2/dev.parquet"));
    // Beam refuses what is not an option, as a QuantbeamException
    assertThrows(QuantbeamException.class, () -> Commands.QUANTIZE.parse(
        DemoCommand.arguments(d, new String[] {"x"})));
    PipelineOptionsFactory.register(QuantizeOptions.class);
    QuantizeOptions o = PipelineOptionsFactory.fromArgs(args.toArray(String[]::new))
        .as(QuantizeOptions.class);
    assertEquals(Double.POSITIVE_INFINITY, o.getSpeedTieTolerance()); // size decides, not noise
    assertEquals(128, o.getSensitivitySamples());
  }

  @Test
  void runsThatDifferOnlyInTimingAndFolderAreTheSame(@TempDir Path tmp) throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    for (Path dir : List.of(a, b)) {
      Files.createDirectories(dir.resolve("candidates"));
      Files.write(dir.resolve("model.int8.onnx"), new byte[] {1, 2, 3});
      Files.write(dir.resolve("candidates/baseline.onnx"), new byte[] {1, 2, 3});
      Files.writeString(dir.resolve("report.html"), "<html>...</html>\n");
      double t = dir == a ? 1.5 : 9.25;
      Files.writeString(dir.resolve("report.json"), "{\"model\":{\"path\":\"" + dir
          + "/model.int8.onnx\"},\"calibration\":{\"seconds\":" + t + ",\"examples\":2000},"
          + "\"candidates\":[{\"name\":\"baseline\",\"accuracy\":0.82,\"latencyMs\":{\"batch1\":"
          + t + "},\"speedupBatch32\":" + t + "}]}", StandardCharsets.UTF_8);
    }
    assertEquals(List.of(), CompareRuns.compare(a, b));

    Files.write(b.resolve("candidates/baseline.onnx"), new byte[] {1, 2, 4});
    Files.writeString(b.resolve("report.json"), Files.readString(b.resolve("report.json"))
        .replace("0.82", "0.81"));
    Files.write(b.resolve(".model.int8.onnx.x1.tmp"), new byte[] {1});
    List<String> diffs = CompareRuns.compare(a, b);
    assertEquals(3, diffs.size(), diffs.toString());
    assertTrue(diffs.stream().anyMatch(d -> d.contains("candidates/baseline.onnx differs")));
    assertTrue(diffs.stream().anyMatch(d -> d.contains("accuracy")));
    assertTrue(diffs.stream().anyMatch(d -> d.contains("leftover temporary file")));
  }
}
