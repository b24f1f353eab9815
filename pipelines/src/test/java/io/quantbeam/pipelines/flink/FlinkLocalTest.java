package io.quantbeam.pipelines.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.testing.TinyTransformer;
import io.quantbeam.pipelines.QuantizeOptions;
import io.quantbeam.pipelines.QuantizePipeline;
import io.quantbeam.transforms.ParquetFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --flinkMaster=[local]}: the quantize pipeline on an in-process Flink mini cluster gives
 * the DirectRunner's bytes; and the submission checks that need no cluster.
 */
class FlinkLocalTest {
  @TempDir Path dir;

  static List<String> args(Path model, Path data, Path out, String... extra) {
    List<String> a = new ArrayList<>(List.of("--model=" + model,
        "--tokenizer=" + MiniLm.tokenizer(), "--calibrationData=" + data, "--output=" + out,
        "--batchSize=8", "--maxSequenceLength=32", "--intraOpThreads=1"));
    a.addAll(List.of(extra));
    return a;
  }

  static QuantizeOptions options(List<String> args) {
    PipelineOptionsFactory.register(QuantizeOptions.class);
    return PipelineOptionsFactory.fromArgs(args.toArray(String[]::new)).withValidation()
        .as(QuantizeOptions.class);
  }

  @Test
  void localFlinkGivesTheDirectRunnersBytes() throws Exception {
    Path model = dir.resolve("tiny.onnx");
    OnnxModelIO.save(TinyTransformer.build(TinyTransformer.Config.defaults().withVocab(30522)),
        model);
    Path data = ParquetFiles.writeSharded(dir.resolve("data"),
        TestData.texts(TestData.gluePhrases(120)), 3).resolve("*.parquet");

    Path direct = dir.resolve("direct");
    QuantizePipeline.run(options(args(model, data, direct)));
    Path flink = dir.resolve("flink");
    JsonNode report = FlinkSubmit.quantize(args(model, data, flink, "--runner=FlinkRunner",
        "--flinkMaster=[local]", "--parallelism=2"));

    assertEquals("FlinkRunner", report.path("config").path("runner").asText());
    for (String file : List.of(Quantbeam.MODEL_FILE, Quantbeam.TABLE_FILE)) {
      assertEquals(OnnxModelIO.sha256(direct.resolve(file)),
          OnnxModelIO.sha256(flink.resolve(file)), file + " on Flink [local] vs DirectRunner");
    }
    assertEquals(120, report.path("calibration").path("examples").asLong());
  }

  @Test
  void aClusterThatIsNotRunningIsNamed() {
    int port = FlinkCluster.freePort();
    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> FlinkSubmit.check(List.of("--runner=FlinkRunner", "--flinkMaster=localhost:" + port),
            FlinkSubmit.QUANTIZE_CLASSES));
    assertTrue(e.getMessage().contains("No Flink cluster answers at http://localhost:" + port),
        e.getMessage());
    assertTrue(e.getMessage().contains("./quantbeam flink start"), e.getMessage());
  }

  @Test
  void aMissingClassOnTheClusterIsNamed() {
    RuntimeException failure = new RuntimeException("Pipeline execution failed",
        new RuntimeException("org.apache.flink.runtime.client.JobInitializationException: Could"
            + " not start the JobMaster.",
            new RuntimeException("java.lang.ClassNotFoundException: io.quantbeam.transforms"
                + ".ObserveActivations$ObserveFn")));
    RuntimeException e = FlinkSubmit.explain(failure, List.of("--filesToStage=/x/job.jar"));
    assertTrue(e instanceof QuantbeamException, String.valueOf(e));
    assertTrue(e.getMessage().contains("io.quantbeam.transforms.ObserveActivations$ObserveFn"),
        e.getMessage());
    assertTrue(e.getMessage().contains("/x/job.jar"), e.getMessage());
  }
}
