package io.quantbeam.core.bench;

import io.quantbeam.core.runtime.EmbeddingAgreement;
import io.quantbeam.core.runtime.OrtSessions;
import io.quantbeam.core.runtime.SentenceEmbedder;
import io.quantbeam.core.text.TextTokenizer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Embeds the same sentences with several models side by side in one process, with the same
 * threads and batches, interleaving the models round by round so that a noisy machine slows them
 * alike; prints times, ratios to the first model and agreement with it.
 */
public final class EmbeddingBenchmark {
  /** One model's figures: median seconds for all texts at the big batch, and at batch 1. */
  public record Row(String name, long sizeBytes, double secondsBatched, double secondsSingle,
      EmbeddingAgreement agreement) {}

  private EmbeddingBenchmark() {}

  /**
   * @param models name -> model file; the first is the baseline (FP32)
   * @param singleTexts how many of the texts to time one at a time (batch 1)
   */
  public static List<Row> run(Map<String, Path> models, Path tokenizer, List<String> texts,
      int threads, int batchSize, int rounds, int singleTexts, PrintStream log) throws Exception {
    Map<String, SentenceEmbedder> embedders = new LinkedHashMap<>();
    Map<String, float[][]> embeddings = new LinkedHashMap<>();
    Map<String, List<Double>> batched = new LinkedHashMap<>();
    Map<String, List<Double>> single = new LinkedHashMap<>();
    List<String> singles = texts.subList(0, Math.min(singleTexts, texts.size()));
    try {
      for (Map.Entry<String, Path> m : models.entrySet()) {
        embedders.put(m.getKey(), new SentenceEmbedder(OrtSessions.open(m.getValue(), threads),
            TextTokenizer.fromFile(tokenizer, TextTokenizer.DEFAULT_MAX_LENGTH)));
        batched.put(m.getKey(), new ArrayList<>());
        single.put(m.getKey(), new ArrayList<>());
      }
      for (Map.Entry<String, SentenceEmbedder> e : embedders.entrySet()) { // warm-up
        embeddings.put(e.getKey(), e.getValue().embed(texts, batchSize));
        for (String s : singles) {
          e.getValue().embed(List.of(s), 1);
        }
      }
      for (int r = 0; r < rounds; r++) {
        for (Map.Entry<String, SentenceEmbedder> e : embedders.entrySet()) {
          long t0 = System.nanoTime();
          e.getValue().embed(texts, batchSize);
          long t1 = System.nanoTime();
          for (String s : singles) {
            e.getValue().embed(List.of(s), 1);
          }
          long t2 = System.nanoTime();
          batched.get(e.getKey()).add((t1 - t0) / 1e9);
          single.get(e.getKey()).add((t2 - t1) / 1e9);
        }
        log.printf(Locale.ROOT, "round %d/%d done%n", r + 1, rounds);
      }
    } finally {
      for (SentenceEmbedder e : embedders.values()) {
        e.close();
      }
    }
    float[][] reference = embeddings.values().iterator().next();
    List<Row> rows = new ArrayList<>();
    for (Map.Entry<String, Path> m : models.entrySet()) {
      rows.add(new Row(m.getKey(), Files.size(m.getValue()), median(batched.get(m.getKey())),
          median(single.get(m.getKey())),
          EmbeddingAgreement.compute(reference, embeddings.get(m.getKey()), 10)));
    }
    return rows;
  }

  public static void print(List<Row> rows, int texts, int batchSize, int singles, int threads,
      int rounds, PrintStream out) {
    Row base = rows.get(0);
    out.printf(Locale.ROOT, "%d texts at batch %d and %d texts at batch 1; %d intra-op threads;"
        + " median of %d interleaved rounds after one warm-up%n", texts, batchSize, singles,
        threads, rounds);
    out.printf(Locale.ROOT, "%-22s %9s %11s %8s %11s %8s %9s %9s %9s%n", "model", "size MB",
        "batch" + batchSize + " s", "speedup", "batch1 ms", "speedup", "meanCos", "minCos",
        "top10");
    for (Row r : rows) {
      out.printf(Locale.ROOT, "%-22s %9.1f %11.3f %7.2fx %11.2f %7.2fx %9.4f %9.4f %9.4f%n",
          r.name(), r.sizeBytes() / 1e6, r.secondsBatched(),
          base.secondsBatched() / r.secondsBatched(), r.secondsSingle() * 1000 / singles,
          base.secondsSingle() / r.secondsSingle(), r.agreement().meanCosine(),
          r.agreement().minCosine(), r.agreement().meanTopKOverlap());
    }
  }

  static double median(List<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }
}
