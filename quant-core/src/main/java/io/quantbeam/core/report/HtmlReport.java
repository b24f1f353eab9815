package io.quantbeam.core.report;

import io.quantbeam.core.report.ValidationReport.CandidateRow;
import io.quantbeam.core.report.ValidationReport.SensitivityRow;
import io.quantbeam.core.report.ValidationReport.TensorRow;
import io.quantbeam.core.validate.LatencyBench;
import io.quantbeam.core.validate.Selection;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Renders a {@link ValidationReport} as one self-contained HTML file: inline CSS and SVG, no
 * script, nothing fetched. Sections: the choice, accuracy against latency and against size for
 * every candidate, the candidate table, the sensitivity ranking, per-tensor histograms with the
 * chosen range.
 */
public final class HtmlReport {
  private static final int W = 620;
  private static final int H = 360;

  private HtmlReport() {}

  public static String render(ValidationReport r) {
    StringBuilder h = new StringBuilder(64 * 1024);
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<title>Quantbeam report: ").append(esc(r.modelName())).append("</title><style>")
        .append("body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;")
        .append("margin:24px;color:#222;max-width:1300px}h1{font-size:22px}h2{font-size:18px;")
        .append("margin-top:32px;border-bottom:1px solid #ddd}table{border-collapse:collapse;")
        .append("font-size:13px}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}")
        .append("th{background:#f4f4f4}td.l,th.l{text-align:left}tr.sel{background:#e7f6e7;")
        .append("font-weight:600}tr.fail td.p{color:#b00}.ok{color:#070}.bad{color:#b00}")
        .append(".box{padding:10px 14px;border-radius:6px;margin:12px 0}.okbox{background:#eef8ee;")
        .append("border:1px solid #9c9}.badbox{background:#fdeeee;border:1px solid #d99}")
        .append(".charts{display:flex;flex-wrap:wrap;gap:16px}.hist{display:inline-block;")
        .append("margin:4px;font-size:11px;vertical-align:top}svg text{font-size:11px}")
        .append("</style></head><body>\n");
    h.append("<h1>Quantbeam report: ").append(esc(r.modelName())).append("</h1>\n");
    h.append("<p>Validation data: ").append(esc(r.data())).append(". Criterion: ")
        .append(esc(r.criterion())).append(".</p>\n");
    var s = r.selected();
    h.append("<div class=\"box ").append(s.passed() ? "okbox" : "badbox").append("\"><b>")
        .append(s.passed() ? "Selected: " : "No candidate passes. Written anyway (best so far): ")
        .append(esc(s.name())).append("</b><br>").append(esc(s.reason()))
        .append("<p><b>Rule.</b> ").append(esc(s.rule())).append("</p>")
        .append(speedComparisons(s.speedComparisons())).append("</div>\n");

    h.append("<h2>Accuracy against latency and size</h2>\n<div class=\"charts\">")
        .append(scatter(r, true)).append(scatter(r, false)).append("</div>\n");
    h.append("<p>Latency: ").append(esc(r.latencySetup().note())).append("</p>\n");

    h.append("<h2>Candidates</h2>\n").append(table(r));
    h.append("<h2>Sensitivity ranking</h2>\n").append(sensitivity(r.sensitivity()));
    h.append(fallbacks(r));
    h.append("<h2>Activations: histograms and chosen ranges</h2>\n")
        .append("<p>|x| histograms of each calibrated activation (negative values left of 0, ")
        .append("log-scaled counts), the calibration min/max (grey) and the range the baseline's")
        .append(" method chose (red); predicted 8-bit SQNR from the histogram. Tensors left float")
        .append(" are marked.</p>\n");
    for (TensorRow t : r.tensors()) {
      h.append(histogram(t));
    }
    h.append("\n</body></html>\n");
    return h.toString();
  }

