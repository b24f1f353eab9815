package io.quantbeam.core.runtime;

import io.quantbeam.core.QuantbeamException;
import java.util.Arrays;
import java.util.Locale;

/**
 * How closely a candidate model's sentence embeddings agree with a reference model's on the same sentences.
 *
 * <ul>
 *   <li>{@code meanCosine}, {@code minCosine}: cosine similarity between the reference and candidate vector of
 *       each sentence, averaged and at its worst.</li>
 *   <li>{@code meanTopKOverlap}: for each sentence, its {@code k} most cosine-similar <em>other</em> sentences
 *       under the reference embeddings and under the candidate embeddings; overlap = |intersection| / k,
 *       averaged over sentences. Ties in similarity go to the lower index, so the figure is deterministic.</li>
 * </ul>
 *
 * <p>Cosines are computed in double precision and do not assume unit-length input. A zero vector has cosine 0
 * with everything. Cost: O(n&sup2; d) time for the neighbour lists, O(n d) memory.
 *
 * @param meanCosine      mean per-sentence cosine(reference, candidate)
 * @param minCosine       smallest per-sentence cosine
 * @param meanTopKOverlap mean top-k neighbour overlap in [0, 1]
 * @param k               neighbours per sentence
 * @param count           number of sentences compared
 */
public record EmbeddingAgreement(double meanCosine, double minCosine, double meanTopKOverlap, int k, int count) {

  /**
   * Compares two embedding sets row by row.
   *
   * @param reference rows of the reference model (e.g. FP32)
   * @param candidate rows of the candidate model (e.g. INT8), same sentences in the same order
   * @param k         neighbours per sentence, 1 &le; k &le; n-1
   */
  public static EmbeddingAgreement compute(float[][] reference, float[][] candidate, int k) {
    if (reference == null || candidate == null || reference.length != candidate.length) {
      throw new QuantbeamException("Reference and candidate must embed the same sentences: got "
          + (reference == null ? "null" : reference.length) + " and "
          + (candidate == null ? "null" : candidate.length) + " rows.");
    }
    int n = reference.length;
    if (n < 2) {
      throw new QuantbeamException("Embedding agreement needs at least 2 sentences, got " + n + ".");
    }
    if (k < 1 || k > n - 1) {
      throw new QuantbeamException("k must be between 1 and n-1 = " + (n - 1) + " (neighbours exclude the sentence "
          + "itself), got " + k + ".");
    }
    double[][] ref = unitRows(reference, "reference");
    double[][] cand = unitRows(candidate, "candidate");
    for (int i = 0; i < n; i++) {
      if (ref[i].length != cand[i].length) {
        throw new QuantbeamException("Row " + i + ": reference has dimension " + ref[i].length
            + ", candidate " + cand[i].length + ". Compare embeddings of the same model family.");
      }
    }

    double sumCos = 0;
    double minCos = Double.POSITIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      double c = dot(ref[i], cand[i]);
      sumCos += c;
      minCos = Double.isNaN(c) || Double.isNaN(minCos) ? Double.NaN : Math.min(minCos, c);
    }

    int[] refTop = new int[k];
    int[] candTop = new int[k];
    double[] scratch = new double[k];
    boolean[] mark = new boolean[n];
    double sumOverlap = 0;
    for (int i = 0; i < n; i++) {
      topK(ref, i, refTop, scratch);
      topK(cand, i, candTop, scratch);
      for (int j : refTop) {
        mark[j] = true;
      }
      int common = 0;
      for (int j : candTop) {
        if (mark[j]) {
          common++;
        }
      }
      for (int j : refTop) {
        mark[j] = false;
      }
      sumOverlap += (double) common / k;
    }
    return new EmbeddingAgreement(sumCos / n, minCos, sumOverlap / n, k, n);
  }

  /** Indices of the k rows most similar to row i (excluding i), best first; ties go to the lower index. */
  static void topK(double[][] rows, int i, int[] idx, double[] sim) {
    int k = idx.length;
    int filled = 0;
    for (int j = 0; j < rows.length; j++) {
      if (j == i) {
        continue;
      }
      double s = dot(rows[i], rows[j]);
      if (Double.isNaN(s)) {
        s = Double.NEGATIVE_INFINITY; // a broken vector is nobody's neighbour
      }
      // j grows, so an equal similarity never displaces an earlier (lower) index: strict '>' below
      if (filled == k && !(s > sim[k - 1])) {
        continue;
      }
      int pos = filled == k ? k - 1 : filled++;
      while (pos > 0 && s > sim[pos - 1]) {
        sim[pos] = sim[pos - 1];
        idx[pos] = idx[pos - 1];
        pos--;
      }
      sim[pos] = s;
      idx[pos] = j;
    }
  }

  private static double[][] unitRows(float[][] rows, String what) {
    double[][] out = new double[rows.length][];
    int dim = -1;
    for (int i = 0; i < rows.length; i++) {
      float[] r = rows[i];
      if (r == null || r.length == 0) {
        throw new QuantbeamException(what + " row " + i + " is empty.");
      }
      if (dim < 0) {
        dim = r.length;
      } else if (r.length != dim) {
        throw new QuantbeamException(what + " rows differ in dimension: row 0 has " + dim + ", row " + i + " has "
            + r.length + ".");
      }
      double norm = 0;
      for (float v : r) {
        norm += (double) v * v;
      }
      norm = Math.sqrt(norm);
      double[] u = new double[r.length];
      if (norm > 0) {
        for (int h = 0; h < r.length; h++) {
          u[h] = r[h] / norm;
        }
      } else if (Double.isNaN(norm)) {
        Arrays.fill(u, Double.NaN);
      }
      out[i] = u;
    }
    return out;
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int h = 0; h < a.length; h++) {
      s += a[h] * b[h];
    }
    return s;
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "EmbeddingAgreement[n=%d, meanCosine=%.5f, minCosine=%.5f, top%dOverlap=%.4f]",
        count, meanCosine, minCosine, k, meanTopKOverlap);
  }
}
