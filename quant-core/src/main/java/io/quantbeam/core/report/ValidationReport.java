package io.quantbeam.core.report;

import io.quantbeam.core.validate.EvalAccumulator;
import io.quantbeam.core.validate.Selection;
import java.util.List;

/**
 * What validation, the sweep and the selection found: plain data, written to report.json with
 * Jackson and rendered to report.html by {@link HtmlReport}. Accuracies are fractions in [0, 1]
 * (null without labels), latencies milliseconds per call (p50; p95 alongside), sizes bytes.
 */
public record ValidationReport(
    String modelName,
    String data,
    String criterion,
    Fp32 fp32,
    List<CandidateRow> candidates,
    Selected selected,
    List<SensitivityRow> sensitivity,
    List<TensorRow> tensors,
    Latency latencySetup) {

  /** How latency was measured. */
  public record Latency(int intraOpThreads, int rounds, int batch1Calls, int batch32Calls,
      String note) {}

  public record LatencyMs(double batch1, double batch32, double batch1P95, double batch32P95) {}

  public record Fp32(String path, String sha256, Double accuracy, LatencyMs latencyMs,
      long sizeBytes, EvalAccumulator.Summary metrics) {}

  public record CandidateRow(String name, String kind, List<String> excludedNodes,
      Double accuracy, Double agreement, Double accuracyDropPoints, long sizeBytes,
      LatencyMs latencyMs, Double speedupBatch1, Double speedupBatch32, boolean passed,
      boolean selected, String path, String sha256, long quantizedNodes, String config,
      EvalAccumulator.Summary metrics, String error) {}

  /**
   * The selected model, why (words that depend only on the outcome), the selection rule in plain
   * words, and the call-by-call comparisons the rule made (timings: they change from run to run).
   */
  public record Selected(String name, String path, String sha256, boolean passed,
      String reason, String rule, List<Selection.Comparison> speedComparisons) {}

  /**
   * One quantized node: the output error when only it is quantized (everything else float), on a
   * sample; rank 1 is the most sensitive.
   */
  public record SensitivityRow(int rank, String node, String opType, String block,
      Double outputSqnrDb, double outputMeanCosine, Double agreement, long examples) {}

  /**
   * One calibrated activation: its calibration range, the range the baseline's method chose, the
   * predicted SQNR of 8-bit Q/DQ with that range (from the histogram: before vs after Q/DQ),
   * whether the table lets it be quantized (no NaN/Inf/sentinels, SQNR above the floor), and
   * its |x| histogram folded to a few bins (negative and positive sides).
   */
  public record TensorRow(String tensor, double min, double max, double rangeMin,
      double rangeMax, Double predictedSqnrDb, boolean rangeUsable, double binWidth,
      long[] negative, long[] positive) {}
}