  private static String table(ValidationReport r) {
    StringBuilder t = new StringBuilder("<table><tr><th class=\"l\">model</th><th>accuracy</th>")
        .append("<th>drop (points)</th><th>agreement</th><th>out SQNR dB</th><th>batch 1 p50 ms</th>")
        .append("<th>p95</th><th>batch 32 p50 ms</th><th>p95</th><th>speed-up b1</th>")
        .append("<th>speed-up b32</th><th>size MB</th><th>quantized nodes</th><th>passes</th>")
        .append("<th class=\"l\">left float (beyond baseline scope)</th></tr>\n");
    var f = r.fp32();
    t.append("<tr><td class=\"l\">FP32</td><td>").append(pct(f.accuracy())).append("</td><td>")
        .append("</td><td></td><td></td><td>").append(num(f.latencyMs().batch1(), 2))
        .append("</td><td>").append(num(f.latencyMs().batch1P95(), 2)).append("</td><td>")
        .append(num(f.latencyMs().batch32(), 1)).append("</td><td>")
        .append(num(f.latencyMs().batch32P95(), 1)).append("</td><td>1.00x</td><td>1.00x</td><td>")
        .append(num(f.sizeBytes() / 1e6, 1)).append("</td><td></td><td></td><td></td></tr>\n");
    for (CandidateRow c : r.candidates()) {
      t.append("<tr class=\"").append(c.selected() ? "sel" : "").append(c.passed() ? "" : " fail")
          .append("\"><td class=\"l\">").append(esc(c.name())).append(c.selected() ? " &#9733;" : "")
          .append("</td>");
      if (c.error() != null) {
        t.append("<td colspan=\"14\" class=\"l bad\">").append(esc(c.error())).append("</td></tr>\n");
        continue;
      }
      t.append("<td>").append(pct(c.accuracy())).append("</td><td>")
          .append(c.accuracyDropPoints() == null ? "" : num(c.accuracyDropPoints(), 2))
          .append("</td><td>").append(pct(c.agreement())).append("</td><td>")
          .append(c.metrics() == null || c.metrics().sqnrDb() == null ? ""
              : num(c.metrics().sqnrDb(), 1)).append("</td>");
      var l = c.latencyMs();
      t.append("<td>").append(l == null ? "" : num(l.batch1(), 2)).append("</td><td>")
          .append(l == null ? "" : num(l.batch1P95(), 2)).append("</td><td>")
          .append(l == null ? "" : num(l.batch32(), 1)).append("</td><td>")
          .append(l == null ? "" : num(l.batch32P95(), 1)).append("</td><td>")
          .append(c.speedupBatch1() == null ? "" : num(c.speedupBatch1(), 2) + "x")
          .append("</td><td>")
          .append(c.speedupBatch32() == null ? "" : num(c.speedupBatch32(), 2) + "x")
          .append("</td><td>").append(num(c.sizeBytes() / 1e6, 1)).append("</td><td>")
          .append(c.quantizedNodes()).append("</td><td class=\"p\">")
          .append(c.passed() ? "<span class=\"ok\">yes</span>" : "<span class=\"bad\">no</span>")
          .append("</td><td class=\"l\">").append(esc(shortList(c.excludedNodes())))
          .append("</td></tr>\n");
    }
    return t.append("</table>\n").toString();
  }

  /** The call-by-call comparisons behind the choice (none when no challenger was timed). */
  private static String speedComparisons(List<Selection.Comparison> comparisons) {
    if (comparisons == null || comparisons.isEmpty()) {
      return "";
    }
    StringBuilder t = new StringBuilder("<table><tr><th class=\"l\">candidate</th>")
        .append("<th class=\"l\">against</th><th>calls at batch 32</th>")
        .append("<th>median time ratio</th><th>interval</th><th>coverage</th>")
        .append("<th class=\"l\">shown faster</th></tr>\n");
    for (Selection.Comparison c : comparisons) {
      LatencyBench.Ratio r = c.ratio();
      t.append("<tr><td class=\"l\">").append(esc(c.candidate())).append("</td><td class=\"l\">")
          .append(esc(c.against())).append("</td><td>").append(r.calls()).append("</td><td>")
          .append(num(r.median(), 3)).append("</td><td>").append(num(r.lower(), 3))
          .append(" to ").append(num(r.upper(), 3)).append("</td><td>")
          .append(num(100 * r.coverage(), 1)).append("%</td><td class=\"l\">")
          .append(c.faster() ? "<span class=\"ok\">yes</span>" : "no").append("</td></tr>\n");
    }
    return t.append("</table><p>Time ratio: the candidate's time over the smallest's on the same")
        .append(" batch, one intra-op thread, back to back; below 1: the candidate is faster.</p>")
        .toString();
  }

