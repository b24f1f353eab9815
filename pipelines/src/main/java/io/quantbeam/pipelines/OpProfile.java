package io.quantbeam.pipelines;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.LabeledText;
import io.quantbeam.core.text.TextTokenizer;
import io.quantbeam.datasets.ParquetExamples;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * Where a model's time goes, per op type, with ONNX Runtime's profiler: the first 320 SST-2 dev
 * sentences in 10 batches of 32, 3 passes, 2 intra-op threads ({@code --threads=N}), the session
 * settings of {@code OrtSessions}. Prints, per op type of the optimized graph, its nodes and its
 * share of the kernel time, the 12 largest ({@code --top=N}); only shares compare across runs on a
 * shared machine. With 1 thread the kernel times add up to the work each model needs.
 *
 * <pre>java -cp pipelines/target/quantbeam-pipelines.jar io.quantbeam.pipelines.OpProfile
 *     TOKENIZER.json MODEL.onnx [MODEL.onnx ...] [--threads=1] [--top=30]</pre>
 */
public final class OpProfile {
  private OpProfile() {}

  /** Options of OpProfile (the tokenizer and models are its words). */
  public interface OpProfileOptions extends PipelineOptions {
    @Description("ONNX Runtime intra-op threads of the profiled session")
    @Default.Integer(2)
    int getThreads();

    void setThreads(int value);

    @Description("Op types listed per model, the largest shares first")
    @Default.Integer(12)
    int getTop();

    void setTop(int value);
  }

  public static void main(String[] args) throws IOException, OrtException {
    OpProfileOptions options = Commands.OP_PROFILE.parseOrExit(CommandLine.options(args));
    List<String> files = CommandLine.words(args);
    if (files.size() < 2) {
      System.err.println(Commands.OP_PROFILE.usageLine());
      System.exit(2);
    }
    args = files.toArray(String[]::new);
    List<String> texts = ParquetExamples.read(DemoCommand.root().resolve(
        "datasets/sst2/dev.parquet")).stream().map(LabeledText::text).toList();
    List<EncodedBatch> batches = new ArrayList<>();
    try (TextTokenizer tok = TextTokenizer.fromFile(Path.of(args[0]), 128)) {
      for (int i = 0; i < 320; i += 32) {
        batches.add(tok.encode(texts.subList(i, i + 32)));
      }
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    Path dir = Files.createTempDirectory("quantbeam-profile-");
    for (int m = 1; m < args.length; m++) {
      try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        o.setInterOpNumThreads(1);
        o.setIntraOpNumThreads(options.getThreads());
        o.enableProfiling(dir.resolve("model" + m).toString());
        try (OrtSession s = env.createSession(args[m], o)) {
          for (int pass = 0; pass < 3; pass++) {
            for (EncodedBatch b : batches) {
              Map<String, OnnxTensor> in = b.toOnnxInputs(env, s.getInputNames());
              s.run(in).close();
              in.values().forEach(OnnxTensor::close);
            }
          }
          Path file = Path.of(s.endProfiling());
          Map<String, Long> byOp = new TreeMap<>();
          Map<String, java.util.Set<String>> nodes = new TreeMap<>();
          long total = 0;
          for (JsonNode e : new ObjectMapper().readTree(file.toFile())) {
            if ("Node".equals(e.path("cat").asText())
                && e.path("name").asText().endsWith("_kernel_time")) {
              String op = e.path("args").path("op_name").asText();
              byOp.merge(op, e.path("dur").asLong(), Long::sum);
              nodes.computeIfAbsent(op, k -> new java.util.TreeSet<>()).add(e.path("name").asText());
              total += e.path("dur").asLong();
            }
          }
          Files.deleteIfExists(file);
          int calls = 3 * batches.size();
          System.out.printf(Locale.ROOT, "%s: kernel time %.1f ms per batch of 32%n", args[m],
              total / 1000.0 / calls);
          final long t = total;
          byOp.entrySet().stream().sorted((x, y) -> Long.compare(y.getValue(), x.getValue()))
              .limit(options.getTop()).forEach(e -> System.out.printf(Locale.ROOT,
                  "  %-24s %3d nodes %5.1f%% %8.2f ms/batch%n", e.getKey(),
                  nodes.get(e.getKey()).size(), 100.0 * e.getValue() / t,
                  e.getValue() / 1000.0 / calls));
        }
      }
    }
    Files.deleteIfExists(dir);
  }
}
