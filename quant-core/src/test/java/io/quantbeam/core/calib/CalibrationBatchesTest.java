package io.quantbeam.core.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CalibrationBatchesTest {
  private static List<String> corpus(int n) {
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      texts.add("text number " + i + " " + "x".repeat(i % 17));
    }
    texts.add("duplicate");
    texts.add("duplicate");
    return texts;
  }

  @Test
  void planDoesNotDependOnInputOrder() {
    List<String> texts = corpus(500);
    List<List<String>> reference = CalibrationBatches.plan(texts, 32, 16);
    for (int seed = 0; seed < 5; seed++) {
      List<String> shuffled = new ArrayList<>(texts);
      Collections.shuffle(shuffled, new Random(seed));
      assertEquals(reference, CalibrationBatches.plan(shuffled, 32, 16));
    }
    assertEquals(texts.size(), reference.stream().mapToInt(List::size).sum());
    assertTrue(reference.stream().allMatch(b -> b.size() <= 32));
  }

  @Test
  void bucketsPartitionTheCorpusAndBatchesAreSortedByLength() {
    List<String> texts = corpus(300);
    for (List<String> batch : CalibrationBatches.plan(texts, 8, 4)) {
      int bucket = CalibrationBatches.bucket(batch.get(0), 4);
      for (int i = 0; i < batch.size(); i++) {
        assertEquals(bucket, CalibrationBatches.bucket(batch.get(i), 4));
        if (i > 0) {
          assertTrue(batch.get(i - 1).length() <= batch.get(i).length());
        }
      }
    }
  }

  @Test
  void sampleIsOrderFree() {
    List<String> texts = corpus(200);
    List<String> a = new ArrayList<>(CalibrationBatches.sample(texts, 50));
    List<String> shuffled = new ArrayList<>(texts);
    Collections.shuffle(shuffled, new Random(3));
    List<String> b = new ArrayList<>(CalibrationBatches.sample(shuffled, 50));
    assertEquals(a, b);
    assertEquals(50, a.size());
  }
}