  private static String sensitivity(List<SensitivityRow> rows) {
    if (rows.isEmpty()) {
      return "<p>No sensitivity ranking (the sweep has no top-k part).</p>\n";
    }
    double worst = rows.stream().filter(x -> x.outputSqnrDb() != null)
        .mapToDouble(SensitivityRow::outputSqnrDb).max().orElse(1);
    StringBuilder t = new StringBuilder("<p>Output error of the model when only this node is ")
        .append("quantized (all others float), on a sample: lower SQNR = more sensitive.</p>")
        .append("<table><tr><th>rank</th><th class=\"l\">node</th><th class=\"l\">op</th>")
        .append("<th class=\"l\">block</th><th>output SQNR dB</th><th>mean cosine</th>")
        .append("<th>agreement</th><th class=\"l\"></th></tr>\n");
    for (SensitivityRow s : rows) {
      double db = s.outputSqnrDb() == null ? worst : s.outputSqnrDb();
      int bar = (int) Math.max(2, Math.min(300, 300 * (1 - db / Math.max(1e-9, worst * 1.05))));
      t.append("<tr><td>").append(s.rank()).append("</td><td class=\"l\">").append(esc(s.node()))
          .append("</td><td class=\"l\">").append(esc(s.opType())).append("</td><td class=\"l\">")
          .append(esc(s.block())).append("</td><td>")
          .append(s.outputSqnrDb() == null ? "exact" : num(s.outputSqnrDb(), 1)).append("</td><td>")
          .append(num(s.outputMeanCosine(), 5)).append("</td><td>").append(pct(s.agreement()))
          .append("</td><td class=\"l\"><svg width=\"300\" height=\"10\"><rect width=\"").append(bar)
          .append("\" height=\"10\" fill=\"#d9534f\"/></svg></td></tr>\n");
    }
    return t.append("</table>\n").toString();
  }

  private static String fallbacks(ValidationReport r) {
    List<CandidateRow> rows = r.candidates().stream().filter(c -> c.error() == null
        && (c.kind().equals("BLOCKS") || c.kind().equals("OPTYPES"))).toList();
    if (rows.isEmpty()) {
      return "";
    }
    StringBuilder t = new StringBuilder("<h3>Output error with one block or op type left float")
        .append(" (full validation set)</h3><table><tr><th class=\"l\">left float</th>")
        .append("<th>output SQNR dB</th><th>agreement</th><th>accuracy</th></tr>\n");
    for (CandidateRow c : rows) {
      t.append("<tr><td class=\"l\">").append(esc(c.name().replaceFirst("^float-", "")))
          .append("</td><td>").append(c.metrics().sqnrDb() == null ? "exact"
              : num(c.metrics().sqnrDb(), 1)).append("</td><td>").append(pct(c.agreement()))
          .append("</td><td>").append(pct(c.accuracy())).append("</td></tr>\n");
    }
    return t.append("</table>\n").toString();
  }

