package io.quantbeam.core.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.quantbeam.core.QuantbeamException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TensorStatsTest {

  static float[] gaussian(Random r, int n, double sigma) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextGaussian() * sigma);
    }
    return v;
  }

  static FloatBuffer direct(float[] v) {
    FloatBuffer b = ByteBuffer.allocateDirect(v.length * 4).order(ByteOrder.nativeOrder())
        .asFloatBuffer();
    b.put(v).flip();
    return b;
  }

  static byte[] bytes(TensorStats s) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    s.write(new DataOutputStream(out));
    return out.toByteArray();
  }

  @Test
  void countsMinMaxAndSignedHistograms() {
    TensorStats s = new TensorStats(8);
    s.addBatch(new float[] {9f, 1f, -0.5f, 0f, -0f, 3f, 9f}, 1, 6); // 1, -0.5, 0, -0, 3
    assertEquals(5, s.count());
    assertEquals(-0.5, s.min());
    assertEquals(3.0, s.max());
    assertEquals(1, s.batches());
    AbsHistogram pos = s.positive();
    assertEquals(2, pos.zeroCount()); // both zeros live in positive()
    assertEquals(-1, pos.exponent()); // 3 < 8 * 0.5
    assertArrayEquals(new long[] {0, 0, 1, 0, 0, 0, 1, 0}, pos.counts());
    AbsHistogram neg = s.negative();
    assertEquals(0, neg.zeroCount());
    assertEquals(-3, neg.exponent()); // 0.5 < 8 * 0.125
    assertArrayEquals(new long[] {0, 0, 0, 0, 1, 0, 0, 0}, neg.counts());
    AbsHistogram abs = s.absolute();
    assertEquals(5, abs.total());
    assertEquals(-1, abs.exponent());
  }

  @Test
  void negativeZeroIsStoredAsZero() {
    TensorStats s = new TensorStats(8);
    s.addBatch(new float[] {-0f, 0f, -0f}, 0, 3);
    TensorStats t = new TensorStats(8);
    t.addBatch(new float[] {0f, 0f, 0f}, 0, 3);
    assertEquals(t, s);
    assertEquals(0, Double.compare(0.0, s.min()));
  }

  @Test
  void nanInfinityAndMaskValuesAreCountedAndKeptOutOfHistograms() {
    float[] normal = {0.5f, -1.25f, 2f, 0f, 1e-3f};
    float[] dirty = {0.5f, Float.NaN, -3.4e38f, -1.25f, Float.POSITIVE_INFINITY, 2f,
        Float.NEGATIVE_INFINITY, 0f, 1e-3f, Float.NaN, -3.4e38f, 3.0e30f};
    TensorStats s = new TensorStats();
    s.addBatch(dirty, 0, dirty.length);
    assertEquals(2, s.nanCount());
    assertEquals(1, s.posInfCount());
    assertEquals(1, s.negInfCount());
    assertEquals(3, s.extremeCount());
    assertEquals(8, s.count());
    assertEquals(-3.4e38f, s.min());
    assertEquals(3.0e30f, s.max());
    TensorStats clean = new TensorStats();
    clean.addBatch(normal, 0, normal.length);
    // histogram resolution is set by the normal values only
    assertEquals(clean.positive(), s.positive());
    assertEquals(clean.negative(), s.negative());
    assertEquals(Math.getExponent(2.0) + 1 - 11, s.positive().exponent());
    // a batch of nothing finite changes only the counters
    TensorStats before = s.copy();
    s.addBatch(new float[] {Float.NaN, Float.NaN}, 0, 2);
    assertEquals(before.batches(), s.batches());
    assertEquals(before.nanCount() + 2, s.nanCount());
    assertEquals(before.positive(), s.positive());
  }

  @Test
  void slowAndFastPathsGiveTheSameStatistics() {
    Random r = new Random(21);
    float[] clean = gaussian(r, 10_000, 3);
    clean[0] = -0f;
    clean[1] = 0f;
    clean[2] = Float.MIN_VALUE;
    clean[3] = -Float.MIN_NORMAL;
    float[] dirty = {1f, Float.NaN, -3.4e38f, Float.NEGATIVE_INFINITY, -2f};
    TensorStats cleanFirst = new TensorStats(); // clean batch through the fast path
    cleanFirst.addBatch(clean, 0, clean.length);
    cleanFirst.addBatch(dirty, 0, dirty.length);
    TensorStats dirtyFirst = new TensorStats(); // the clean batch then takes the slow path
    dirtyFirst.addBatch(dirty, 0, dirty.length);
    dirtyFirst.addBatch(clean, 0, clean.length);
    assertEquals(cleanFirst, dirtyFirst);
    assertEquals(1, dirtyFirst.nanCount());
    assertEquals(1, dirtyFirst.negInfCount());
    assertEquals(0, dirtyFirst.posInfCount());
    assertEquals(1, dirtyFirst.extremeCount());
    assertEquals(10_003, dirtyFirst.count()); // 1, -3.4e38, -2 and the clean batch
  }

  @Test
  void batchesMatchValueByValueHistogramsWhateverTheGridHistory() {
    // Scales that grow, shrink and jump (so grids fit, need coarsening, or are missing on one
    // side), all-positive, all-negative and all-zero batches, values on bin edges.
    Random r = new Random(5);
    TensorStats s = new TensorStats(64);
    AbsHistogram pos = new AbsHistogram(64);
    AbsHistogram neg = new AbsHistogram(64);
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    BigDecimal sumMin = BigDecimal.ZERO;
    long count = 0;
    for (int batch = 0; batch < 60; batch++) {
      int n = 1 + r.nextInt(3000);
      float[] v = gaussian(r, n, Math.scalb(1.0, r.nextInt(20) - 10));
      int kind = r.nextInt(5);
      for (int i = 0; i < n; i++) {
        if (kind == 1) {
          v[i] = Math.abs(v[i]);
        } else if (kind == 2) {
          v[i] = -Math.abs(v[i]);
        } else if (kind == 3) {
          v[i] = 0f;
        } else if (i % 97 == 0 && pos.exponent() != AbsHistogram.NO_EXPONENT) {
          v[i] = (float) (pos.binWidth() * r.nextInt(64)); // a bin edge of the current grid
        }
      }
      float bmin = Float.POSITIVE_INFINITY;
      float bmax = Float.NEGATIVE_INFINITY;
      for (float x : v) {
        (x < 0 ? neg : pos).add(Math.abs((double) x));
        bmin = Math.min(bmin, x);
        bmax = Math.max(bmax, x);
      }
      min = Math.min(min, bmin + 0.0);
      max = Math.max(max, bmax + 0.0);
      sumMin = sumMin.add(new BigDecimal(bmin + 0.0));
      count += n;
      if (batch % 2 == 0) {
        s.addBatch(v, 0, n);
      } else {
        s.addBatch(direct(v));
      }
      assertEquals(count, s.count());
      assertEquals(min, s.min());
      assertEquals(max, s.max());
      assertEquals(0, sumMin.compareTo(s.sumBatchMin()));
      assertEquals(pos.exponent(), s.positive().exponent(), "batch " + batch);
      assertArrayEquals(pos.counts(), s.positive().counts(), "batch " + batch);
      assertEquals(pos.zeroCount() + neg.zeroCount(),
          s.positive().zeroCount() + s.negative().zeroCount());
      assertEquals(neg.exponent(), s.negative().exponent(), "batch " + batch);
      assertArrayEquals(neg.counts(), s.negative().counts(), "batch " + batch);
    }
  }

  @Test
  void directBufferHeapBufferAndArrayAgree() {
    Random r = new Random(3);
    TensorStats a = new TensorStats();
    TensorStats b = new TensorStats();
    TensorStats c = new TensorStats();
    for (int batch = 0; batch < 5; batch++) {
      float[] v = gaussian(r, 20_000 + batch * 1_111, Math.scalb(1.0, batch * 3 - 6));
      if (batch == 2) {
        v[17] = Float.NaN;
        v[18_000] = -3.4e38f;
      }
      a.addBatch(v, 0, v.length);
      FloatBuffer d = direct(v);
      d.position(0);
      b.addBatch(d);
      assertEquals(0, d.position());
      FloatBuffer heap = FloatBuffer.allocate(v.length + 10);
      heap.position(10);
      heap.slice().put(v);
      heap.position(10);
      c.addBatch(heap.slice());
    }
    assertEquals(a, b);
    assertEquals(a, c);
  }

  @Test
  void bufferPositionAndLimitDelimitTheBatch() {
    FloatBuffer d = direct(new float[] {100f, 1f, 2f, -100f});
    d.position(1).limit(3);
    TensorStats s = new TensorStats();
    s.addBatch(d);
    assertEquals(2, s.count());
    assertEquals(1.0, s.min());
    assertEquals(2.0, s.max());
  }

  @Test
  void movingAverageIsTheMeanOfPerBatchExtremes() {
    Random r = new Random(11);
    TensorStats s = new TensorStats();
    BigDecimal sumMin = BigDecimal.ZERO;
    BigDecimal sumMax = BigDecimal.ZERO;
    double naiveMin = 0;
    double naiveMax = 0;
    int batches = 37;
    for (int b = 0; b < batches; b++) {
      float[] v = gaussian(r, 1000, 1 + b);
      float mn = Float.POSITIVE_INFINITY;
      float mx = Float.NEGATIVE_INFINITY;
      for (float x : v) {
        mn = Math.min(mn, x);
        mx = Math.max(mx, x);
      }
      sumMin = sumMin.add(new BigDecimal(mn));
      sumMax = sumMax.add(new BigDecimal(mx));
      naiveMin += mn;
      naiveMax += mx;
      s.addBatch(v, 0, v.length);
    }
    assertEquals(batches, s.batches());
    assertEquals(0, sumMin.compareTo(s.sumBatchMin()));
    assertEquals(0, sumMax.compareTo(s.sumBatchMax()));
    assertEquals(sumMin.divide(BigDecimal.valueOf(batches), MathContext.DECIMAL128).doubleValue(),
        s.meanBatchMin());
    assertEquals(naiveMin / batches, s.meanBatchMin(), 1e-9);
    assertEquals(naiveMax / batches, s.meanBatchMax(), 1e-9);
  }

  @Test
  void mergeIsExactAndLeavesInputsAlone() {
    Random r = new Random(5);
    float[] x = gaussian(r, 5000, 0.01);
    float[] y = gaussian(r, 5000, 100);
    TensorStats one = new TensorStats();
    one.addBatch(x, 0, x.length);
    one.addBatch(y, 0, y.length);
    TensorStats a = new TensorStats();
    a.addBatch(x, 0, x.length);
    TensorStats b = new TensorStats();
    b.addBatch(y, 0, y.length);
    TensorStats aCopy = a.copy();
    assertEquals(one, a.merge(b));
    assertEquals(one, b.merge(a));
    assertEquals(aCopy, a);
    TensorStats inPlace = b.copy();
    inPlace.mergeFrom(a);
    assertEquals(one, inPlace);
    assertEquals(one.hashCode(), inPlace.hashCode());
    assertNotEquals(one, a);
    assertThrows(QuantbeamException.class, () -> a.merge(new TensorStats(1024)));
  }

  @Test
  void serialisationRoundTrip() throws IOException {
    Random r = new Random(9);
    TensorStats s = new TensorStats();
    for (int b = 0; b < 4; b++) {
      float[] v = gaussian(r, 3000, 2);
      v[b] = b % 2 == 0 ? Float.NaN : -3.4e38f;
      s.addBatch(v, 0, v.length);
    }
    byte[] bytes = bytes(s);
    TensorStats back = TensorStats.read(new DataInputStream(new ByteArrayInputStream(bytes)));
    assertEquals(s, back);
    assertArrayEquals(bytes, bytes(back));
    TensorStats empty = new TensorStats();
    assertEquals(empty,
        TensorStats.read(new DataInputStream(new ByteArrayInputStream(bytes(empty)))));
  }

  @Test
  void corruptEncodingIsRefused() throws IOException {
    TensorStats s = new TensorStats();
    s.addBatch(new float[] {1f, 2f, 3f}, 0, 3);
    byte[] bytes = bytes(s);
    byte[] badVersion = bytes.clone();
    badVersion[0] = 9;
    assertThrows(QuantbeamException.class,
        () -> TensorStats.read(new DataInputStream(new ByteArrayInputStream(badVersion))));
    byte[] badCount = bytes.clone();
    badCount[5] = 7; // count 3 -> 7: histogram totals no longer match
    assertThrows(QuantbeamException.class,
        () -> TensorStats.read(new DataInputStream(new ByteArrayInputStream(badCount))));
  }
}
