package io.quantbeam.core.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Any partition of the same batches, added in any order and merged in any tree shape, must give
 * the same calibration table bytes as one accumulator fed every batch.
 */
class MergeExactnessTest {
  private static final String[] TENSORS = {"attn_mask", "gelu_out", "logits", "relu_out"};

  private record Batch(String tensor, float[] values) {}

  private static List<Batch> batches(Random r) {
    List<Batch> out = new ArrayList<>();
    for (int b = 0; b < 30; b++) {
      for (String t : TENSORS) {
        int n = r.nextInt(8) == 0 ? 0 : 1 + r.nextInt(3000);
        float[] v = new float[n];
        // scales 2^-40..2^40: exercises coarsening, and double sums of batch extremes would round
        double scale = Math.scalb(1.0, r.nextInt(81) - 40);
        for (int i = 0; i < n; i++) {
          double g = r.nextGaussian() * scale;
          switch (t) {
            case "attn_mask":
              v[i] = r.nextInt(4) == 0 ? -3.4028235e38f : 0f;
              break;
            case "relu_out":
              v[i] = (float) Math.max(0.0, g);
              break;
            case "gelu_out":
              v[i] = (float) (g < 0 ? g * 0.05 : g);
              break;
            default:
              v[i] = (float) g;
          }
        }
        if (n > 0 && t.equals("logits") && r.nextInt(5) == 0) {
          v[r.nextInt(n)] = r.nextBoolean() ? Float.NaN : Float.POSITIVE_INFINITY;
        }
        if (n > 0 && t.equals("gelu_out") && r.nextInt(10) == 0) {
          java.util.Arrays.fill(v, Float.NaN); // a batch with nothing finite
        }
        out.add(new Batch(t, v));
      }
    }
    return out;
  }

  private static CalibrationTable accumulate(List<Batch> batches, Random r) {
    Map<String, TensorStats> stats = new HashMap<>();
    for (Batch b : batches) {
      TensorStats s = stats.computeIfAbsent(b.tensor(), k -> new TensorStats());
      if (r != null && r.nextBoolean()) {
        FloatBuffer d = ByteBuffer.allocateDirect(b.values().length * 4)
            .order(ByteOrder.nativeOrder()).asFloatBuffer();
        d.put(b.values()).flip();
        s.addBatch(d);
      } else {
        s.addBatch(b.values(), 0, b.values().length);
      }
    }
    return new CalibrationTable(stats, Map.of("model.sha256", "abc123"));
  }

  @Test
  void randomPartitionsMergeToIdenticalBytes() {
    for (int seed = 0; seed < 20; seed++) {
      Random r = new Random(seed);
      List<Batch> all = batches(r);
      byte[] expected = accumulate(all, null).toBytes();

      List<Batch> shuffled = new ArrayList<>(all);
      Collections.shuffle(shuffled, r);
      int parts = 1 + r.nextInt(8);
      List<Integer> cuts = new ArrayList<>();
      for (int i = 0; i < parts - 1; i++) {
        cuts.add(r.nextInt(shuffled.size() + 1));
      }
      cuts.add(0);
      cuts.add(shuffled.size());
      Collections.sort(cuts);
      List<CalibrationTable> tables = new ArrayList<>();
      for (int i = 0; i + 1 < cuts.size(); i++) {
        tables.add(accumulate(shuffled.subList(cuts.get(i), cuts.get(i + 1)), r));
      }
      // random tree: repeatedly merge two random tables, in a random operand order
      while (tables.size() > 1) {
        CalibrationTable a = tables.remove(r.nextInt(tables.size()));
        CalibrationTable b = tables.remove(r.nextInt(tables.size()));
        tables.add(r.nextInt(tables.size() + 1), a.merge(b));
      }
      CalibrationTable merged = tables.get(0);
      assertArrayEquals(expected, merged.toBytes(), "seed " + seed + ", parts " + parts);
      assertEquals(CalibrationTable.fromBytes(expected), merged, "seed " + seed);
    }
  }
}
