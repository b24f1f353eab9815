package io.quantbeam.core.validate;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import io.quantbeam.core.text.EncodedBatch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Latency of several models side by side in one process: same intra-op threads, same inputs,
 * models interleaved call group by call group in each round so that a noisy machine slows them
 * alike, after one warm-up pass. Every call is timed; p50 and p95 are over all calls of all rounds.
 *
 * <p>Up to {@link #MAX_OPEN_SESSIONS} models keep their sessions open for the whole measurement.
 * A longer sweep would hold one session per candidate at once (memory growing with the sweep), so
 * then each round opens a model's session, warms it with one call of each size, times it and
 * closes it before the next model: one session open at a time.
 *
 * <p>Rounds show each model's speed; they cannot show a difference of a few percent between two
 * models on a shared machine, where the load moves more than that between rounds. For that,
 * {@link #paired} times two models call by call: every input on both, back to back, and the
 * median of the per-call time ratios with a distribution-free interval ({@link #ratio}).
 */
public final class LatencyBench {
  /** Milliseconds per call at batch 1 and at the big batch. */
  public record Latency(double batch1P50, double batch1P95, double batch32P50,
      double batch32P95) {}

  /**
   * The median of the per-call time ratios of two models on the same inputs, with its
   * distribution-free interval ({@link #medianInterval}) and the coverage the calls allow.
   */
  public record Ratio(double median, double lower, double upper, double coverage, int calls) {
    /**
     * Whether the whole interval lies below {@code bound} with at least {@code confidence}
     * coverage: too few calls for that coverage show nothing.
     */
    public boolean wholeIntervalBelow(double bound, double confidence) {
      return coverage >= confidence && upper < bound;
    }
  }

  /** Models whose sessions stay open side by side (the demo's sweep has 12). */
  public static final int MAX_OPEN_SESSIONS = 16;

  private LatencyBench() {}

  /**
   * @param models name -> model file, measured in this order within each round
   * @param singles batch-1 inputs
   * @param batches big-batch inputs (32 texts each)
   */
  public static Map<String, Latency> measure(Map<String, Path> models, List<EncodedBatch> singles,
      List<EncodedBatch> batches, int intraOpThreads, int rounds) {
    Map<String, ModelRunner> runners = new LinkedHashMap<>();
    Map<String, List<Double>> one = new LinkedHashMap<>();
    Map<String, List<Double>> big = new LinkedHashMap<>();
    if (models.size() > MAX_OPEN_SESSIONS) {
      for (String name : models.keySet()) {
        one.put(name, new ArrayList<>());
        big.put(name, new ArrayList<>());
      }
      for (int r = 0; r < rounds; r++) {
        for (Map.Entry<String, Path> m : models.entrySet()) {
          try (ModelRunner runner = new ModelRunner(m.getValue(), intraOpThreads)) {
            time(runner, batches.subList(0, Math.min(1, batches.size())), null);
            time(runner, singles.subList(0, Math.min(1, singles.size())), null);
            time(runner, batches, big.get(m.getKey()));
            time(runner, singles, one.get(m.getKey()));
          }
        }
      }
      return summarise(models, one, big);
    }
    try {
      for (Map.Entry<String, Path> m : models.entrySet()) {
        runners.put(m.getKey(), new ModelRunner(m.getValue(), intraOpThreads));
        one.put(m.getKey(), new ArrayList<>());
        big.put(m.getKey(), new ArrayList<>());
      }
      for (int r = -1; r < rounds; r++) { // round -1 is the warm-up
        for (Map.Entry<String, ModelRunner> e : runners.entrySet()) {
          time(e.getValue(), batches, r < 0 ? null : big.get(e.getKey()));
          time(e.getValue(), singles, r < 0 ? null : one.get(e.getKey()));
        }
      }
    } finally {
      runners.values().forEach(ModelRunner::close);
    }
    return summarise(models, one, big);
  }

  private static Map<String, Latency> summarise(Map<String, Path> models,
      Map<String, List<Double>> one, Map<String, List<Double>> big) {
    Map<String, Latency> out = new LinkedHashMap<>();
    for (String name : models.keySet()) {
      out.put(name, new Latency(percentile(one.get(name), 50), percentile(one.get(name), 95),
          percentile(big.get(name), 50), percentile(big.get(name), 95)));
    }
    return out;
  }

  private static void time(ModelRunner runner, List<EncodedBatch> inputs, List<Double> into) {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    for (EncodedBatch b : inputs) {
      Map<String, OnnxTensor> in = b.toOnnxInputs(env, runner.inputNames());
      try {
        long t0 = System.nanoTime();
        runner.runOnly(in);
        long t1 = System.nanoTime();
        if (into != null) {
          into.add((t1 - t0) / 1e6);
        }
      } finally {
        in.values().forEach(OnnxTensor::close);
      }
    }
  }

  /**
   * Model {@code a} against model {@code b}, call by call, each with one intra-op thread (no
   * thread pool, so nothing of one session runs on while the other is timed): one warm-up pass,
   * then {@code passes} passes over {@code inputs}. Returns the median of {@code a / b} per input
   * with its interval at {@code confidence}; below 1: {@code a} is faster.
   */
  public static Ratio paired(Path a, Path b, List<EncodedBatch> inputs, int passes,
      double confidence) {
    Map<String, ModelRunner> runners = new LinkedHashMap<>();
    try {
      runners.put("a", new ModelRunner(a, 1));
      runners.put("b", new ModelRunner(b, 1));
      Map<String, List<Double>> times = callByCall(runners, inputs, passes);
      return ratio(times.get("a"), times.get("b"), confidence);
    } finally {
      runners.values().forEach(ModelRunner::close);
    }
  }

  /**
   * Every input on every model back to back, the models' order rotating from call group to call
   * group (so that none is always first), after one untimed warm-up pass; then {@code passes}
   * timed passes. A load change on the machine then moves every model's time on an input alike.
   * Returns each model's call times (ms), input by input, in the same order for every model.
   */
  public static Map<String, List<Double>> callByCall(Map<String, ModelRunner> runners,
      List<EncodedBatch> inputs, int passes) {
    List<String> names = new ArrayList<>(runners.keySet());
    Map<String, List<Double>> times = new LinkedHashMap<>();
    names.forEach(n -> times.put(n, new ArrayList<>()));
    int group = 0; // counts call groups across passes: an odd number of inputs still rotates
    for (int pass = -1; pass < passes; pass++) {
      for (EncodedBatch input : inputs) {
        for (int j = 0; j < names.size(); j++) {
          String n = names.get((group + j) % names.size());
          time(runners.get(n), List.of(input), pass < 0 ? null : times.get(n));
        }
        group++;
      }
    }
    return times;
  }

  /** The median of {@code num[i] / den[i]} with its interval at {@code confidence}. */
  public static Ratio ratio(List<Double> num, List<Double> den, double confidence) {
    if (num.size() != den.size()) {
      throw new IllegalArgumentException("unpaired times: " + num.size() + " vs " + den.size());
    }
    List<Double> ratios = new ArrayList<>();
    for (int i = 0; i < num.size(); i++) {
      ratios.add(num.get(i) / den.get(i));
    }
    double[] interval = medianInterval(ratios, confidence);
    return new Ratio(percentile(ratios, 50), interval[0], interval[1], interval[2],
        ratios.size());
  }

  /** Nearest-rank percentile (NaN for no values). */
  public static double percentile(List<Double> values, double p) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(v);
    int rank = (int) Math.ceil(p / 100.0 * v.length);
    return v[Math.max(0, Math.min(v.length - 1, rank - 1))];
  }

  /**
   * A distribution-free confidence interval for the median: the order statistics
   * {@code [x(k), x(n+1-k)]} with the largest k whose coverage, {@code 1 - 2 P(B < k)} for
   * {@code B ~ Binomial(n, 1/2)}, is at least {@code confidence}; with too few values for that,
   * the range {@code [min, max]}. Returns {lower, upper, achieved coverage}; it assumes nothing
   * about the distribution, which suits timings on a shared machine (skewed, heavy-tailed).
   */
  public static double[] medianInterval(List<Double> values, double confidence) {
    if (values.isEmpty()) {
      return new double[] {Double.NaN, Double.NaN, 0};
    }
    double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(v);
    int n = v.length;
    int k = 1;
    // binomial terms in logs: 0.5^n underflows to 0 from n = 1075 on (thousands of timed calls)
    double logEqual = n * Math.log(0.5); // log P(B = k - 1)
    double below = Math.exp(logEqual); // P(B < k)
    while (2 * (k + 1) <= n + 1) {
      double logNext = logEqual + Math.log((double) (n - k + 1) / k); // log P(B = k)
      double next = Math.exp(logNext);
      if (1 - 2 * (below + next) < confidence) {
        break;
      }
      logEqual = logNext;
      below += next;
      k++;
    }
    double coverage = 1 - 2 * below;
    return new double[] {v[k - 1], v[n - k], coverage};
  }
}
