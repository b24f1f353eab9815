package io.quantbeam.core.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.text.TextTokenizer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SentenceEmbedderTest {

  private static final int THREADS = 2;
  private static SentenceEmbedder fp32;

  @BeforeAll
  static void open() {
    fp32 = SentenceEmbedder.open(MiniLm.model(), MiniLm.tokenizer(), THREADS, TextTokenizer.DEFAULT_MAX_LENGTH);
  }

  @AfterAll
  static void close() {
    fp32.close();
  }

  @Test
  void embeddingsAreUnitLength() {
    List<String> texts = TestData.texts(TestData.sst2Dev()).subList(0, 40);
    float[][] e = fp32.embed(texts, 16);
    assertEquals(40, e.length);
    for (float[] v : e) {
      assertEquals(384, v.length);
      assertEquals(1.0, norm(v), 1e-5);
    }
    assertEquals("last_hidden_state", fp32.outputName());
  }

  @Test
  void paddingAndBatchCompanyDoNotChangeAnEmbedding() {
    String probe = "a gorgeous , witty , seductive movie .";
    String longer = "if you 've ever entertained the notion of doing what the title of this film implies , "
        + "what sex with strangers actually shows may put you off the idea forever .";
    float[] alone = fp32.embed(List.of(probe), 1)[0];
    List<String> mixed = new ArrayList<>(List.of("ok", longer, probe, "the end"));
    float[][] batched = fp32.embed(mixed, 4); // probe padded to the long sentence
    float[][] split = fp32.embed(mixed, 3); // probe in the first batch of three, other company
    float[][] pairs = fp32.embed(mixed, 2); // probe first in the second batch, short padding
    for (float[] other : new float[][] {batched[2], split[2], pairs[2]}) {
      double cos = dot(alone, other);
      assertTrue(Math.abs(cos - 1) < 1e-5, "cos = " + cos);
    }
    // order is kept across batches
    assertTrue(Math.abs(dot(fp32.embed(List.of(longer), 1)[0], pairs[1]) - 1) < 1e-5);
  }

  @Test
  void dynamicQuantReferenceAgreesWithFp32OnSst2Dev() {
    List<String> dev = TestData.texts(TestData.sst2Dev());
    assertEquals(872, dev.size());
    long t0 = System.nanoTime();
    float[][] ref = fp32.embed(dev, 32);
    long t1 = System.nanoTime();
    float[][] q;
    try (SentenceEmbedder dyn = SentenceEmbedder.open(
        MiniLm.dynamicReference(), MiniLm.tokenizer(), THREADS, TextTokenizer.DEFAULT_MAX_LENGTH)) {
      q = dyn.embed(dev, 32);
    }
    long t2 = System.nanoTime();
    EmbeddingAgreement a = EmbeddingAgreement.compute(ref, q, 10);
    System.out.printf("MiniLM -q (ORT dynamic) vs FP32 on SST-2 dev: %s  [fp32 %.1fs, -q %.1fs incl. load]%n",
        a, (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    // published figure for this model pair: mean ~0.989, min ~0.958, top-10 overlap ~0.835
    assertTrue(a.meanCosine() > 0.97 && a.meanCosine() < 0.999, a.toString());
    assertTrue(a.minCosine() > 0.90 && a.minCosine() < a.meanCosine(), a.toString());
    assertTrue(a.meanTopKOverlap() > 0.75 && a.meanTopKOverlap() < 0.95, a.toString());
  }

  private static double norm(float[] v) {
    return Math.sqrt(dot(v, v));
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }
}
