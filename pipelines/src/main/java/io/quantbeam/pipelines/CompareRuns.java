package io.quantbeam.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * Compares two output folders of {@code quantize} (e.g. an uninterrupted run and a run that was
 * killed and started again): {@code model.int8.onnx}, {@code calibration.qbct} and every
 * {@code candidates/*.onnx} byte for byte, and {@code report.json} without its timing fields
 * ({@link #TIMING_FIELDS}) and with each folder's own path replaced by {@code <output>}. Also
 * fails on leftover temporary files. {@code report.html} shows latencies, so it is only checked
 * to be complete. Exit code 0 when the runs agree, 1 with the differences otherwise.
 *
 * <pre>java -cp pipelines/target/quantbeam-pipelines.jar io.quantbeam.pipelines.CompareRuns A B</pre>
 * ({@code --checkModel=FILE} only loads one model: it fails on a half-written file.)
 */
public final class CompareRuns {
  /** report.json fields that depend on timing or the machine's state, not on the inputs. */
  public static final Set<String> TIMING_FIELDS = Set.of("seconds", "examplesPerSecond",
      "latencyMs", "speedupBatch1", "speedupBatch32", "peakRssMb", "speedComparisons");

  private CompareRuns() {}

  /** Options of CompareRuns (the two folders are its words). */
  public interface CompareRunsOptions extends PipelineOptions {
    @Description("Only load this model (and so parse all of it): fails on a half-written file")
    String getCheckModel();

    void setCheckModel(String value);
  }

  public static void main(String[] args) throws IOException {
    CompareRunsOptions options = Commands.COMPARE_RUNS.parseOrExit(CommandLine.options(args));
    String model = options.getCheckModel();
    if (model != null) {
      io.quantbeam.core.onnx.OnnxModelIO.load(Path.of(model));
      System.out.println("  complete: " + model);
      return;
    }
    args = CommandLine.words(args).toArray(String[]::new);
    if (args.length != 2) {
      System.err.println(Commands.COMPARE_RUNS.usageLine());
      System.exit(2);
    }
    List<String> diffs = compare(Path.of(args[0]), Path.of(args[1]));
    if (diffs.isEmpty()) {
      System.out.println("same outputs: " + args[0] + " and " + args[1] + " (models, calibration"
          + " table, candidates byte for byte; report.json apart from " + TIMING_FIELDS + ")");
      return;
    }
    diffs.forEach(d -> System.out.println("DIFFERENT: " + d));
    System.exit(1);
  }

  /** The differences between two output folders (empty when they agree). */
  public static List<String> compare(Path a, Path b) throws IOException {
    List<String> diffs = new ArrayList<>();
    for (Path dir : List.of(a, b)) {
      for (Path f : files(dir)) {
        String n = f.getFileName().toString();
        if (n.endsWith(".tmp") || n.endsWith(".part")) {
          diffs.add("leftover temporary file " + f);
        }
      }
      Path html = dir.resolve(Validation.HTML_FILE);
      if (!Files.isRegularFile(html) || !Files.readString(html).trim().endsWith("</html>")) {
        diffs.add(html + " missing or incomplete");
      }
    }
    Set<String> names = new TreeSet<>();
    for (Path dir : List.of(a, b)) {
      for (Path f : files(dir)) {
        String rel = dir.relativize(f).toString();
        if (rel.endsWith(".onnx") || rel.endsWith(".qbct") || rel.endsWith(".data")) {
          names.add(rel);
        }
      }
    }
    for (String rel : names) {
      Path fa = a.resolve(rel);
      Path fb = b.resolve(rel);
      if (!Files.isRegularFile(fa) || !Files.isRegularFile(fb)) {
        diffs.add(rel + " only in " + (Files.isRegularFile(fa) ? a : b));
      } else if (!Arrays.equals(Files.readAllBytes(fa), Files.readAllBytes(fb))) {
        diffs.add(rel + " differs");
      }
    }
    ObjectMapper json = new ObjectMapper();
    Path ra = a.resolve(QuantizePipeline.REPORT_FILE);
    Path rb = b.resolve(QuantizePipeline.REPORT_FILE);
    if (!Files.isRegularFile(ra) || !Files.isRegularFile(rb)) {
      diffs.add("report.json missing in " + (Files.isRegularFile(ra) ? b : a));
      return diffs;
    }
    JsonNode ja = withoutTiming(json.readTree(ra.toFile()), a.toAbsolutePath().normalize());
    JsonNode jb = withoutTiming(json.readTree(rb.toFile()), b.toAbsolutePath().normalize());
    difference("report.json", ja, jb, diffs);
    return diffs;
  }

  /** A copy without the timing fields, with {@code folder} in strings replaced by a marker. */
  public static JsonNode withoutTiming(JsonNode n, Path folder) {
    if (n.isObject()) {
      ObjectNode out = ((ObjectNode) n).objectNode();
      for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!TIMING_FIELDS.contains(e.getKey())) {
          out.set(e.getKey(), withoutTiming(e.getValue(), folder));
        }
      }
      return out;
    }
    if (n.isArray()) {
      ArrayNode out = ((ArrayNode) n).arrayNode();
      n.forEach(x -> out.add(withoutTiming(x, folder)));
      return out;
    }
    if (n.isTextual()) {
      return TextNode.valueOf(n.asText().replace(folder.toString(), "<output>"));
    }
    return n;
  }

  private static void difference(String where, JsonNode a, JsonNode b, List<String> diffs) {
    if (a.equals(b)) {
      return;
    }
    if (a.isObject() && b.isObject()) {
      Set<String> keys = new TreeSet<>();
      a.fieldNames().forEachRemaining(keys::add);
      b.fieldNames().forEachRemaining(keys::add);
      for (String k : keys) {
        JsonNode x = a.get(k);
        JsonNode y = b.get(k);
        if (x == null || y == null) {
          diffs.add(where + "." + k + " only in one run");
        } else {
          difference(where + "." + k, x, y, diffs);
        }
      }
    } else if (a.isArray() && b.isArray() && a.size() == b.size()) {
      for (int i = 0; i < a.size(); i++) {
        difference(where + "[" + i + "]", a.get(i), b.get(i), diffs);
      }
    } else {
      String sa = a.toString();
      String sb = b.toString();
      diffs.add(where + ": " + (sa.length() > 120 ? sa.substring(0, 120) + "..." : sa) + " vs "
          + (sb.length() > 120 ? sb.substring(0, 120) + "..." : sb));
    }
  }

  private static List<Path> files(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).sorted().toList();
    }
  }
}