  /** Accuracy (y) against batch-32 latency or size (x); FP32 as a black square. */
  private static String scatter(ValidationReport r, boolean latency) {
    List<double[]> pts = new ArrayList<>();
    List<String> names = new ArrayList<>();
    List<Boolean> sel = new ArrayList<>();
    List<Boolean> pass = new ArrayList<>();
    Double fy = r.fp32().accuracy() != null ? r.fp32().accuracy() : Double.valueOf(1.0);
    double fx = latency ? r.fp32().latencyMs().batch32() : r.fp32().sizeBytes() / 1e6;
    pts.add(new double[] {fx, fy});
    names.add("FP32");
    sel.add(false);
    pass.add(true);
    for (CandidateRow c : r.candidates()) {
      Double y = c.accuracy() != null ? c.accuracy() : c.agreement();
      if (c.error() != null || y == null || (latency && c.latencyMs() == null)) {
        continue;
      }
      pts.add(new double[] {latency ? c.latencyMs().batch32() : c.sizeBytes() / 1e6, y});
      names.add(c.name());
      sel.add(c.selected());
      pass.add(c.passed());
    }
    double x0 = 0;
    double x1 = pts.stream().mapToDouble(p -> p[0]).max().orElse(1) * 1.1;
    double y0 = pts.stream().mapToDouble(p -> p[1]).min().orElse(0);
    double y1 = pts.stream().mapToDouble(p -> p[1]).max().orElse(1);
    double pad = Math.max(0.005, (y1 - y0) * 0.1);
    y0 -= pad;
    y1 += pad;
    int l = 60;
    int b = 40;
    int tp = 24;
    int rt = 20;
    StringBuilder s = new StringBuilder("<svg width=\"" + W + "\" height=\"" + H
        + "\" xmlns=\"http://www.w3.org/2000/svg\" style=\"border:1px solid #ddd\">");
    s.append(text(W / 2, 16, "middle", latency ? "accuracy vs latency (batch 32, p50)"
        : "accuracy vs model size", true));
    s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
        + "stroke=\"#888\"/><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>",
        l, H - b, W - rt, H - b, l, tp, l, H - b));
    for (int i = 0; i <= 5; i++) {
      double xv = x0 + (x1 - x0) * i / 5;
      double yv = y0 + (y1 - y0) * i / 5;
      double px = l + (W - l - rt) * i / 5.0;
      double py = H - b - (H - b - tp) * i / 5.0;
      s.append(text(px, H - b + 14, "middle", num(xv, latency ? 0 : 1)));
      s.append(text(l - 4, py + 4, "end", num(100 * yv, 1) + "%"));
      s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
          + "stroke=\"#eee\"/>", l + 1, py, W - rt, py));
    }
    s.append(text(W / 2, H - 6, "middle", latency ? "ms per call of 32 texts" : "MB"));
    for (int i = 0; i < pts.size(); i++) {
      double px = l + (W - l - rt) * (pts.get(i)[0] - x0) / (x1 - x0);
      double py = H - b - (H - b - tp) * (pts.get(i)[1] - y0) / (y1 - y0);
      String color = i == 0 ? "#000" : sel.get(i) ? "#1a8f1a" : pass.get(i) ? "#4a7fd4" : "#d9534f";
      if (i == 0) {
        s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"9\" height=\"9\""
            + " fill=\"#000\"/>", px - 4.5, py - 4.5));
      } else {
        s.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\" "
            + "fill-opacity=\"0.8\"/>", px, py, sel.get(i) ? 7 : 5, color));
      }
      s.append(text(px + 7, py - 5, "start", names.get(i)));
    }
    return s.append("</svg>").toString();
  }

  private static String histogram(TensorRow t) {
    int w = 300;
    int hh = 90;
    int n = t.positive().length;
    double max = 1;
    for (int i = 0; i < n; i++) {
      max = Math.max(max, Math.max(t.positive()[i], t.negative()[i]));
    }
    double lmax = Math.log1p(max);
    double extent = t.binWidth() * n;
    StringBuilder s = new StringBuilder("<div class=\"hist\"><svg width=\"" + w + "\" height=\""
        + (hh + 16) + "\" style=\"border:1px solid #eee\">");
    double bw = (w / 2.0) / n;
    for (int i = 0; i < n; i++) {
      double hp = hh * Math.log1p(t.positive()[i]) / lmax;
      double hn = hh * Math.log1p(t.negative()[i]) / lmax;
      if (hp > 0) {
        s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            + "height=\"%.1f\" fill=\"#4a7fd4\"/>", w / 2.0 + i * bw, hh - hp, bw, hp));
      }
      if (hn > 0) {
        s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            + "height=\"%.1f\" fill=\"#4a7fd4\"/>", w / 2.0 - (i + 1) * bw, hh - hn, bw, hn));
      }
    }
    for (double[] v : new double[][] {{t.min(), 0}, {t.max(), 0}, {t.rangeMin(), 1},
        {t.rangeMax(), 1}}) {
      double x = w / 2.0 + (extent == 0 ? 0 : v[0] / extent * (w / 2.0));
      s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" "
          + "stroke=\"%s\" stroke-width=\"%s\"/>", x, x, hh, v[1] == 1 ? "#d00" : "#999",
          v[1] == 1 ? "1.5" : "1"));
    }
    s.append(text(2, hh + 12, "start", num(-extent, 3)));
    s.append(text(w - 2, hh + 12, "end", num(extent, 3)));
    s.append("</svg><br><b>").append(esc(shorten(t.tensor(), 48))).append("</b><br>range [")
        .append(num(t.rangeMin(), 3)).append(", ").append(num(t.rangeMax(), 3)).append("], SQNR ")
        .append(t.predictedSqnrDb() == null ? "n/a" : num(t.predictedSqnrDb(), 1) + " dB")
        .append(t.rangeUsable() ? "" : " <span class=\"bad\">(left float)</span>").append("</div>\n");
    return s.toString();
  }

  private static String text(double x, double y, String anchor, String value) {
    return text(x, y, anchor, value, false);
  }

  private static String text(double x, double y, String anchor, String value, boolean bold) {
    return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>%s</text>",
        x, y, anchor, bold ? " font-weight=\"bold\"" : "", esc(value));
  }

  private static String shortList(List<String> nodes) {
    if (nodes == null || nodes.isEmpty()) {
      return "";
    }
    String joined = String.join(", ", nodes.subList(0, Math.min(3, nodes.size())));
    return nodes.size() > 3 ? joined + " (+" + (nodes.size() - 3) + " more)" : joined;
  }

  private static String shorten(String s, int max) {
    return s.length() <= max ? s : "..." + s.substring(s.length() - max + 3);
  }

  static String pct(Double v) {
    return v == null ? "" : String.format(Locale.ROOT, "%.2f%%", 100 * v);
  }

  static String num(double v, int digits) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return "";
    }
    return String.format(Locale.ROOT, "%." + digits + "f", v);
  }

  static String esc(String s) {
    if (s == null) {
      return "";
    }
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace("\"", "&quot;");
  }
}
