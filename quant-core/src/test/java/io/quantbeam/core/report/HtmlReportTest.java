package io.quantbeam.core.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quantbeam.core.report.ValidationReport.CandidateRow;
import io.quantbeam.core.report.ValidationReport.LatencyMs;
import io.quantbeam.core.validate.EvalAccumulator;
import io.quantbeam.core.validate.LatencyBench;
import io.quantbeam.core.validate.Selection;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HtmlReportTest {
  static ValidationReport sample(boolean passed) {
    EvalAccumulator a = new EvalAccumulator(2);
    a.add(new float[] {0, 1}, new float[] {0.1f, 0.9f}, 1);
    EvalAccumulator.Summary s = a.summary();
    LatencyMs l = new LatencyMs(2, 40, 3, 45);
    return new ValidationReport("model.onnx", "dev.parquet", "drop <= 0.5 points",
        new ValidationReport.Fp32("model.onnx", "abc", 0.81, new LatencyMs(5, 100, 6, 110), 90_000_000,
            s),
        List.of(new CandidateRow("baseline", "BASELINE", List.of(), 0.80, 0.97, 1.0, 23_000_000, l,
            2.5, 2.5, false, false, "c/baseline.onnx", "s1", 37, "minmax", s, null),
            new CandidateRow("top-1 <x>", "TOPK", List.of("/a/MatMul"), 0.81, 0.98, 0.0, 24_000_000,
                l, 2.4, 2.4, true, passed, "c/top-1.onnx", "s2", 36, "minmax", s, null),
            new CandidateRow("broken", "USER", List.of("z"), null, null, null, 0, null, null, null,
                false, false, null, null, 0, "minmax", null, "nothing to quantize")),
        new ValidationReport.Selected("top-1 <x>", "model.int8.onnx", "s2", passed, "reason",
            Selection.rule(0.03), List.of(new Selection.Comparison("top-1 <x>", "baseline",
                new LatencyBench.Ratio(0.9, 0.88, 0.92, 0.957, 30), true))),
        List.of(new ValidationReport.SensitivityRow(1, "/a/MatMul", "MatMul", "layer.0", 12.5, 0.99,
            0.97, 64)),
        List.of(new ValidationReport.TensorRow("t", -2, 3, -2, 3, 30.0, true, 3.0 / 64,
            new long[64], new long[64])),
        new ValidationReport.Latency(2, 5, 32, 4, "note"));
  }

  @Test
  void oneSelfContainedFileWithChartsTablesAndEscapedNames() {
    String html = HtmlReport.render(sample(true));
    assertTrue(html.startsWith("<!DOCTYPE html>"));
    assertTrue(html.contains("<svg") && html.contains("accuracy vs latency")
        && html.contains("accuracy vs model size"));
    assertTrue(html.contains("top-1 &lt;x&gt;") && !html.contains("top-1 <x>"));
    assertTrue(html.contains("Sensitivity ranking") && html.contains("/a/MatMul"));
    assertTrue(html.contains("nothing to quantize"));
    assertTrue(html.contains("<b>Rule.</b> The smallest candidate that passes"), "the rule");
    assertTrue(html.contains("<td>30</td><td>0.900</td><td>0.880 to 0.920</td><td>95.7%</td>"),
        "the call-by-call ratio and its interval");
    assertTrue(HtmlReport.render(sample(false)).contains("No candidate passes"));
  }

  /**
   * Everything in the page that a browser could fetch: URL-valued attributes, CSS {@code url()}
   * and {@code @import}, and the elements that load or run something (script, iframe, object,
   * embed, link, a refresh). Returns what points outside the page: neither a fragment nor data.
   */
  static List<String> externalReferences(String html) {
    List<String> found = new ArrayList<>();
    java.util.regex.Matcher a = java.util.regex.Pattern.compile(
        "(?i)\\b(src|href|xlink:href|action|formaction|poster|data|background|srcset|manifest"
            + "|ping|codebase|cite|longdesc)\\s*=\\s*(\"[^\"]*\"|'[^']*'|[^\\s>]+)").matcher(html);
    while (a.find()) {
      String v = a.group(2).replaceAll("^[\"']|[\"']$", "").trim();
      if (!v.isEmpty() && !v.startsWith("#") && !v.toLowerCase().startsWith("data:")) {
        found.add(a.group());
      }
    }
    java.util.regex.Matcher u = java.util.regex.Pattern.compile(
        "(?i)url\\(\\s*['\"]?([^'\")]*)").matcher(html);
    while (u.find()) {
      String v = u.group(1).trim();
      if (!v.startsWith("#") && !v.toLowerCase().startsWith("data:")) {
        found.add(u.group());
      }
    }
    java.util.regex.Matcher e = java.util.regex.Pattern.compile(
        "(?i)@import|<\\s*(script|iframe|frame|object|embed|link|base|meta\\s+http-equiv)\\b")
        .matcher(html);
    while (e.find()) {
      found.add(e.group());
    }
    return found;
  }

  @Test
  void theReportLoadsNothingFromTheNetwork() {
    for (boolean passed : new boolean[] {true, false}) {
      String html = HtmlReport.render(sample(passed));
      assertEquals(List.of(), externalReferences(html), "report with passed=" + passed);
    }
    // the check itself finds each way a page can reach out
    for (String bad : List.of("<img src=\"https://example.org/a.png\">",
        "<a href='http://example.org'>x</a>", "<div style=\"background:url(//cdn.example/x)\">",
        "<style>@import 'x.css';</style>", "<script>1</script>", "<image xlink:href=x.svg />",
        "<link rel=stylesheet href=\"s.css\">", "<img srcset=\"a.png 2x\">")) {
      assertFalse(externalReferences(bad).isEmpty(), bad);
    }
    assertEquals(List.of(), externalReferences(
        "<a href=\"#top\">t</a><img src=\"data:image/png;base64,AA\">"));
  }

  @Test
  void jsonHasTheContractKeys() {
    JsonNode tree = new ObjectMapper().valueToTree(sample(true));
    assertTrue(tree.path("fp32").path("latencyMs").has("batch32"));
    JsonNode c = tree.path("candidates").get(0);
    for (String k : List.of("name", "excludedNodes", "accuracy", "agreement", "sizeBytes",
        "latencyMs", "passed")) {
      assertTrue(c.has(k), k);
    }
    assertTrue(tree.path("selected").has("sha256"));
    assertTrue(tree.path("selected").path("rule").asText().startsWith("The smallest"));
    JsonNode ratio = tree.path("selected").path("speedComparisons").get(0).path("ratio");
    assertEquals(0.92, ratio.path("upper").asDouble());
    assertEquals(30, ratio.path("calls").asInt());
  }
}
