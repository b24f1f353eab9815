package io.quantbeam.core.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * {@code drift.html}: the drift report (the JSON the drift job writes) as one self-contained
 * page: the verdict and its reasons, champion vs challenger when one was built, and every
 * calibrated tensor ranked by PSI with its clip rate, calibrated range and production extremes.
 */
public final class DriftHtmlReport {
  private DriftHtmlReport() {}

  public static String render(JsonNode r) {
    StringBuilder h = new StringBuilder(16_384);
    boolean drifted = r.path("drifted").asBoolean();
    h.append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Quantbeam drift: ")
        .append(HtmlReport.esc(r.path("model").asText())).append("</title><style>")
        .append("body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;")
        .append("margin:24px;color:#222;max-width:1200px}h1{font-size:22px}h2{font-size:18px;")
        .append("margin-top:28px;border-bottom:1px solid #ddd}table{border-collapse:collapse;")
        .append("font-size:13px}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}")
        .append("th{background:#f4f4f4}td.l,th.l{text-align:left}.box{padding:10px 14px;")
        .append("border-radius:6px;margin:12px 0}.ok{background:#eef8ee;border:1px solid #9c9}")
        .append(".bad{background:#fdeeee;border:1px solid #d99}.bar{display:inline-block;")
        .append("height:10px;background:#c66;vertical-align:middle}</style></head><body>\n");
    h.append("<h1>Drift check: ").append(HtmlReport.esc(r.path("model").asText()))
        .append(" (serving ").append(HtmlReport.esc(r.path("champion").asText()))
        .append(")</h1>\n");
    h.append("<div class=\"box ").append(drifted ? "bad" : "ok").append("\"><b>")
        .append(drifted ? "Drift" : "No drift").append("</b> &mdash; status <code>")
        .append(HtmlReport.esc(r.path("status").asText())).append("</code>, serving now <code>")
        .append(HtmlReport.esc(r.path("current").asText())).append("</code>");
    for (JsonNode reason : r.path("reasons")) {
      h.append("<br>").append(HtmlReport.esc(reason.asText()));
    }
    h.append("</div>\n<table><tr><th class=\"l\">score</th><th>value</th><th>threshold</th></tr>");
    JsonNode th = r.path("thresholds");
    row(h, "mean PSI", fmt(r.path("meanPsi").asDouble(), 4), fmt(th.path("psi").asDouble(), 4));
    row(h, "mean clip rate", pct(r.path("meanClipRate").asDouble()),
        pct(th.path("clipRate").asDouble()));
    row(h, "largest clip rate (" + r.path("maxClipTensor").asText() + ")",
        pct(r.path("maxClipRate").asDouble()), "");
    row(h, "unknown tokens", pct(r.path("unknownTokenRate").asDouble()),
        pct(th.path("unknownTokenRate").asDouble()));
    h.append("</table>\n<p>Production sample: <code>")
        .append(HtmlReport.esc(r.path("productionData").asText())).append("</code> (")
        .append(HtmlReport.esc(r.path("productionFingerprint").asText())).append(")</p>\n");
    JsonNode j = r.path("judgement");
    if (j.isObject()) {
      h.append("<h2>Champion and challenger</h2><p>Judged by ")
          .append(HtmlReport.esc(j.path("metric").asText())).append(" on ")
          .append(j.path("examples").asInt()).append(" texts of <code>")
          .append(HtmlReport.esc(j.path("data").asText())).append("</code>; policy ")
          .append(HtmlReport.esc(j.path("policy").asText())).append(", margin ")
          .append(j.path("margin").asDouble()).append(".</p>\n<table><tr><th class=\"l\">model")
          .append("</th><th>score</th><th>clip rate on production</th></tr>");
      row(h, "champion " + j.path("champion").path("version").asText(),
          fmt(j.path("champion").path("score").asDouble(), 4),
          pct(j.path("champion").path("clipRateOnProduction").asDouble()));
      row(h, "challenger" + (j.has("promotedVersion") ? " (promoted as "
          + j.path("promotedVersion").asText() + ")" : " (not promoted)"),
          fmt(j.path("challenger").path("score").asDouble(), 4),
          pct(j.path("challenger").path("clipRateOnProduction").asDouble()));
      h.append("</table>\n");
    }
    List<JsonNode> tensors = new ArrayList<>();
    r.path("tensors").forEach(tensors::add);
    tensors.sort(Comparator.comparingDouble((JsonNode t) -> -t.path("psi").asDouble()));
    double maxPsi = tensors.isEmpty() ? 1 : Math.max(1e-12, tensors.get(0).path("psi").asDouble());
    h.append("<h2>Tensors by PSI</h2><table><tr><th class=\"l\">tensor</th><th>PSI</th>")
        .append("<th class=\"l\"></th><th>clip rate</th><th>calibrated range</th>")
        .append("<th>production min .. max</th></tr>\n");
    for (JsonNode t : tensors) {
      double psi = t.path("psi").asDouble();
      h.append("<tr><td class=\"l\">").append(HtmlReport.esc(t.path("tensor").asText()))
          .append("</td><td>").append(fmt(psi, 4)).append("</td><td class=\"l\">")
          .append("<span class=\"bar\" style=\"width:").append(Math.round(200 * psi / maxPsi))
          .append("px\"></span></td><td>").append(pct(t.path("clipRate").asDouble()))
          .append("</td><td>").append(fmt(t.path("low").asDouble(), 3)).append(" .. ")
          .append(fmt(t.path("high").asDouble(), 3)).append("</td><td>")
          .append(fmt(t.path("productionMin").asDouble(), 3)).append(" .. ")
          .append(fmt(t.path("productionMax").asDouble(), 3)).append("</td></tr>\n");
    }
    h.append("</table></body></html>\n");
    return h.toString();
  }

  private static void row(StringBuilder h, String name, String value, String threshold) {
    h.append("<tr><td class=\"l\">").append(HtmlReport.esc(name)).append("</td><td>")
        .append(value).append("</td><td>").append(threshold).append("</td></tr>");
  }

  private static String fmt(double v, int digits) {
    return Double.isNaN(v) ? "&ndash;" : String.format(Locale.ROOT, "%." + digits + "f", v);
  }

  private static String pct(double v) {
    return Double.isNaN(v) ? "&ndash;" : String.format(Locale.ROOT, "%.4f%%", 100 * v);
  }
}
